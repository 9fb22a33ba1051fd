//! Pulling the caller's identity out of a request.
//!
//! HTTP routes take `Authorization: Bearer <jwt>`. A WebSocket upgrade also
//! accepts `?token=<jwt>` (the chapter's way) and a subprotocol entry
//! `bearer.<jwt>` (browsers cannot set headers on a WebSocket, and unlike the
//! query string a subprotocol does not end up in access logs).

use axum::http::{HeaderMap, header};

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
