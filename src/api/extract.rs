//! The authenticated caller of an HTTP route.

use crate::app::AppState;
use crate::auth::accounts::Caller;
use crate::auth::extract::bearer_token;
use crate::error::ApiError;
use crate::model::User;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// The user behind the request's `Authorization: Bearer` token; a route
/// that takes one answers 401 without it.
pub struct AuthUser(pub User);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        state
            .authenticate(bearer_token(&parts.headers))
            .await
            .map(|caller| AuthUser(caller.user))
    }
}

/// The caller with their session, for the routes that act on sessions.
pub struct AuthCaller(pub Caller);

impl FromRequestParts<AppState> for AuthCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        state
            .authenticate(bearer_token(&parts.headers))
            .await
            .map(AuthCaller)
    }
}

/// The client's address (see `client_addr`): what the per-address limits count.
pub struct ClientAddr(pub std::net::IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // Served with connect info always; a router without it (none is
        // built) would count every client as one.
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map_or(std::net::IpAddr::from([0, 0, 0, 0]), |info| info.0.ip());
        Ok(Self(state.client_addr(peer, &parts.headers)))
    }
}
