//! Rooms: the public directory, creating and deleting rooms, joining and
//! leaving them, and a user's own list.

use super::extract::{Acting, AuthCaller, MaybeCaller};
use crate::app::AppState;
use crate::error::ApiError;
use crate::error::extract::{Json, Query};
use crate::gateway::v1::frames::RoomBody;
use crate::model::{Room, RoomRole, Timestamp, Visibility};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Deserialize)]
pub struct ListParams {
    #[serde(default)]
    detail: bool,
}

#[derive(Serialize)]
struct RoomSummary<'a> {
    name: &'a str,
    topic: &'a str,
    created_at: Timestamp,
    online_count: usize,
}

/// The chapter's listing, `{"rooms": ["general", ...]}`, of public rooms;
/// with `?detail=true` each room is an object with its topic and how many
/// are online.
pub async fn list(
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> Result<axum::Json<Value>, ApiError> {
    let rooms = state.chat.rooms().await?;
    if !params.detail {
        let names: Vec<&str> = rooms.iter().map(|r| r.name.as_str()).collect();
        return Ok(axum::Json(json!({ "rooms": names })));
    }
    let rooms: Vec<RoomSummary> = rooms
        .iter()
        .map(|r| RoomSummary {
            name: &r.name,
            topic: &r.topic,
            created_at: r.created_at,
            online_count: state.chat.online_count(&r.name),
        })
        .collect();
    Ok(axum::Json(json!({ "rooms": rooms })))
}

#[derive(Deserialize)]
pub struct NewRoom {
    name: String,
    #[serde(default)]
    topic: String,
    #[serde(default = "public")]
    visibility: String,
}

fn public() -> String {
    Visibility::Public.as_str().to_owned()
}

/// `POST /rooms`: opens a room (public or private); its creator owns it.
pub async fn create(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
    Json(body): Json<NewRoom>,
) -> Result<(StatusCode, axum::Json<Room>), ApiError> {
    let visibility = Visibility::parse(&body.visibility).ok_or_else(|| {
        ApiError::Unprocessable("visibility must be \"public\" or \"private\"".into())
    })?;
    let room = state
        .chat
        .create_room(caller.actor(), &body.name, &body.topic, visibility)
        .await?;
    tracing::info!(room = %room.name, by = %caller.user.username, "room created");
    Ok((StatusCode::CREATED, axum::Json(room)))
}

#[derive(Serialize)]
pub struct RoomDetail {
    #[serde(flatten)]
    room: Room,
    online: Vec<String>,
    online_count: usize,
    /// The caller's role in it, if they are a member.
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<RoomRole>,
}

/// `GET /rooms/{room}`: the room and who is in it now. A public room is
/// shown to anyone; a members-only room needs a member's token, and to
/// anyone else it does not exist.
pub async fn show(
    State(state): State<AppState>,
    MaybeCaller(caller): MaybeCaller,
    Path(name): Path<String>,
) -> Result<axum::Json<RoomDetail>, ApiError> {
    let (room, role) = match &caller {
        Some(caller) => {
            let standing = state.chat.readable(caller.actor(), &name).await?;
            (standing.access.room.clone(), standing.role())
        }
        None => (state.chat.public_room(&name).await?, None),
    };
    let online = state.chat.online(&room.name).await;
    Ok(axum::Json(RoomDetail {
        online_count: online.len(),
        online,
        room,
        role,
    }))
}

#[derive(Deserialize)]
pub struct RoomChange {
    topic: String,
}

/// `PATCH /rooms/{room}`: a new topic (moderators and owners).
pub async fn update(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
    Path(name): Path<String>,
    Json(body): Json<RoomChange>,
) -> Result<axum::Json<Room>, ApiError> {
    let room = state
        .chat
        .set_topic(caller.actor(), &name, &body.topic)
        .await?;
    Ok(axum::Json(room))
}

/// `DELETE /rooms/{room}`: its owners or an admin.
pub async fn delete(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.chat.delete_room(caller.actor(), &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /rooms/{room}/join`: becomes a member of a public room.
pub async fn join(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
    Path(name): Path<String>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    let standing = state.chat.join_room(caller.actor(), &name).await?;
    let body = json!({"room": standing.room().name, "role": RoomRole::Member});
    Ok((StatusCode::CREATED, axum::Json(body)))
}

/// `POST /rooms/{room}/leave`: ends the caller's membership; their sockets
/// leave the room on every node.
pub async fn leave(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.chat.leave_room(caller.actor(), &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
struct MyRoomOut<'a> {
    #[serde(flatten)]
    room: RoomBody<'a>,
    since: Timestamp,
}

/// `GET /users/me/rooms`: every room the caller is a member of.
pub async fn mine(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
) -> Result<axum::Json<Value>, ApiError> {
    let rooms = state.chat.my_rooms(&caller.user).await?;
    let entries: Vec<(crate::chat::notice::RoomEntry, Timestamp)> = rooms
        .into_iter()
        .map(|mine| {
            let since = mine.since;
            (mine.into(), since)
        })
        .collect();
    let out: Vec<MyRoomOut> = entries
        .iter()
        .map(|(entry, since)| MyRoomOut {
            room: RoomBody::from(entry),
            since: *since,
        })
        .collect();
    Ok(axum::Json(json!({ "rooms": out })))
}
