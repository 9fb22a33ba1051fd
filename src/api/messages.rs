use super::extract::{Acting, AuthCaller};
use crate::app::AppState;
use crate::auth::accounts::Caller;
use crate::chat::changes::Action;
use crate::chat::publisher::Posted;
use crate::error::ApiError;
use crate::error::extract::Query;
use crate::gateway::v1::frames::{MessageBody, reactions_of};
use crate::model::{Emoji, MessageText, TextError};
use crate::model::{StoredMessage, Timestamp, User};
use crate::store::Page;
use crate::store::Refusal;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
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
    let mut messages = state
        .chat
        .history_seen_by(room.id, page, caller.user.id)
        .await?;
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
    let reactions: Vec<_> = messages.iter().map(reactions_of).collect();
    Ok(Json(CursorPage {
        messages: messages
            .iter()
            .zip(&reactions)
            .map(|(m, r)| MessageBody::new(m, r))
            .collect(),
        next_before,
        next_after,
        has_more: more,
    })
    .into_response())
}

#[derive(Deserialize)]
pub struct Edit {
    content: String,
}

/// One message in the `message` event's shape, as `caller` sees it now.
async fn current(
    state: &AppState,
    caller: &Caller,
    room: &str,
    id: i64,
) -> Result<Response, ApiError> {
    let message = state
        .chat
        .message(caller.actor(), room, id)
        .await?
        .ok_or(ApiError::NotFound("Message not found"))?;
    let reactions = reactions_of(&message);
    Ok(Json(MessageBody::new(&message, &reactions)).into_response())
}

/// Who may make a change to someone else's message, in the words of a refusal.
const ONLY_THE_AUTHOR: &str = "Only its author may edit a message";
const ONLY_AUTHOR_OR_MODERATOR: &str =
    "Only its author or a moderator of the room may delete a message";

/// Makes a change and waits until it is stored: what became of it.
/// `not_author`: the refusal when the message is someone else's.
async fn change(
    state: &AppState,
    caller: &Caller,
    (room, id): (&str, i64),
    action: Action,
    not_author: &'static str,
) -> Result<Posted, ApiError> {
    // Changes count against the user's send budget, like messages.
    state
        .rates
        .send(caller.user.id)
        .map_err(ApiError::TooManyRequests)?;
    let reply = state
        .chat
        .act(caller.actor(), room, id, action, None)
        .await?;
    let posted = reply
        .await
        .map_err(|_| ApiError::from(crate::chat::publisher::PostError::ShuttingDown))??;
    match posted {
        Posted::Refused(Refusal::NotAuthor) => {
            Err(ApiError::Rejected(StatusCode::FORBIDDEN, not_author.into()))
        }
        Posted::Refused(refusal) => Err(refusal.into()),
        posted => Ok(posted),
    }
}

/// `PATCH /rooms/{room}/messages/{id}` `{"content"}`: the author's new text;
/// answers with the message as it is now.
pub async fn edit(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
    Path((room, id)): Path<(String, i64)>,
    crate::error::extract::Json(body): crate::error::extract::Json<Edit>,
) -> Result<Response, ApiError> {
    let text =
        MessageText::parse(body.content, state.config.max_message_bytes).map_err(
            |err| match err {
                TextError::Blank | TextError::TooLong { .. } | TextError::Nul => {
                    ApiError::Unprocessable(err.to_string())
                }
            },
        )?;
    let action = Action::Edit(text);
    change(&state, &caller, (&room, id), action, ONLY_THE_AUTHOR).await?;
    current(&state, &caller, &room, id).await
}

/// `DELETE /rooms/{room}/messages/{id}`: by its author, a moderator of the
/// room or a server admin; its text and versions are erased.
pub async fn delete(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
    Path((room, id)): Path<(String, i64)>,
) -> Result<StatusCode, ApiError> {
    let action = Action::Delete;
    change(
        &state,
        &caller,
        (&room, id),
        action,
        ONLY_AUTHOR_OR_MODERATOR,
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
pub struct ReactionOut {
    emoji: String,
    count: i64,
    me: bool,
}

async fn reaction(
    state: AppState,
    caller: Caller,
    (room, id, emoji): (String, i64, String),
    added: bool,
) -> Result<Json<ReactionOut>, ApiError> {
    let emoji = Emoji::parse(&emoji)?;
    let shown = emoji.as_str().to_owned();
    let action = if added {
        Action::React(emoji)
    } else {
        Action::Unreact(emoji)
    };
    let count = match change(&state, &caller, (&room, id), action, ONLY_THE_AUTHOR).await? {
        Posted::Stored { message, .. } => match message.entry {
            crate::model::Entry::Change(change) => match change.kind {
                crate::model::ChangeKind::Reaction { count, .. } => count,
                _ => 0,
            },
            crate::model::Entry::Message(_) => 0,
        },
        Posted::Unchanged { count } => count,
        Posted::Refused(refusal) => return Err(refusal.into()),
    };
    Ok(Json(ReactionOut {
        emoji: shown,
        count,
        me: added,
    }))
}

/// `PUT /rooms/{room}/messages/{id}/reactions/{emoji}`: adds the caller's
/// reaction (again: no change).
pub async fn react(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
    Path(path): Path<(String, i64, String)>,
) -> Result<Json<ReactionOut>, ApiError> {
    reaction(state, caller, path, true).await
}

/// `DELETE /rooms/{room}/messages/{id}/reactions/{emoji}`: takes it back.
pub async fn unreact(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
    Path(path): Path<(String, i64, String)>,
) -> Result<Json<ReactionOut>, ApiError> {
    reaction(state, caller, path, false).await
}

#[derive(Serialize)]
pub struct VersionOut {
    content: String,
    ts: Timestamp,
}

#[derive(Serialize)]
pub struct Versions {
    /// Oldest first; the last is the current text.
    versions: Vec<VersionOut>,
}

/// `GET /rooms/{room}/messages/{id}/versions`: the texts the message has had.
pub async fn versions(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
    Path((room, id)): Path<(String, i64)>,
) -> Result<Json<Versions>, ApiError> {
    if !state.config.keep_edit_history {
        // Checked after the room, so that a hidden room stays unknown.
        state.chat.readable(caller.actor(), &room).await?;
        return Err(ApiError::NotFound(
            "Edit history is not kept on this server",
        ));
    }
    let versions = state
        .chat
        .versions(caller.actor(), &room, id)
        .await?
        .ok_or(ApiError::NotFound("Message not found"))?;
    Ok(Json(Versions {
        versions: versions
            .into_iter()
            .map(|v| VersionOut {
                content: v.content,
                ts: v.at,
            })
            .collect(),
    }))
}
