//! What each palaver.v1 command does: check it, call the chat core, and
//! queue the answer (an ack waits for its message to be stored).

use super::PRESENCE_SUMMARY;
use super::commands::{self, Command, Refusal};
use super::frames::{ErrorCode, ServerFrame};
use crate::auth::AuthError;
use crate::chat::Silenced;
use crate::chat::changes::{ActError, Action};
use crate::chat::outbox::{Outbound, Replay};
use crate::chat::publisher::{PostError, Posted};
use crate::chat::rooms::{Actor, RoomError};
use crate::gateway::close::POLICY_VIOLATION;
use crate::gateway::reader::Session;
use crate::gateway::writer::unix_ms;
use crate::model::{Emoji, MessageText, TextError, Timestamp};
use crate::store::Refusal as Rule;
use axum::extract::ws::Utf8Bytes;
use serde_json::Value;

/// Bad frames in a row after which the connection is closed (1008).
const MAX_STRIKES: u16 = 10;
/// Longest accepted `client_id`.
const MAX_CLIENT_ID: usize = 128;

/// `/ws/{room}` with v1: subscribed to that room from the start, or
/// closed as the chapter's protocol is when it may not be.
pub async fn open(session: &mut Session, room: &str) {
    if let Err(err) = subscribe_to(session, room, None, None).await {
        let (code, reason) = crate::gateway::compat::refusal(&err);
        session.closer.close(code, reason);
    }
}

pub async fn on_text(session: &mut Session, text: Utf8Bytes) {
    let (reference, command) = commands::decode(text.as_str());
    let command = match command {
        Ok(command) => command,
        Err(Refusal { code, message }) => return refuse(session, reference, code, message),
    };
    session.tally.strikes = 0;
    match command {
        Command::Ping => session.send(ServerFrame::Pong.reply(reference.as_ref())),
        Command::Hello { capabilities } => hello(session, reference, &capabilities),
        Command::Subscribe { room, since } => subscribe(session, reference, room, since).await,
        Command::Unsubscribe { room } => {
            if session.leave(&room).await {
                let frame = ServerFrame::Unsubscribed { room: &room };
                session.send(frame.reply(reference.as_ref()));
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
            if let Err(silenced) = may_speak(session, &room) {
                return silent(session, reference, silenced, None);
            }
            if let Err(wait) = session.state.rates.send(session.user.id) {
                return rate_limited(session, reference, wait);
            }
            let user = session.user.clone();
            session.state.chat.typing(&room, &user).await;
        }
        Command::Send {
            room,
            content,
            client_id,
            reply_to,
        } => send(session, reference, room, content, client_id, reply_to).await,
        Command::Edit {
            room,
            id,
            content,
            client_id,
        } => {
            let action = text_of(session, content).map(Action::Edit);
            act(session, reference, room, id, action, client_id).await;
        }
        Command::Delete {
            room,
            id,
            client_id,
        } => act(session, reference, room, id, Ok(Action::Delete), client_id).await,
        Command::React {
            room,
            id,
            emoji,
            client_id,
        } => {
            let action = emoji_of(&emoji).map(Action::React);
            act(session, reference, room, id, action, client_id).await;
        }
        Command::Unreact {
            room,
            id,
            emoji,
            client_id,
        } => {
            let action = emoji_of(&emoji).map(Action::Unreact);
            act(session, reference, room, id, action, client_id).await;
        }
        Command::Auth { token } => renew(session, reference, &token).await,
    }
}

/// A fresh access token for the same login session extends the
/// connection's life; anything else changes nothing. Checked as any token
/// is (signature, expiry, session still open), so an ended session cannot
/// be revived on an open socket.
async fn renew(session: &mut Session, reference: Option<Value>, token: &str) {
    // Each costs a read of the store: the send budget paces them.
    if let Err(wait) = session.state.rates.send(session.user.id) {
        return rate_limited(session, reference, wait);
    }
    let caller = match session.state.accounts.authenticate(Some(token)).await {
        Ok(caller) if caller.user.id == session.user.id && caller.session == session.login => {
            caller
        }
        Ok(_) => {
            return refuse(
                session,
                reference,
                ErrorCode::AuthFailed,
                "token belongs to another session; open a new connection with it",
            );
        }
        Err(AuthError::Store(err)) => {
            tracing::warn!(error = %err, "cannot check a renewed token");
            return refuse(
                session,
                reference,
                ErrorCode::AuthFailed,
                "cannot check the token now; try again",
            );
        }
        Err(_) => {
            return refuse(
                session,
                reference,
                ErrorCode::AuthFailed,
                "token is not valid (expired, or its session ended)",
            );
        }
    };
    let now = unix_ms();
    session.activity.expire_at(caller.expires_at, now);
    let expires_in = caller.expires_at.saturating_sub(now / 1000);
    session.send(ServerFrame::Authenticated { expires_in }.reply(reference.as_ref()));
}

/// Grants the capabilities asked for that this server has; the answer is
/// queued before the change takes effect, and everything after it follows it.
fn hello(session: &mut Session, reference: Option<Value>, asked: &[String]) {
    let summaries = asked.iter().any(|c| c == PRESENCE_SUMMARY);
    let capabilities = if summaries {
        vec![PRESENCE_SUMMARY]
    } else {
        Vec::new()
    };
    session.send(ServerFrame::Hello { capabilities }.reply(reference.as_ref()));
    if summaries {
        session.outbox.push(Outbound::PresenceSummaries);
    }
}

async fn subscribe_to(
    session: &mut Session,
    name: &str,
    since: Option<i64>,
    reference: Option<Value>,
) -> Result<(), RoomError> {
    let conn = session.conn;
    let replay = move |room: &str, room_id: i64| {
        since.map(|since| {
            Outbound::Replay(Box::new(Replay {
                room: room.to_owned(),
                room_id,
                since,
                conn,
            }))
        })
    };
    if session.is_in(name) {
        // Asked again. Had the user lost the room, a moderator's change
        // would have taken the connection out of it.
        let presence = session.state.chat.online(name).await;
        session.send(subscribed(reference.as_ref(), name, &presence));
        if let Some(replay) = session.rooms.get(name).and_then(|id| replay(name, *id)) {
            session.outbox.push(replay);
        }
        return Ok(());
    }
    session
        .enter(name, move |room, presence| {
            let mut greeting = vec![Outbound::Frame(
                subscribed(reference.as_ref(), &room.name, &presence).into(),
            )];
            greeting.extend(replay(&room.name, room.id));
            greeting
        })
        .await
}

fn subscribed(reference: Option<&Value>, room: &str, presence: &[String]) -> String {
    ServerFrame::Subscribed { room, presence }.reply(reference)
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
    match subscribe_to(session, &room, since, reference.clone()).await {
        Ok(()) => {}
        Err(RoomError::NotFound) => {
            refuse(session, reference, ErrorCode::UnknownRoom, "no such room");
        }
        Err(RoomError::Forbidden(message)) => {
            refuse(session, reference, ErrorCode::Forbidden, message);
        }
        Err(RoomError::Store(err)) => {
            tracing::error!(error = %err, "room lookup failed");
            refuse(
                session,
                reference,
                ErrorCode::StoreFailed,
                "could not look the room up; try again",
            );
        }
        Err(err) => {
            tracing::warn!(error = %err, "subscribe refused");
            refuse(
                session,
                reference,
                ErrorCode::StoreFailed,
                "could not subscribe now; try again",
            );
        }
    }
}

/// Whether the connection may send or type in `room` now: one look at the
/// room under its lock, no read of the store.
fn may_speak(session: &mut Session, room: &str) -> Result<(), Silenced> {
    if !session.rooms.contains_key(room) {
        return Err(Silenced::NotIn);
    }
    let verdict = session
        .state
        .chat
        .may_speak(room, session.conn, &session.user);
    if verdict == Err(Silenced::NotIn) {
        // A moderator took the connection out since it joined.
        session.rooms.remove(room);
    }
    verdict
}

/// Refuses a send or a typing notice the connection may not make.
fn silent(
    session: &mut Session,
    reference: Option<Value>,
    silenced: Silenced,
    client_id: Option<&str>,
) {
    let (code, message) = match silenced {
        Silenced::NotIn => (
            ErrorCode::NotSubscribed,
            "not subscribed to this room".to_owned(),
        ),
        Silenced::Muted(until) => (ErrorCode::Muted, muted_words(until)),
    };
    session.send(error_frame(reference.as_ref(), code, &message, client_id));
}

/// Why a command's field was refused: its code and words.
type FieldRefusal = (ErrorCode, String);

/// A message's text, by the rules of a send.
fn text_of(session: &Session, content: String) -> Result<MessageText, FieldRefusal> {
    MessageText::parse(content, session.state.config.max_message_bytes).map_err(|err| {
        let code = match err {
            TextError::Blank => ErrorCode::EmptyMessage,
            TextError::TooLong { .. } => ErrorCode::TooLarge,
            TextError::Nul => ErrorCode::BadCommand,
        };
        (code, err.to_string())
    })
}

fn emoji_of(raw: &str) -> Result<Emoji, FieldRefusal> {
    Emoji::parse(raw).map_err(|err| (ErrorCode::BadEmoji, err.0))
}

/// A client id is stored with what it names: 1-128 bytes, no NUL.
fn check_client_id(client_id: &str) -> Result<(), &'static str> {
    if client_id.is_empty() || client_id.len() > MAX_CLIENT_ID {
        return Err("client_id must be 1-128 bytes");
    }
    if client_id.contains('\0') {
        return Err("client_id must not contain NUL characters");
    }
    Ok(())
}

async fn send(
    session: &mut Session,
    reference: Option<Value>,
    room: String,
    content: String,
    client_id: String,
    reply_to: Option<i64>,
) {
    if let Err(silenced) = may_speak(session, &room) {
        return silent(session, reference, silenced, Some(&client_id));
    }
    let Some(room_id) = session.rooms.get(&room).copied() else {
        return refuse(
            session,
            reference,
            ErrorCode::NotSubscribed,
            "not subscribed to this room",
        );
    };
    if let Err(message) = check_client_id(&client_id) {
        return refuse(session, reference, ErrorCode::BadCommand, message);
    }
    let text = match text_of(session, content) {
        Ok(text) => text,
        Err((code, message)) => return refuse(session, reference, code, &message),
    };
    if let Err(wait) = session.state.rates.send(session.user.id) {
        return rate_limited(session, reference, wait);
    }
    let posted = session
        .state
        .chat
        .post(
            (room_id, &room),
            &session.user,
            text,
            Some(client_id.clone()),
            reply_to,
        )
        .await;
    let stored = match posted {
        Ok(stored) => stored,
        Err(err) => {
            tracing::warn!(error = %err, "message not accepted");
            let frame = store_failed(reference.as_ref(), &client_id);
            return session.send(frame);
        }
    };
    session.pending.push_back(Box::pin(async move {
        let (message, duplicate) = match stored.await {
            Ok(Ok(Posted::Stored { message, duplicate })) => (message, duplicate),
            Ok(Ok(_)) => {
                // The only refusal a send can meet: what it answers is not there.
                return Some(error_frame(
                    reference.as_ref(),
                    ErrorCode::NotFound,
                    "the message replied to is not in this room",
                    Some(&client_id),
                ));
            }
            Ok(Err(err)) => {
                // The cause is for the log; the client is told what to do.
                tracing::warn!(error = %err, client_id, "message not stored");
                return Some(store_failed(reference.as_ref(), &client_id));
            }
            Err(_) => {
                tracing::warn!(error = %PostError::ShuttingDown, client_id, "message not stored");
                return Some(store_failed(reference.as_ref(), &client_id));
            }
        };
        let ack = ServerFrame::Ack {
            action: None,
            client_id: Some(&client_id),
            room: &message.room,
            id: message.id,
            stream_id: None,
            ts: message.created_at,
            duplicate,
        };
        Some(ack.reply(reference.as_ref()))
    }));
}

/// An edit, a deletion or a reaction: acknowledged once stored (and
/// delivered here), like a send.
async fn act(
    session: &mut Session,
    reference: Option<Value>,
    room: String,
    id: i64,
    action: Result<Action, FieldRefusal>,
    client_id: Option<String>,
) {
    if let Some(Err(message)) = client_id.as_deref().map(check_client_id) {
        return refuse(session, reference, ErrorCode::BadCommand, message);
    }
    let cid = client_id.as_deref();
    if !session.rooms.contains_key(&room) || !session.state.chat.holds(&room, session.conn) {
        session.rooms.remove(&room);
        let frame = error_frame(
            reference.as_ref(),
            ErrorCode::NotSubscribed,
            "not subscribed to this room",
            cid,
        );
        return session.send(frame);
    }
    let action = match action {
        Ok(action) => action,
        Err((code, message)) => {
            return session.send(error_frame(reference.as_ref(), code, &message, cid));
        }
    };
    if let Err(wait) = session.state.rates.send(session.user.id) {
        return rate_limited(session, reference, wait);
    }
    let name = action.as_str();
    let actor = Actor {
        user: &session.user,
        admin: session.admin,
    };
    let asked = session
        .state
        .chat
        .act(actor, &room, id, action, client_id.clone())
        .await;
    let stored = match asked {
        Ok(stored) => stored,
        Err(err) => {
            let (code, message) = match err {
                ActError::Room(RoomError::NotFound) => {
                    (ErrorCode::UnknownRoom, "no such room".to_owned())
                }
                ActError::Room(RoomError::Forbidden(message)) => {
                    (ErrorCode::Forbidden, message.to_owned())
                }
                ActError::Muted { until } => (ErrorCode::Muted, muted_words(until)),
                err => {
                    tracing::warn!(error = %err, "change not accepted");
                    (ErrorCode::StoreFailed, NOT_STORED.to_owned())
                }
            };
            return session.send(error_frame(reference.as_ref(), code, &message, cid));
        }
    };
    session.pending.push_back(Box::pin(async move {
        let cid = client_id.as_deref();
        let (stream_id, ts, duplicate) = match stored.await {
            Ok(Ok(Posted::Stored { message, duplicate })) => {
                (Some(message.id), message.created_at, duplicate)
            }
            Ok(Ok(Posted::Unchanged { .. })) => (None, Timestamp::now(), false),
            Ok(Ok(Posted::Refused(refusal))) => {
                let (code, message) = match refusal {
                    Rule::NotFound => (ErrorCode::NotFound, "no such message in this room"),
                    Rule::NotAuthor => (
                        ErrorCode::Forbidden,
                        match name {
                            "edit" => "only its author may edit a message",
                            _ => "only its author or a moderator may delete a message",
                        },
                    ),
                    Rule::TooLate => (ErrorCode::TooLate, "the edit window has passed"),
                    Rule::TooManyReactions => (
                        ErrorCode::TooManyReactions,
                        "this message has too many different reactions",
                    ),
                };
                return Some(error_frame(reference.as_ref(), code, message, cid));
            }
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "change not stored");
                return Some(error_frame(
                    reference.as_ref(),
                    ErrorCode::StoreFailed,
                    NOT_STORED,
                    cid,
                ));
            }
            Err(_) => {
                return Some(error_frame(
                    reference.as_ref(),
                    ErrorCode::StoreFailed,
                    NOT_STORED,
                    cid,
                ));
            }
        };
        let ack = ServerFrame::Ack {
            action: Some(name),
            client_id: cid,
            room: &room,
            id,
            stream_id,
            ts,
            duplicate,
        };
        Some(ack.reply(reference.as_ref()))
    }));
}

const NOT_STORED: &str = "not stored; send it again (with the same client_id)";

fn muted_words(until: Option<Timestamp>) -> String {
    match until {
        None => "you are muted in this room".to_owned(),
        Some(until) => format!("you are muted in this room until {}", until.to_rfc3339()),
    }
}

/// Over the user's budget: `retry_after_ms` says when the next one may go.
fn rate_limited(session: &mut Session, reference: Option<Value>, wait: std::time::Duration) {
    let frame = ServerFrame::Error {
        code: ErrorCode::RateLimited,
        message: "slow down",
        client_id: None,
        retry_after_ms: Some(u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1)),
    };
    session.send(frame.reply(reference.as_ref()));
}

fn error_frame(
    reference: Option<&Value>,
    code: ErrorCode,
    message: &str,
    client_id: Option<&str>,
) -> String {
    ServerFrame::Error {
        code,
        message,
        client_id,
        retry_after_ms: None,
    }
    .reply(reference)
}

fn store_failed(reference: Option<&Value>, client_id: &str) -> String {
    error_frame(
        reference,
        ErrorCode::StoreFailed,
        "message not stored; resend it with the same client_id",
        Some(client_id),
    )
}

fn refuse(session: &mut Session, reference: Option<Value>, code: ErrorCode, message: &str) {
    session.send(error_frame(reference.as_ref(), code, message, None));
    if code.is_strike() {
        session.tally.strikes += 1;
        if session.tally.strikes >= MAX_STRIKES {
            session
                .closer
                .close(POLICY_VIOLATION, "too many bad commands");
        }
    }
}

/// The frame the writer sends when a replay could not read the store.
pub fn replay_failed() -> String {
    error_frame(
        None,
        ErrorCode::StoreFailed,
        "could not read history; subscribe again",
        None,
    )
}
