//! The authenticated caller of an HTTP route.

use crate::app::AppState;
use crate::auth::accounts::Caller;
use crate::auth::extract::bearer_token;
use crate::chat::rooms::Actor;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// The caller behind the request's `Authorization: Bearer` token, with
/// their session and rights; a route that takes one answers 401 without it.
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

/// The caller behind the request's token, if it carries one; a route that
/// takes this serves callers without a token too (a token that is not
/// valid is still refused with 401, rather than quietly ignored).
pub struct MaybeCaller(pub Option<Caller>);

impl FromRequestParts<AppState> for MaybeCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match bearer_token(&parts.headers) {
            None => Ok(Self(None)),
            token => state.authenticate(token).await.map(|c| Self(Some(c))),
        }
    }
}

/// The caller as the room rules see them.
pub trait Acting {
    fn actor(&self) -> Actor<'_>;
}

impl Acting for Caller {
    fn actor(&self) -> Actor<'_> {
        Actor {
            user: &self.user,
            admin: self.admin,
        }
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
