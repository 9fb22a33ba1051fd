use crate::app::AppState;
use crate::auth::extract::AuthUser;
use crate::chat::model::{StoredMessage, Timestamp, User};
use crate::error::ApiError;
use crate::error::extract::Query;
use crate::store::Page;
use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};

/// A message in the chapter's shape.
#[derive(Serialize)]
pub struct MessageOut {
    id: i64,
    content: String,
    timestamp: Timestamp,
    room_name: String,
    owner: User,
}

impl From<StoredMessage> for MessageOut {
    fn from(m: StoredMessage) -> Self {
        Self {
            id: m.id,
            content: m.content,
            timestamp: m.created_at,
            room_name: m.room,
            owner: m.author,
        }
    }
}

#[derive(Deserialize)]
pub struct SkipLimit {
    #[serde(default)]
    skip: i64,
    #[serde(default = "default_limit")]
    limit: i64,
}

fn default_limit() -> i64 {
    100
}

/// `GET /messages/{room}`: the room's messages, newest first.
pub async fn newest_first(
    State(state): State<AppState>,
    AuthUser(_): AuthUser,
    Path(room): Path<String>,
    Query(q): Query<SkipLimit>,
) -> Result<Json<Vec<MessageOut>>, ApiError> {
    if q.skip < 0 {
        return Err(ApiError::Unprocessable("skip must be 0 or more".into()));
    }
    let max = state.config.history_limit;
    if !(0..=max).contains(&q.limit) {
        return Err(ApiError::Unprocessable(format!(
            "limit must be between 0 and {max}"
        )));
    }
    let room = state
        .store
        .room(&room)
        .await?
        .ok_or(ApiError::NotFound("Room not found"))?;
    let page = Page::NewestFirst {
        skip: q.skip,
        limit: q.limit,
    };
    let messages = state.store.messages(room.id, page).await?;
    Ok(Json(messages.into_iter().map(MessageOut::from).collect()))
}
