use crate::app::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

/// The chapter's listing: `{"rooms": ["general", ...]}`.
pub async fn list(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let rooms = state.store.rooms().await?;
    let names: Vec<&str> = rooms.iter().map(|r| r.name.as_str()).collect();
    Ok(Json(json!({ "rooms": names })))
}
