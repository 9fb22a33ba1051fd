//! `/admin/…`: what the `palaver admin` command does, over HTTP, for
//! server admins.

use super::extract::AuthCaller;
use crate::app::AppState;
use crate::auth::accounts::Caller;
use crate::auth::admin::AccountChange;
use crate::error::ApiError;
use crate::error::extract::{Json, Query};
use crate::model::Timestamp;
use crate::store::Account;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::time::Duration;

/// The most accounts one page lists.
const MAX_PAGE: i64 = 500;

fn admin_only(caller: &Caller) -> Result<(), ApiError> {
    match caller.admin {
        true => Ok(()),
        false => Err(ApiError::Rejected(
            StatusCode::FORBIDDEN,
            "Only server admins may do that".into(),
        )),
    }
}

#[derive(Serialize)]
pub struct AccountOut {
    id: i64,
    username: String,
    admin: bool,
    disabled: bool,
    created_at: Timestamp,
}

impl From<Account> for AccountOut {
    fn from(a: Account) -> Self {
        Self {
            id: a.user.id,
            username: a.user.username,
            admin: a.admin,
            disabled: a.disabled_at.is_some(),
            created_at: a.created_at,
        }
    }
}

#[derive(Deserialize)]
pub struct Page {
    #[serde(default)]
    after: i64,
    #[serde(default = "page_size")]
    limit: i64,
}

fn page_size() -> i64 {
    100
}

/// `GET /admin/users?after=ID&limit=N`: accounts by id.
pub async fn users(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
    Query(page): Query<Page>,
) -> Result<axum::Json<Value>, ApiError> {
    admin_only(&caller)?;
    if !(1..=MAX_PAGE).contains(&page.limit) {
        return Err(ApiError::Unprocessable(format!(
            "limit must be between 1 and {MAX_PAGE}"
        )));
    }
    let accounts = state.accounts.accounts(page.after, page.limit).await?;
    let users: Vec<AccountOut> = accounts.into_iter().map(AccountOut::from).collect();
    Ok(axum::Json(json!({ "users": users })))
}

#[derive(Deserialize)]
pub struct AccountPatch {
    admin: Option<bool>,
    disabled: Option<bool>,
}

/// `PATCH /admin/users/{username} {"admin"?, "disabled"?}`. Demoting or
/// disabling ends the account's sessions and closes its sockets everywhere.
pub async fn update_user(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
    Path(username): Path<String>,
    Json(patch): Json<AccountPatch>,
) -> Result<axum::Json<AccountOut>, ApiError> {
    admin_only(&caller)?;
    let mut changes = Vec::new();
    match patch.admin {
        Some(true) => changes.push(AccountChange::Promote),
        Some(false) => changes.push(AccountChange::Demote),
        None => {}
    }
    match patch.disabled {
        Some(true) => changes.push(AccountChange::Disable),
        Some(false) => changes.push(AccountChange::Enable),
        None => {}
    }
    if changes.is_empty() {
        return Err(ApiError::Unprocessable(
            "give admin or disabled (booleans)".into(),
        ));
    }
    if username.eq_ignore_ascii_case(&caller.user.username)
        && changes
            .iter()
            .any(|c| matches!(c, AccountChange::Demote | AccountChange::Disable))
    {
        return Err(ApiError::Conflict(
            "You cannot demote or disable yourself; ask another admin".into(),
        ));
    }
    let mut account = None;
    for change in changes {
        account = Some(state.accounts.change_account(&username, change).await?);
    }
    account
        .map(|a| axum::Json(a.into()))
        .ok_or_else(|| ApiError::Unprocessable("nothing to change".into()))
}

#[derive(Deserialize)]
pub struct NewInvite {
    #[serde(default = "one_use")]
    uses: u32,
    /// Seconds from now; absent: until used up.
    expires_in_s: Option<u64>,
}

fn one_use() -> u32 {
    1
}

/// `POST /admin/invites`: a code for `--registration invite`, shown once.
pub async fn create_invite(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
    Json(body): Json<NewInvite>,
) -> Result<(StatusCode, axum::Json<Value>), ApiError> {
    admin_only(&caller)?;
    if body.uses == 0 || body.uses > 10_000 {
        return Err(ApiError::Unprocessable(
            "uses must be between 1 and 10000".into(),
        ));
    }
    let valid_for = body.expires_in_s.map(Duration::from_secs);
    let created = state.invites.create(body.uses, valid_for).await?;
    let body = json!({
        "code": created.code,
        "uses_left": created.invite.uses_left,
        "expires_at": created.invite.expires_at,
    });
    Ok((StatusCode::CREATED, axum::Json(body)))
}

#[derive(Serialize)]
pub struct InviteOut {
    id: i64,
    uses_left: i64,
    created_at: Timestamp,
    expires_at: Option<Timestamp>,
}

/// `GET /admin/invites`: every code, used up and expired ones too, oldest
/// first (never the codes themselves: only their hashes are kept).
pub async fn invites(
    State(state): State<AppState>,
    AuthCaller(caller): AuthCaller,
) -> Result<axum::Json<Value>, ApiError> {
    admin_only(&caller)?;
    let invites: Vec<InviteOut> = state
        .invites
        .list()
        .await?
        .into_iter()
        .map(|i| InviteOut {
            id: i.id,
            uses_left: i.uses_left,
            created_at: i.created_at,
            expires_at: i.expires_at,
        })
        .collect();
    Ok(axum::Json(json!({ "invites": invites })))
}
