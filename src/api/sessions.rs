//! Login sessions as their user sees them: logging out (here or
//! everywhere), the list of sessions, ending one, changing the password.

use super::extract::{AuthCaller, ClientAddr};
use crate::app::AppState;
use crate::error::ApiError;
use crate::error::extract::Json;
use crate::model::{Password, Timestamp};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

pub async fn logout(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
) -> Result<StatusCode, ApiError> {
    state.accounts.logout(&caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn logout_everywhere(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
) -> Result<StatusCode, ApiError> {
    state.accounts.logout_everywhere(&caller.user).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
pub struct SessionView {
    id: i64,
    created_at: Timestamp,
    /// Moves on login and on each refresh.
    last_used_at: Timestamp,
    user_agent: Option<String>,
    address: Option<String>,
    /// The session of the token this list was asked with.
    current: bool,
}

pub async fn list(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
) -> Result<axum::Json<Vec<SessionView>>, ApiError> {
    let sessions = state.accounts.sessions(&caller.user).await?;
    Ok(axum::Json(
        sessions
            .into_iter()
            .map(|s| SessionView {
                current: s.id == caller.session,
                id: s.id,
                created_at: s.created_at,
                last_used_at: s.last_used_at,
                user_agent: s.user_agent,
                address: s.address,
            })
            .collect(),
    ))
}

pub async fn end(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    // An id that is not a number names no session, as an unknown one.
    let Ok(id) = id.parse::<i64>() else {
        return Err(ApiError::NotFound("Session not found"));
    };
    if state.accounts.end_session(&caller.user, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("Session not found"))
    }
}

#[derive(Deserialize)]
pub struct PasswordChange {
    current_password: String,
    new_password: String,
}

pub async fn change_password(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
    ClientAddr(from): ClientAddr,
    Json(body): Json<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let new = Password::parse(body.new_password)?;
    state
        .accounts
        .change_password(&caller, body.current_password, new, from)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
