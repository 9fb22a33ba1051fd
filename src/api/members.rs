//! A room's members and what moderators do to them: invite, roles, kick,
//! ban, mute. The rules are the chat core's (`chat::rooms`).

use super::extract::{Acting, AuthCaller};
use crate::app::AppState;
use crate::error::ApiError;
use crate::error::extract::Json;
use crate::model::{RoomRole, Timestamp};
use crate::store::{Member, Sanction};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Serialize)]
pub struct MemberOut {
    username: String,
    role: RoomRole,
    since: Timestamp,
    /// Online in the room now (on any node).
    #[serde(skip_serializing_if = "Option::is_none")]
    online: Option<bool>,
}

impl MemberOut {
    fn new(member: Member, online: Option<bool>) -> Self {
        Self {
            username: member.user.username,
            role: member.role,
            since: member.since,
            online,
        }
    }
}

#[derive(Serialize)]
pub struct SanctionOut {
    username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    until: Option<Timestamp>,
    by: Option<String>,
    created_at: Timestamp,
}

impl From<Sanction> for SanctionOut {
    fn from(s: Sanction) -> Self {
        Self {
            username: s.user.username,
            reason: s.reason,
            until: s.until,
            by: s.by,
            created_at: s.created_at,
        }
    }
}

/// `GET /rooms/{room}/members`.
pub async fn list(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
    Path(room): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let (members, online) = state.chat.members(caller.actor(), &room).await?;
    let members: Vec<MemberOut> = members
        .into_iter()
        .map(|m| {
            let here = online.binary_search(&m.user.username).is_ok();
            MemberOut::new(m, Some(here))
        })
        .collect();
    Ok(axum::Json(json!({ "members": members })))
}

#[derive(Deserialize)]
pub struct Invite {
    username: String,
}

/// `POST /rooms/{room}/members`: adds someone (owners and moderators).
pub async fn invite(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
    Path(room): Path<String>,
    Json(body): Json<Invite>,
) -> Result<(StatusCode, axum::Json<MemberOut>), ApiError> {
    let member = state
        .chat
        .invite(caller.actor(), &room, &body.username)
        .await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(MemberOut::new(member, None)),
    ))
}

#[derive(Deserialize)]
pub struct RoleChange {
    role: String,
}

/// `PATCH /rooms/{room}/members/{username}`: a new role (owners).
pub async fn set_role(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
    Path((room, username)): Path<(String, String)>,
    Json(body): Json<RoleChange>,
) -> Result<axum::Json<MemberOut>, ApiError> {
    let role = RoomRole::parse(&body.role).ok_or_else(|| {
        ApiError::Unprocessable("role must be \"owner\", \"moderator\" or \"member\"".into())
    })?;
    let member = state
        .chat
        .set_role(caller.actor(), &room, &username, role)
        .await?;
    Ok(axum::Json(MemberOut::new(member, None)))
}

/// `DELETE /rooms/{room}/members/{username}`: removes a member ("kick").
pub async fn kick(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
    Path((room, username)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.chat.kick(caller.actor(), &room, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
pub struct NewSanction {
    username: String,
    #[serde(default)]
    reason: Option<String>,
    /// RFC 3339; absent or null: until lifted.
    #[serde(default)]
    until: Option<String>,
}

/// The longest reason a ban may give (it is shown to the banned user).
const MAX_REASON: usize = 512;

fn until(raw: Option<&str>) -> Result<Option<Timestamp>, ApiError> {
    raw.map(Timestamp::parse_rfc3339)
        .transpose()
        .map_err(ApiError::from)
}

/// `GET /rooms/{room}/bans`.
pub async fn bans(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
    Path(room): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let bans = state.chat.sanctions(caller.actor(), &room, true).await?;
    let bans: Vec<SanctionOut> = bans.into_iter().map(SanctionOut::from).collect();
    Ok(axum::Json(json!({ "bans": bans })))
}

/// `POST /rooms/{room}/bans`.
pub async fn ban(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
    Path(room): Path<String>,
    Json(body): Json<NewSanction>,
) -> Result<(StatusCode, axum::Json<SanctionOut>), ApiError> {
    if body
        .reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > MAX_REASON || r.chars().any(char::is_control))
    {
        return Err(ApiError::Unprocessable(format!(
            "reason must be one line of at most {MAX_REASON} characters"
        )));
    }
    let until = until(body.until.as_deref())?;
    let ban = state
        .chat
        .ban(caller.actor(), &room, &body.username, body.reason, until)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(ban.into())))
}

/// `DELETE /rooms/{room}/bans/{username}`.
pub async fn unban(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
    Path((room, username)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.chat.unban(caller.actor(), &room, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /rooms/{room}/mutes`.
pub async fn mutes(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
    Path(room): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let mutes = state.chat.sanctions(caller.actor(), &room, false).await?;
    let mutes: Vec<SanctionOut> = mutes.into_iter().map(SanctionOut::from).collect();
    Ok(axum::Json(json!({ "mutes": mutes })))
}

/// `POST /rooms/{room}/mutes`.
pub async fn mute(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
    Path(room): Path<String>,
    Json(body): Json<NewSanction>,
) -> Result<(StatusCode, axum::Json<SanctionOut>), ApiError> {
    let until = until(body.until.as_deref())?;
    let mute = state
        .chat
        .mute(caller.actor(), &room, &body.username, until)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(mute.into())))
}

/// `DELETE /rooms/{room}/mutes/{username}`.
pub async fn unmute(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
    Path((room, username)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state.chat.unmute(caller.actor(), &room, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}
