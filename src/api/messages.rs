use super::extract::{Acting, AuthCaller};
use crate::app::AppState;
use crate::error::ApiError;
use crate::error::extract::Query;
use crate::gateway::v1::frames::MessageBody;
use crate::model::{StoredMessage, Timestamp, User};
use crate::store::Page;
use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
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
    AuthCaller(caller): AuthCaller,
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
    // History counts against the user's replay budget, like a resume.
    let asked = u32::try_from(q.limit).unwrap_or(u32::MAX);
    state
        .rates
        .history(caller.user.id, asked)
        .map_err(ApiError::TooManyRequests)?;
    let room = state
        .chat
        .readable(caller.actor(), &room)
        .await?
        .access
        .room;
    let page = Page::NewestFirst {
        skip: q.skip,
        limit: q.limit,
    };
    let messages = state.chat.history(room.id, page).await?;
    Ok(Json(messages.into_iter().map(MessageOut::from).collect()))
}

#[derive(Deserialize)]
pub struct Cursor {
    before: Option<i64>,
    after: Option<i64>,
    #[serde(default = "default_limit")]
    limit: i64,
}

#[derive(Serialize)]
pub struct CursorPage<'a> {
    /// The `message` event's fields, one shape for both.
    messages: Vec<MessageBody<'a>>,
    /// Paging backwards: pass as `before` for the page of older messages;
    /// null when there is none (and always null on `after` pages).
    next_before: Option<i64>,
    /// Pass as `after` for the messages newer than this page (there may be none yet).
    next_after: i64,
    /// True when the store holds more in this page's direction.
    has_more: bool,
}

/// `GET /rooms/{room}/messages?before=ID|after=ID&limit=N`: a page of
/// history, oldest to newest. Cursors are message ids, which only grow, so
/// paging stays exact while others keep writing.
pub async fn page(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
    Path(room): Path<String>,
    Query(q): Query<Cursor>,
) -> Result<Response, ApiError> {
    let max = state.config.history_limit;
    if !(1..=max).contains(&q.limit) {
        return Err(ApiError::Unprocessable(format!(
            "limit must be between 1 and {max}"
        )));
    }
    if q.before.is_some() && q.after.is_some() {
        return Err(ApiError::Unprocessable(
            "give before or after, not both".into(),
        ));
    }
    if q.before.or(q.after).is_some_and(|id| id < 0) {
        return Err(ApiError::Unprocessable("cursors are 0 or more".into()));
    }
    // History counts against the user's replay budget, like a resume.
    let asked = u32::try_from(q.limit).unwrap_or(u32::MAX);
    state
        .rates
        .history(caller.user.id, asked)
        .map_err(ApiError::TooManyRequests)?;
    let room = state
        .chat
        .readable(caller.actor(), &room)
        .await?
        .access
        .room;
    // One more than asked tells whether another page exists.
    let page = match q.after {
        Some(id) => Page::After {
            id,
            limit: q.limit + 1,
        },
        None => Page::Before {
            id: q.before,
            limit: q.limit + 1,
        },
    };
    let mut messages = state.chat.history(room.id, page).await?;
    let more = messages.len() as i64 > q.limit;
    if more {
        match q.after {
            Some(_) => {
                messages.pop();
            }
            None => {
                messages.remove(0);
            }
        }
    }
    let first = messages.first().map(|m| m.id);
    let last = messages.last().map(|m| m.id);
    let (next_before, next_after) = match q.after {
        Some(after) => (None, last.unwrap_or(after)),
        None => {
            let newest_seen = last.or(q.before.map(|b| b - 1)).unwrap_or(0);
            (first.filter(|_| more), newest_seen.max(0))
        }
    };
    // Serialized here, while the page still borrows the messages.
    Ok(Json(CursorPage {
        messages: messages.iter().map(MessageBody::from).collect(),
        next_before,
        next_after,
        has_more: more,
    })
    .into_response())
}
