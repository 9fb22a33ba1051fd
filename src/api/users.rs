use super::extract::AuthUser;
use crate::app::AppState;
use crate::auth::password;
use crate::error::ApiError;
use crate::error::extract::{Form, Json};
use crate::model::{Password, User, Username};
use crate::store::StoreError;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
pub struct Registration {
    username: String,
    password: String,
}

pub async fn register(
    State(state): State<AppState>,
    Json(body): Json<Registration>,
) -> Result<(StatusCode, axum::Json<User>), ApiError> {
    let username = Username::parse(&body.username)?;
    let password = Password::parse(body.password)?;
    // Cheap check first, so that a taken name does not cost a hash; the
    // unique index still decides when two registrations race.
    if state.store.credentials(&username).await?.is_some() {
        return Err(taken());
    }
    let hash = password::hash(password).await?;
    match state.store.create_user(&username, &hash).await {
        Ok(user) => Ok((StatusCode::CREATED, axum::Json(user))),
        Err(StoreError::Conflict) => Err(taken()),
        Err(err) => Err(err.into()),
    }
}

fn taken() -> ApiError {
    ApiError::BadRequest("Username already registered".into())
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
    Form(form): Form<LoginForm>,
) -> Result<axum::Json<TokenResponse>, ApiError> {
    const WRONG: &str = "Incorrect username or password";
    // A name that could never be registered cannot log in either, but it
    // still costs a verification, so timing does not tell names apart.
    let credentials = match Username::parse(&form.username) {
        Ok(name) => state.store.credentials(&name).await?,
        Err(_) => None,
    };
    let (user, hash) = match credentials {
        Some(c) => (Some(c.user), Some(c.password_hash)),
        None => (None, None),
    };
    let password_ok =
        form.password.len() <= Password::MAX && password::verify(form.password, hash).await?;
    match user {
        Some(user) if password_ok => Ok(axum::Json(TokenResponse {
            access_token: state.tokens.issue(&user)?,
            token_type: "bearer",
            expires_in: state.tokens.ttl().as_secs(),
        })),
        _ => Err(ApiError::Unauthorized(WRONG)),
    }
}

pub async fn me(AuthUser(user): AuthUser) -> axum::Json<User> {
    axum::Json(user)
}
