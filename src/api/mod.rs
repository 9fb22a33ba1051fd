//! Thin HTTP handlers: parse, call the store or the chat core, shape the
//! answer. No business rules live here.

mod admin;
mod direct;
mod extract;
mod members;
mod messages;
mod rooms;
mod sessions;
mod users;

use crate::app::AppState;
use crate::error::ApiError;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{delete, get, patch, post, put};
use axum::{Json, Router};
use serde_json::{Value, json};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/register", post(users::register))
        .route("/token", post(users::token))
        .route("/token/refresh", post(users::refresh))
        .route("/logout", post(sessions::logout))
        .route("/logout/all", post(sessions::logout_everywhere))
        .route("/users/me", get(users::me))
        .route("/users/me/sessions", get(sessions::list))
        .route("/users/me/sessions/{id}", delete(sessions::end))
        .route("/users/me/password", post(sessions::change_password))
        .route("/users/me/rooms", get(rooms::mine))
        .route("/rooms", get(rooms::list).post(rooms::create))
        .route(
            "/rooms/{room}",
            get(rooms::show).patch(rooms::update).delete(rooms::delete),
        )
        .route("/rooms/{room}/join", post(rooms::join))
        .route("/rooms/{room}/leave", post(rooms::leave))
        .route(
            "/rooms/{room}/members",
            get(members::list).post(members::invite),
        )
        .route(
            "/rooms/{room}/members/{username}",
            patch(members::set_role).delete(members::kick),
        )
        .route("/rooms/{room}/bans", get(members::bans).post(members::ban))
        .route("/rooms/{room}/bans/{username}", delete(members::unban))
        .route(
            "/rooms/{room}/mutes",
            get(members::mutes).post(members::mute),
        )
        .route("/rooms/{room}/mutes/{username}", delete(members::unmute))
        .route("/dms", post(direct::open))
        .route("/admin/users", get(admin::users))
        .route("/admin/users/{username}", patch(admin::update_user))
        .route(
            "/admin/invites",
            get(admin::invites).post(admin::create_invite),
        )
        .route("/rooms/{room}/messages", get(messages::page))
        .route(
            "/rooms/{room}/messages/{id}",
            patch(messages::edit).delete(messages::delete),
        )
        .route(
            "/rooms/{room}/messages/{id}/versions",
            get(messages::versions),
        )
        .route(
            "/rooms/{room}/messages/{id}/reactions/{emoji}",
            put(messages::react).delete(messages::unreact),
        )
        .route("/messages/{room}", get(messages::newest_first))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
}

/// Readiness, unlike `/healthz` (liveness): 503 while messages cannot be
/// stored, so a balancer sends new users elsewhere; a restart would not help.
async fn readyz(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    if state.chat.store_ready() {
        Ok(Json(json!({"status": "ready"})))
    } else {
        Err(ApiError::Rejected(
            StatusCode::SERVICE_UNAVAILABLE,
            "Messages cannot be stored at the moment".into(),
        ))
    }
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound("Not Found")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::Rejected(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed".into())
}
