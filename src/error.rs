//! The one place where errors become HTTP responses: a status and a JSON
//! `{"detail": ...}`, the chapter's error shape. Causes of server-side
//! failures are logged here and never shown to the client.

use crate::auth::AuthError;
use crate::auth::throttle::RetryAfter;
use crate::chat::changes::ActError;
use crate::chat::publisher::PostError;
use crate::chat::rooms::RoomError;
use crate::model::Invalid;
use crate::store::{Refusal, StoreError};
use axum::Json;
use axum::extract::rejection::{FormRejection, JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{1}")]
    Rejected(StatusCode, String),
    /// Over a budget (login failures, registrations): try again after this long.
    #[error("too many requests")]
    TooManyRequests(std::time::Duration),
    #[error("storage failure: {0}")]
    Store(#[from] StoreError),
    #[error("authentication failure: {0}")]
    Auth(AuthError),
}

impl From<AuthError> for ApiError {
    fn from(err: AuthError) -> Self {
        match err {
            AuthError::MissingToken => Self::Unauthorized("Not authenticated"),
            AuthError::InvalidToken => Self::Unauthorized("Could not validate credentials"),
            AuthError::InvalidRefresh => Self::Unauthorized(
                "Refresh token is not valid (unknown, expired, used before, or its session ended); log in again",
            ),
            AuthError::WrongPassword => {
                Self::Rejected(StatusCode::FORBIDDEN, "Current password is wrong".into())
            }
            AuthError::UsernameTaken => Self::BadRequest("Username already registered".into()),
            AuthError::Throttled(RetryAfter(wait)) => Self::TooManyRequests(wait),
            AuthError::RegistrationClosed => Self::Rejected(
                StatusCode::FORBIDDEN,
                "Registration is closed on this server".into(),
            ),
            AuthError::InviteRequired => Self::Rejected(
                StatusCode::FORBIDDEN,
                "Registration on this server needs an invite code (the `invite` field)".into(),
            ),
            AuthError::InviteInvalid => Self::Rejected(
                StatusCode::FORBIDDEN,
                "Invite code is not valid (unknown, used up or expired)".into(),
            ),
            AuthError::Disabled => {
                Self::Rejected(StatusCode::FORBIDDEN, "This account is disabled".into())
            }
            AuthError::NoSuchUser => Self::NotFound("User not found"),
            AuthError::Store(err) => Self::Store(err),
            other => Self::Auth(other),
        }
    }
}

impl From<RoomError> for ApiError {
    fn from(err: RoomError) -> Self {
        match err {
            RoomError::NotFound => Self::NotFound("Room not found"),
            RoomError::Missing(detail) => Self::Rejected(StatusCode::NOT_FOUND, detail),
            RoomError::Forbidden(detail) => Self::Rejected(StatusCode::FORBIDDEN, detail.into()),
            RoomError::Conflict(detail) => Self::Conflict(detail.into()),
            RoomError::Invalid(detail) => Self::Unprocessable(detail),
            RoomError::Store(err) => Self::Store(err),
        }
    }
}

impl From<PostError> for ApiError {
    fn from(err: PostError) -> Self {
        match err {
            PostError::Store(err) => Self::Store(err),
            PostError::ShuttingDown => Self::Rejected(
                StatusCode::SERVICE_UNAVAILABLE,
                "The server is shutting down; try again".into(),
            ),
        }
    }
}

impl From<ActError> for ApiError {
    fn from(err: ActError) -> Self {
        match err {
            ActError::Room(err) => err.into(),
            ActError::Muted { until: None } => {
                Self::Rejected(StatusCode::FORBIDDEN, "You are muted in this room".into())
            }
            ActError::Muted { until: Some(until) } => Self::Rejected(
                StatusCode::FORBIDDEN,
                format!("You are muted in this room until {}", until.to_rfc3339()),
            ),
            ActError::Post(err) => err.into(),
        }
    }
}

/// What the store's rules said about a change (a caller that knows which
/// change it was words `NotAuthor` itself).
impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::NotFound => Self::NotFound("Message not found"),
            Refusal::NotAuthor => Self::Rejected(
                StatusCode::FORBIDDEN,
                "Only its author may do that to a message".into(),
            ),
            Refusal::TooLate => {
                Self::Rejected(StatusCode::FORBIDDEN, "The edit window has passed".into())
            }
            Refusal::TooManyReactions => {
                Self::Conflict("This message has too many different reactions".into())
            }
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(err: Invalid) -> Self {
        Self::Unprocessable(err.0)
    }
}

/// Malformed bodies and queries are the client's mistake: 422 as FastAPI
/// answers, except a body over the size limit, which keeps its 413.
fn rejected(status: StatusCode, text: String) -> ApiError {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::Rejected(status, "Request body too large".into())
        }
        _ => ApiError::Rejected(StatusCode::UNPROCESSABLE_ENTITY, text),
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        rejected(r.status(), r.body_text())
    }
}

impl From<FormRejection> for ApiError {
    fn from(r: FormRejection) -> Self {
        rejected(r.status(), r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        rejected(r.status(), r.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, detail) = match &self {
            Self::Unauthorized(d) => (StatusCode::UNAUTHORIZED, (*d).to_owned()),
            Self::BadRequest(d) => (StatusCode::BAD_REQUEST, d.clone()),
            Self::NotFound(d) => (StatusCode::NOT_FOUND, (*d).to_owned()),
            Self::Conflict(d) => (StatusCode::CONFLICT, d.clone()),
            Self::Unprocessable(d) => (StatusCode::UNPROCESSABLE_ENTITY, d.clone()),
            Self::Rejected(status, d) => (*status, d.clone()),
            Self::TooManyRequests(wait) => (
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many attempts; try again in {} seconds",
                    retry_after_secs(*wait)
                ),
            ),
            Self::Store(err) => {
                tracing::error!(error = %err, "storage failure");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Storage unavailable, try again".to_owned(),
                )
            }
            Self::Auth(err) => {
                tracing::error!(error = %err, "authentication failure");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Internal error".to_owned(),
                )
            }
        };
        let mut response = (status, Json(json!({ "detail": detail }))).into_response();
        if let Self::TooManyRequests(wait) = &self {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs(*wait)),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// Whole seconds, rounded up: `Retry-After: 0` would invite a retry too soon.
fn retry_after_secs(wait: std::time::Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// `axum::Json`, `Form` and `Query` with their rejections in our error shape.
pub mod extract {
    use super::ApiError;
    use axum::extract::{FromRequest, FromRequestParts};

    #[derive(FromRequest)]
    #[from_request(via(axum::Json), rejection(ApiError))]
    pub struct Json<T>(pub T);

    #[derive(FromRequest)]
    #[from_request(via(axum::Form), rejection(ApiError))]
    pub struct Form<T>(pub T);

    #[derive(FromRequestParts)]
    #[from_request(via(axum::extract::Query), rejection(ApiError))]
    pub struct Query<T>(pub T);
}
