use crate::app::AppState;
use crate::auth::extract::AuthUser;
use crate::chat::model::{Room, RoomName, Timestamp, parse_topic};
use crate::error::ApiError;
use crate::error::extract::{Json, Query};
use crate::store::StoreError;
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

/// The chapter's listing, `{"rooms": ["general", ...]}`; with `?detail=true`
/// each room is an object with its topic and how many are online.
pub async fn list(
    State(state): State<AppState>,
    Query(params): Query<ListParams>,
) -> Result<axum::Json<Value>, ApiError> {
    let rooms = state.store.rooms().await?;
    if !params.detail {
        let names: Vec<&str> = rooms.iter().map(|r| r.name.as_str()).collect();
        return Ok(axum::Json(json!({ "rooms": names })));
    }
    let hub = &state.chat.hub;
    let rooms: Vec<RoomSummary> = rooms
        .iter()
        .map(|r| RoomSummary {
            name: &r.name,
            topic: &r.topic,
            created_at: r.created_at,
            online_count: hub.online_count(&r.name),
        })
        .collect();
    Ok(axum::Json(json!({ "rooms": rooms })))
}

#[derive(Deserialize)]
pub struct NewRoom {
    name: String,
    #[serde(default)]
    topic: String,
}

/// `POST /rooms`: any signed-in user may open a room.
pub async fn create(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Json(body): Json<NewRoom>,
) -> Result<(StatusCode, axum::Json<Room>), ApiError> {
    let name = RoomName::parse(&body.name)?;
    let topic = parse_topic(&body.topic)?;
    match state.store.create_room(&name, &topic).await {
        Ok(room) => {
            tracing::info!(room = %room.name, by = %user.username, "room created");
            Ok((StatusCode::CREATED, axum::Json(room)))
        }
        Err(StoreError::Conflict) => Err(ApiError::Conflict("Room already exists".into())),
        Err(err) => Err(err.into()),
    }
}

#[derive(Serialize)]
pub struct RoomDetail {
    #[serde(flatten)]
    room: Room,
    online: Vec<String>,
    online_count: usize,
}

/// `GET /rooms/{room}`: the room and who is in it now.
pub async fn show(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<axum::Json<RoomDetail>, ApiError> {
    // A name that could never be created is as unknown as any other.
    let room = match RoomName::parse(&name) {
        Ok(name) => state.store.room(&name).await?,
        Err(_) => None,
    }
    .ok_or(ApiError::NotFound("Room not found"))?;
    let online = state.chat.presence(&room.name).await;
    Ok(axum::Json(RoomDetail {
        online_count: online.len(),
        online,
        room,
    }))
}
