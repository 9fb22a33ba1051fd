//! palaver's own protocol, `palaver.v1`: one JSON object per text frame,
//! named by its `type`. Unknown fields are ignored so the protocol can grow.
//! docs/protocol.md is the reference; this file is the implementation.

use super::close::POLICY_VIOLATION;
use super::session::Session;
use crate::chat::event::{Event, EventKind};
use crate::chat::model::{Room, RoomName, StoredMessage};
use crate::chat::outbox::{Outbound, Replay};
use crate::chat::publisher::PostError;
use axum::extract::ws::{Message, Utf8Bytes};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::time::Instant;

/// Bad frames in a row after which the connection is closed (1008).
const MAX_STRIKES: u32 = 10;
/// Longest accepted `client_id`.
const MAX_CLIENT_ID: usize = 128;

/// The stable error codes of `error` events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadJson,
    UnknownCommand,
    BadCommand,
    UnknownRoom,
    NotSubscribed,
    TooLarge,
    EmptyMessage,
    RateLimited,
    StoreFailed,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BadJson => "bad_json",
            Self::UnknownCommand => "unknown_command",
            Self::BadCommand => "bad_command",
            Self::UnknownRoom => "unknown_room",
            Self::NotSubscribed => "not_subscribed",
            Self::TooLarge => "too_large",
            Self::EmptyMessage => "empty_message",
            Self::RateLimited => "rate_limited",
            Self::StoreFailed => "store_failed",
        }
    }

    /// Frames that make no sense count toward closing the connection;
    /// refusals of well-formed commands do not.
    fn is_strike(self) -> bool {
        matches!(
            self,
            Self::BadJson | Self::UnknownCommand | Self::BadCommand
        )
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Command {
    Subscribe {
        room: String,
        since: Option<i64>,
    },
    Unsubscribe {
        room: String,
    },
    Send {
        room: String,
        content: String,
        client_id: String,
    },
    Typing {
        room: String,
    },
    Ping,
}

const COMMANDS: [&str; 5] = ["subscribe", "unsubscribe", "send", "typing", "ping"];

/// Per-connection reader state: strikes and the send rate limit.
#[derive(Default)]
pub struct ReaderState {
    strikes: u32,
    tokens: f64,
    refilled: Option<Instant>,
}

impl ReaderState {
    /// Token bucket: `rate` per second, bursts of twice that. 0 disables it.
    fn allow(&mut self, rate: u32) -> bool {
        if rate == 0 {
            return true;
        }
        let burst = 2.0 * f64::from(rate);
        let now = Instant::now();
        let elapsed = self.refilled.map_or(burst, |t| {
            now.duration_since(t).as_secs_f64() * f64::from(rate)
        });
        self.tokens = (self.tokens + elapsed).min(burst);
        self.refilled = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

pub fn error_frame(reference: Option<&Value>, code: ErrorCode, message: &str) -> Message {
    let mut frame = json!({ "type": "error", "code": code.as_str(), "message": message });
    if let Some(r) = reference {
        frame["ref"] = r.clone();
    }
    Message::Text(frame.to_string().into())
}

fn reply(reference: Option<&Value>, mut frame: Value) -> Message {
    if let Some(r) = reference {
        frame["ref"] = r.clone();
    }
    Message::Text(frame.to_string().into())
}

#[derive(Serialize)]
struct MessageFrame<'a> {
    r#type: &'static str,
    id: i64,
    room: &'a str,
    user: &'a str,
    content: &'a str,
    ts: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
}

pub fn message_frame(m: &StoredMessage) -> Utf8Bytes {
    let frame = MessageFrame {
        r#type: "message",
        id: m.id,
        room: &m.room,
        user: &m.author.username,
        content: &m.content,
        ts: m.created_at.to_rfc3339(),
        client_id: m.client_id.as_deref(),
    };
    serde_json::to_string(&frame).unwrap_or_default().into()
}

/// Presence is per user: joins and leaves show only when a user comes
/// online in a room or goes offline there, and never to the user it is about.
/// When several came or went at once, one `presence` frame sums them up.
pub fn shows(event: &Event, me: i64) -> bool {
    if event.is_summarized() {
        return false;
    }
    match &event.kind {
        EventKind::Message(_) => true,
        EventKind::Joined { first, user_id, .. } => *first && *user_id != me,
        EventKind::Left { last, user_id, .. } => *last && *user_id != me,
        EventKind::Typing { user_id, .. } => *user_id != me,
        EventKind::Presence { .. } | EventKind::Roster { .. } => true,
    }
}

pub fn encode(kind: &EventKind) -> Option<Utf8Bytes> {
    let frame = match kind {
        EventKind::Message(m) => return Some(message_frame(m)),
        EventKind::Joined { room, user, .. } => {
            json!({"type": "joined", "room": room, "user": user})
        }
        EventKind::Left { room, user, .. } => json!({"type": "left", "room": room, "user": user}),
        EventKind::Typing { room, user, .. } => {
            json!({"type": "typing", "room": room, "user": user})
        }
        EventKind::Presence { room, user, online } => {
            let kind = if *online { "joined" } else { "left" };
            json!({"type": kind, "room": room, "user": user})
        }
        EventKind::Roster { room, joined, left } => {
            json!({"type": "presence", "room": room, "joined": joined, "left": left})
        }
    };
    Some(frame.to_string().into())
}

/// `/ws/{room}` with v1: subscribed to that room from the start.
pub async fn open(session: &mut Session, room: Room) {
    subscribe_to(session, room, None, None).await;
}

async fn subscribe_to(
    session: &mut Session,
    room: Room,
    since: Option<i64>,
    reference: Option<Value>,
) {
    let replay = since.map(|since| {
        Outbound::Replay(Box::new(Replay {
            room: room.name.clone(),
            room_id: room.id,
            since,
        }))
    });
    let name = room.name.clone();
    if session.rooms.contains_key(&name) {
        let presence = session.state.chat.presence(&name).await;
        session.send(subscribed(reference.as_ref(), &name, presence));
        if let Some(replay) = replay {
            session.outbox.push(replay);
        }
        return;
    }
    // With several nodes, the snapshot must include who is on the others.
    session.state.chat.refresh_remote_presence(&name).await;
    session
        .join(room, move |snapshot| {
            let mut greeting = vec![Outbound::Frame(Box::new(subscribed(
                reference.as_ref(),
                &name,
                snapshot.names(),
            )))];
            greeting.extend(replay);
            greeting
        })
        .await;
}

fn subscribed(reference: Option<&Value>, room: &str, presence: Vec<String>) -> Message {
    reply(
        reference,
        json!({"type": "subscribed", "room": room, "presence": presence}),
    )
}

pub async fn on_text(session: &mut Session, text: Utf8Bytes) {
    let value: Value = match serde_json::from_str(text.as_str()) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return refuse(
                session,
                None,
                ErrorCode::BadJson,
                "frame is not a JSON object",
            );
        }
    };
    let reference = value.get("ref").cloned();
    let known = value
        .get("type")
        .and_then(Value::as_str)
        .is_some_and(|t| COMMANDS.contains(&t));
    if !known {
        return refuse(
            session,
            reference,
            ErrorCode::UnknownCommand,
            "unknown or missing \"type\"",
        );
    }
    let command: Command = match serde_json::from_value(value) {
        Ok(c) => c,
        Err(err) => return refuse(session, reference, ErrorCode::BadCommand, &err.to_string()),
    };
    session.v1.strikes = 0;
    match command {
        Command::Ping => session.send(reply(reference.as_ref(), json!({"type": "pong"}))),
        Command::Subscribe { room, since } => subscribe(session, reference, room, since).await,
        Command::Unsubscribe { room } => {
            if session.leave(&room).await {
                session.send(reply(
                    reference.as_ref(),
                    json!({"type": "unsubscribed", "room": room}),
                ));
            } else {
                refuse(
                    session,
                    reference,
                    ErrorCode::NotSubscribed,
                    "not subscribed to this room",
                );
            }
        }
        Command::Typing { room } => {
            if !session.rooms.contains_key(&room) {
                return refuse(
                    session,
                    reference,
                    ErrorCode::NotSubscribed,
                    "not subscribed to this room",
                );
            }
            if !session.v1.allow(session.state.config.rate_limit) {
                return refuse(session, reference, ErrorCode::RateLimited, "slow down");
            }
            let user = session.user.clone();
            session.state.chat.typing(&room, &user).await;
        }
        Command::Send {
            room,
            content,
            client_id,
        } => send(session, reference, room, content, client_id).await,
    }
}

async fn subscribe(
    session: &mut Session,
    reference: Option<Value>,
    room: String,
    since: Option<i64>,
) {
    if since.is_some_and(|s| s < 0) {
        return refuse(
            session,
            reference,
            ErrorCode::BadCommand,
            "since must be 0 or more",
        );
    }
    let Ok(room) = RoomName::parse(&room) else {
        return refuse(session, reference, ErrorCode::UnknownRoom, "no such room");
    };
    match session.state.store.room(&room).await {
        Ok(Some(found)) => subscribe_to(session, found, since, reference).await,
        Ok(None) => refuse(session, reference, ErrorCode::UnknownRoom, "no such room"),
        Err(err) => {
            tracing::error!(error = %err, "room lookup failed");
            refuse(
                session,
                reference,
                ErrorCode::StoreFailed,
                "could not look the room up; try again",
            )
        }
    }
}

async fn send(
    session: &mut Session,
    reference: Option<Value>,
    room: String,
    content: String,
    client_id: String,
) {
    let Some(room) = session.rooms.get(&room).cloned() else {
        return refuse(
            session,
            reference,
            ErrorCode::NotSubscribed,
            "not subscribed to this room",
        );
    };
    if client_id.is_empty() || client_id.len() > MAX_CLIENT_ID {
        return refuse(
            session,
            reference,
            ErrorCode::BadCommand,
            "client_id must be 1-128 bytes",
        );
    }
    if content.trim().is_empty() {
        return refuse(
            session,
            reference,
            ErrorCode::EmptyMessage,
            "content is empty",
        );
    }
    let max = session.state.config.max_message_bytes;
    if content.len() > max {
        let why = format!("content is over {max} bytes");
        return refuse(session, reference, ErrorCode::TooLarge, &why);
    }
    if !session.v1.allow(session.state.config.rate_limit) {
        return refuse(session, reference, ErrorCode::RateLimited, "slow down");
    }
    let posted = session
        .state
        .chat
        .post(&room, &session.user, content, Some(client_id.clone()))
        .await;
    let stored = match posted {
        Ok(stored) => stored,
        Err(err) => return refuse(session, reference, ErrorCode::StoreFailed, &err.to_string()),
    };
    session.pending.push_back(Box::pin(async move {
        let frame = match stored.await {
            Ok(Ok(posted)) => {
                let mut ack = json!({
                    "type": "ack",
                    "client_id": client_id,
                    "room": posted.message.room,
                    "id": posted.message.id,
                    "ts": posted.message.created_at.to_rfc3339(),
                });
                if posted.duplicate {
                    ack["duplicate"] = Value::Bool(true);
                }
                ack
            }
            Ok(Err(err)) => return Some(store_failed(reference.as_ref(), &client_id, &err)),
            Err(_) => {
                return Some(store_failed(
                    reference.as_ref(),
                    &client_id,
                    &PostError::ShuttingDown,
                ));
            }
        };
        Some(reply(reference.as_ref(), frame))
    }));
}

fn store_failed(reference: Option<&Value>, client_id: &str, err: &PostError) -> Message {
    let mut frame = json!({
        "type": "error",
        "code": ErrorCode::StoreFailed.as_str(),
        "message": format!("message not stored ({err}); resend it with the same client_id"),
        "client_id": client_id,
    });
    if let Some(r) = reference {
        frame["ref"] = r.clone();
    }
    Message::Text(frame.to_string().into())
}

fn refuse(session: &mut Session, reference: Option<Value>, code: ErrorCode, message: &str) {
    session.send(error_frame(reference.as_ref(), code, message));
    if code.is_strike() {
        session.v1.strikes += 1;
        if session.v1.strikes >= MAX_STRIKES {
            session
                .closer
                .close(POLICY_VIOLATION, "too many bad commands");
        }
    }
}
