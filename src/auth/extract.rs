//! Pulling the caller's identity out of a request.
//!
//! HTTP routes take `Authorization: Bearer <jwt>`. A WebSocket upgrade also
//! accepts `?token=<jwt>` (the chapter's way) and a subprotocol entry
//! `bearer.<jwt>` (browsers cannot set headers on a WebSocket, and unlike the
//! query string a subprotocol does not end up in access logs).

use super::AuthError;
use crate::app::AppState;
use crate::chat::model::User;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::{HeaderMap, header, request::Parts};

/// Prefix of the subprotocol entry that carries a token.
pub const TOKEN_SUBPROTOCOL_PREFIX: &str = "bearer.";

pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

pub fn subprotocol_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find_map(|p| p.strip_prefix(TOKEN_SUBPROTOCOL_PREFIX))
}

/// Resolves a token to a user that still exists.
pub async fn user_for_token(state: &AppState, token: Option<&str>) -> Result<User, ApiError> {
    let token = token.ok_or(AuthError::MissingToken)?;
    let id = state.tokens.verify(token)?;
    state
        .store
        .user(id)
        .await?
        .ok_or(ApiError::from(AuthError::InvalidToken))
}

/// The authenticated caller of an HTTP route.
pub struct AuthUser(pub User);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        user_for_token(state, bearer_token(&parts.headers))
            .await
            .map(AuthUser)
    }
}
