use super::extract::{AuthCaller, ClientAddr};
use crate::app::AppState;
use crate::auth::accounts::{Login, Origin};
use crate::error::ApiError;
use crate::error::extract::{Form, Json};
use crate::model::{Password, User, Username};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
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

/// The chapter's two fields, and OAuth2's others: clients that only know
/// the chapter ignore the rest.
#[derive(Serialize)]
pub struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    /// Seconds until the access token expires.
    expires_in: u64,
    /// Opaque; spent by `POST /token/refresh` for a new pair.
    refresh_token: String,
}

impl From<Login> for TokenResponse {
    fn from(login: Login) -> Self {
        Self {
            access_token: login.access_token,
            token_type: "bearer",
            expires_in: login.expires_in.as_secs(),
            refresh_token: login.refresh_token,
        }
    }
}

pub async fn token(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<axum::Json<TokenResponse>, ApiError> {
    let origin = Origin {
        address,
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok()),
    };
    match state
        .accounts
        .login(&form.username, form.password, &origin)
        .await?
    {
        Some(login) => Ok(axum::Json(login.into())),
        None => Err(ApiError::Unauthorized("Incorrect username or password")),
    }
}

#[derive(Deserialize)]
pub struct RefreshRequest {
    refresh_token: String,
}

pub async fn refresh(
    State(state): State<AppState>,
    Json(body): Json<RefreshRequest>,
) -> Result<axum::Json<TokenResponse>, ApiError> {
    let login = state.accounts.refresh(&body.refresh_token).await?;
    Ok(axum::Json(login.into()))
}

/// The chapter's `{id, username}`, and whether the caller is a server admin.
pub async fn me(AuthCaller(caller): AuthCaller) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "id": caller.user.id,
        "username": caller.user.username,
        "admin": caller.admin,
    }))
}
