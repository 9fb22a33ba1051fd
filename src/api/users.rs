use super::extract::{AuthUser, ClientAddr};
use crate::app::AppState;
use crate::error::ApiError;
use crate::error::extract::{Form, Json};
use crate::model::{Password, User, Username};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
pub struct Registration {
    username: String,
    password: String,
    /// Needed when the server runs with `--registration invite`.
    invite: Option<String>,
}

pub async fn register(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    Json(body): Json<Registration>,
) -> Result<(StatusCode, axum::Json<User>), ApiError> {
    let username = Username::parse(&body.username)?;
    let password = Password::parse(body.password)?;
    let user = state
        .accounts
        .register(&username, password, body.invite.as_deref(), from)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(user)))
}

/// The OAuth2 password form, as the chapter's client sends it.
#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
}

#[derive(Serialize)]
pub struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    /// Seconds until the token expires (OAuth2's field; the chapter ignores it).
    expires_in: u64,
}

pub async fn token(
    State(state): State<AppState>,
    ClientAddr(from): ClientAddr,
    Form(form): Form<LoginForm>,
) -> Result<axum::Json<TokenResponse>, ApiError> {
    match state
        .accounts
        .login(&form.username, form.password, from)
        .await?
    {
        Some(login) => Ok(axum::Json(TokenResponse {
            access_token: login.access_token,
            token_type: "bearer",
            expires_in: login.expires_in.as_secs(),
        })),
        None => Err(ApiError::Unauthorized("Incorrect username or password")),
    }
}

pub async fn me(AuthUser(user): AuthUser) -> axum::Json<User> {
    axum::Json(user)
}
