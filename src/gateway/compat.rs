//! The chapter's text frames, byte for byte, so that its client.html works
//! unchanged:
//! - on join, to every member (the joiner too): `User 'NAME' joined room 'ROOM'.`
//! - a message: `[ROOM] NAME: TEXT`, to every member, the sender too
//! - on leave, to those who stay: `User 'NAME' left room 'ROOM'.`
//!
//! Joins and leaves are per connection here, as in the chapter: one line
//! each, even when the hub tells several at once.

use super::close::{POLICY_VIOLATION, TOO_BIG};

/// Frames in a row dropped for the rate limit after which the connection closes (1008).
const MAX_OVERRUNS: u32 = 20;
use super::reader::Session;
use crate::model::{MessageText, Room, RoomEvent, TextError};
use axum::extract::ws::Utf8Bytes;

pub async fn open(session: &mut Session, room: Room) {
    session.join(room, |_| Vec::new()).await;
}

pub fn shows(kind: &RoomEvent) -> bool {
    !matches!(
        kind,
        RoomEvent::Typing { .. } | RoomEvent::Presence { .. } | RoomEvent::Roster { .. }
    )
}

/// A shared event's frame, kept as long as the event: without spare capacity.
pub fn encode(kind: &RoomEvent) -> Option<Utf8Bytes> {
    let mut text = match kind {
        RoomEvent::Message(m) => format!("[{}] {}: {}", m.room, m.author.username, m.content),
        RoomEvent::Joined { room, user, .. } => format!("User '{user}' joined room '{room}'."),
        RoomEvent::Left { room, user, .. } => format!("User '{user}' left room '{room}'."),
        RoomEvent::Typing { .. } | RoomEvent::Presence { .. } | RoomEvent::Roster { .. } => {
            return None;
        }
    };
    text.shrink_to_fit();
    Some(text.into())
}

/// A text frame is a message for the connection's room. Blank text is
/// ignored; a message that cannot be stored is logged and not echoed (this
/// protocol has no way to say more), and the connection stays open.
pub async fn on_text(session: &mut Session, text: Utf8Bytes) {
    let text = match MessageText::parse(
        text.as_str().to_owned(),
        session.state.config.max_message_bytes,
    ) {
        Ok(text) => text,
        Err(TextError::Blank) => return,
        Err(TextError::TooLong { .. }) => {
            session.closer.close(TOO_BIG, "message too big");
            return;
        }
    };
    let Some(room) = session.rooms.values().next().cloned() else {
        return;
    };
    // Over the user's budget: dropped (this protocol cannot say so), and a
    // client that keeps at it is closed.
    if session.state.rates.send(session.user.id).is_err() {
        session.tally.overruns += 1;
        if session.tally.overruns >= MAX_OVERRUNS {
            session.closer.close(POLICY_VIOLATION, "sending too fast");
        }
        return;
    }
    session.tally.overruns = 0;
    let user = session.user.username.clone();
    match session.state.chat.post(&room, &session.user, text, None).await {
        Ok(reply) => session.pending.push_back(Box::pin(async move {
            if let Ok(Err(err)) = reply.await {
                tracing::warn!(%user, room = %room.name, error = %err, "message not stored, not delivered");
            }
            None
        })),
        Err(err) => tracing::warn!(%user, error = %err, "message not accepted"),
    }
}
