//! WebSocket connections: the upgrade (auth, room, protocol), then one
//! `session` per socket. How frames look on the wire lives in `compat` (the
//! chapter's text frames) and `v1` (palaver's JSON protocol).

pub mod close;
mod compat;
mod session;
mod v1;

use crate::app::AppState;
use crate::auth::extract::{bearer_token, subprotocol_token, user_for_token};
use crate::chat::model::RoomName;
use crate::error::ApiError;
use crate::error::extract::Query;
use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

/// Per-connection buffers. Tungstenite's defaults (128 KiB read buffer, an
/// unbounded write buffer, 64 MiB messages) suit one big connection, not
/// thousands of small ones. Frames are gathered up to `WRITE_BUFFER` bytes
/// and written with one syscall. Both stay small: they are per connection,
/// and connections are many.
const READ_BUFFER: usize = 512;
const WRITE_BUFFER: usize = 4 * 1024;

/// The subprotocol a client offers to speak palaver's JSON protocol.
pub const V1_SUBPROTOCOL: &str = "palaver.v1";

/// The wire format of one connection; its value is the slot of the event
/// frame cache that holds this format's encoding.
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

async fn upgrade_room(
    state: State<AppState>,
    Path(room): Path<String>,
    params: Query<UpgradeParams>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    upgrade(state, Some(room), params, headers, ws).await
}

async fn upgrade_lobby(
    state: State<AppState>,
    params: Query<UpgradeParams>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    upgrade(state, None, params, headers, ws).await
}

/// Authenticates before upgrading: without a valid token the client gets a
/// 401 and never a single frame.
async fn upgrade(
    State(state): State<AppState>,
    room: Option<String>,
    Query(params): Query<UpgradeParams>,
    headers: HeaderMap,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(rejection) => {
            return ApiError::Rejected(rejection.status(), rejection.body_text()).into_response();
        }
    };
    let token = params
        .token
        .as_deref()
        .or_else(|| bearer_token(&headers))
        .or_else(|| subprotocol_token(&headers));
    let user = match user_for_token(&state, token).await {
        Ok(user) => user,
        Err(err) => return err.into_response(),
    };
    let protocol = if offers_v1(&headers) {
        Protocol::V1
    } else {
        Protocol::Compat
    };
    // An unknown room is refused after the upgrade, with close code 1008,
    // as the chapter does: its page shows the close, not an HTTP error.
    let room = match room {
        None => None,
        // A name that could never be created is as unknown as any other.
        Some(name) => match RoomName::parse(&name) {
            Err(_) => Some(Err(name)),
            Ok(parsed) => match state.store.room(&parsed).await {
                Ok(found) => Some(found.ok_or(name)),
                Err(err) => return ApiError::from(err).into_response(),
            },
        },
    };
    let limits = &state.config;
    let frame_limit = limits.max_message_bytes + session::ENVELOPE_BYTES;
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
    ws.on_upgrade(move |socket| {
        sessions.track_future(session::run(state, socket, user, protocol, room))
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
