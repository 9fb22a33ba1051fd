//! Direct messages: `POST /dms` opens (or finds) the room of a set of people.

use super::extract::{Acting, AuthCaller};
use crate::app::AppState;
use crate::error::ApiError;
use crate::error::extract::Json;
use crate::model::{Timestamp, Visibility};
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
pub struct NewDirect {
    usernames: Vec<String>,
}

#[derive(Serialize)]
pub struct DirectOut {
    name: String,
    visibility: Visibility,
    created_at: Timestamp,
    /// Everyone in it, the caller included, sorted.
    members: Vec<String>,
}

/// `POST /dms {"usernames": [...]}`: 201 the first time, 200 after.
pub async fn open(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
    Json(body): Json<NewDirect>,
) -> Result<(StatusCode, axum::Json<DirectOut>), ApiError> {
    let (room, members, created) = state.chat.direct(caller.actor(), &body.usernames).await?;
    let status = match created {
        true => StatusCode::CREATED,
        false => StatusCode::OK,
    };
    let out = DirectOut {
        name: room.name,
        visibility: room.visibility,
        created_at: room.created_at,
        members,
    };
    Ok((status, axum::Json(out)))
}
