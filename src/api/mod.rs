//! Thin HTTP handlers: parse, call the store or the chat core, shape the
//! answer. No business rules live here.

mod extract;
mod messages;
mod rooms;
mod users;

use crate::app::AppState;
use crate::error::ApiError;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::{get, post};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/register", post(users::register))
        .route("/token", post(users::token))
        .route("/users/me", get(users::me))
        .route("/rooms", get(rooms::list).post(rooms::create))
        .route("/rooms/{room}", get(rooms::show))
        .route("/rooms/{room}/messages", get(messages::page))
        .route("/messages/{room}", get(messages::newest_first))
        .route("/healthz", get(|| async { "ok" }))
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound("Not Found")
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::Rejected(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed".into())
}
