//! WebSocket connections: the upgrade (auth, room, protocol), then per
//! socket a `reader` (frames in, calls to the chat core) and a `writer`
//! (the outbox out, in the connection's format). How frames look on the wire
//! lives in `compat` (the chapter's text frames) and `v1` (palaver's JSON
//! protocol); close codes in `close`.

pub mod caps;
pub mod close;
mod compat;
pub mod rates;
mod reader;
pub mod v1;
mod writer;

use crate::app::AppState;
use crate::auth::extract::{bearer_token, subprotocol_token};
use crate::error::ApiError;
use crate::error::extract::Query;
use axum::Extension;
use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use caps::OverCap;
use futures_util::FutureExt;
use serde::Deserialize;
use std::net::SocketAddr;

/// Per-connection buffers. Tungstenite's defaults (128 KiB read buffer, an
/// unbounded write buffer, 64 MiB messages) suit one big connection, not
/// thousands of small ones. Frames are gathered up to `WRITE_BUFFER` bytes
/// and written with one syscall. Both stay small: they are per connection,
/// and connections are many.
const READ_BUFFER: usize = 512;
const WRITE_BUFFER: usize = 4 * 1024;

/// Room for a v1 envelope around the largest allowed content: the transport
/// limit is the content limit plus this.
const ENVELOPE_BYTES: usize = 4 * 1024;

/// The subprotocol a client offers to speak palaver's JSON protocol.
pub const V1_SUBPROTOCOL: &str = "palaver.v1";

/// The wire format of one connection; its value is the slot of the event's
/// encoding cache that holds this format's frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Compat = 0,
    V1 = 1,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ws", get(upgrade_lobby))
        .route("/ws/{room}", get(upgrade_room))
}

#[derive(Deserialize)]
struct UpgradeParams {
    token: Option<String>,
}

/// The peer of the connection (the server always runs with connect info;
/// without it every client would count as one address).
type Peer = Option<Extension<ConnectInfo<SocketAddr>>>;

fn peer_addr(peer: Peer) -> SocketAddr {
    peer.map_or(
        SocketAddr::from(([0, 0, 0, 0], 0)),
        |Extension(ConnectInfo(addr))| addr,
    )
}

async fn upgrade_room(
    state: State<AppState>,
    Path(room): Path<String>,
    params: Query<UpgradeParams>,
    peer: Peer,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    upgrade(state, Some(room), params, peer_addr(peer), headers, ws).await
}

async fn upgrade_lobby(
    state: State<AppState>,
    params: Query<UpgradeParams>,
    peer: Peer,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    upgrade(state, None, params, peer_addr(peer), headers, ws).await
}

/// Authenticates before upgrading: without a valid token the client gets a
/// 401 and never a single frame.
async fn upgrade(
    State(state): State<AppState>,
    room: Option<String>,
    Query(params): Query<UpgradeParams>,
    peer: SocketAddr,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => {
            return ApiError::Rejected(rejection.status(), rejection.body_text()).into_response();
        }
    };
    // Before the token is even looked at: a foreign page must not learn
    // whether the token it holds is valid.
    if !state.origins.allows_request(&headers) {
        return ApiError::Rejected(
            StatusCode::FORBIDDEN,
            "This page's origin may not connect; see --allowed-origins".into(),
        )
        .into_response();
    }
    let token = params
        .token
        .as_deref()
        .or_else(|| bearer_token(&headers))
        .or_else(|| subprotocol_token(&headers));
    let caller = match state.authenticate(token).await {
        Ok(caller) => caller,
        Err(err) => return err.into_response(),
    };
    let protocol = if offers_v1(&headers) {
        Protocol::V1
    } else {
        Protocol::Compat
    };
    // A room the user may not join (unknown, private, banned from) is
    // refused after the upgrade, with a close code, as the chapter does: its
    // page shows the close, not an HTTP error.
    let limits = &state.config;
    let frame_limit = limits.max_message_bytes + ENVELOPE_BYTES;
    let ws = ws
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(WRITE_BUFFER)
        // A socket that does not drain blocks the writer before this is reached.
        .max_write_buffer_size(WRITE_BUFFER + 2 * frame_limit)
        .max_message_size(frame_limit)
        .max_frame_size(frame_limit);
    let ws = match protocol {
        Protocol::V1 => ws.protocols([V1_SUBPROTOCOL]),
        Protocol::Compat => ws,
    };
    let sessions = state.sessions.clone();
    let address = state.client_addr(peer.ip(), &headers);
    let slot = match state.sockets.admit(caller.user.id, address) {
        Ok(slot) => slot,
        Err(over) => {
            let detail = match over {
                OverCap::User(n) => {
                    format!("Too many connections: a user may have {n} open; close some")
                }
                OverCap::Address(n) => {
                    format!("Too many connections from this address (at most {n})")
                }
            };
            return ApiError::Rejected(StatusCode::TOO_MANY_REQUESTS, detail).into_response();
        }
    };
    ws.on_upgrade(move |socket| {
        let session = reader::run(state, socket, caller, protocol, room);
        // The slot lives as long as the session, and frees its place after.
        // A combinator, not an `async` block: a block awaiting a future it
        // captured keeps that future twice (seen: 800 bytes per connection).
        sessions.track_future(session.map(move |()| drop(slot)))
    })
}

fn offers_v1(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == V1_SUBPROTOCOL)
}
