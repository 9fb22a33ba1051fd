//! The chapter's text frames, byte for byte, so that its client.html works
//! unchanged:
//! - on join, to every member (the joiner too): `User 'NAME' joined room 'ROOM'.`
//! - a message: `[ROOM] NAME: TEXT`, to every member, the sender too
//! - on leave, to those who stay: `User 'NAME' left room 'ROOM'.`
//!
//! Joins and leaves are per connection here, as in the chapter: one line
//! each, even when the hub tells several at once.

use super::close::{POLICY_VIOLATION, REMOVED, ROOM_DELETED, TOO_BIG};
use super::reader::Session;
use crate::chat::notice::Notice;
use crate::chat::rooms::RoomError;
use crate::model::{MessageText, Removal, RoomEvent, TextError};
use axum::extract::ws::Utf8Bytes;

/// Frames in a row dropped for the rate limit after which the connection closes (1008).
const MAX_OVERRUNS: u16 = 20;

/// Joins the connection's room. One it may not see is refused as one that
/// does not exist, the chapter's way: close 1008 "Invalid chat room".
pub async fn open(session: &mut Session, room: &str) {
    match session.enter(room, |_, _| Vec::new()).await {
        Ok(()) => {}
        Err(err) => {
            let (code, reason) = refusal(&err);
            session.closer.close(code, reason);
        }
    }
}

/// The close for a room a `/ws/{room}` socket may not join (either protocol).
pub fn refusal(err: &RoomError) -> (u16, &'static str) {
    match err {
        RoomError::Forbidden(_) => (REMOVED, "banned from this room"),
        RoomError::Store(_) | RoomError::Conflict(_) => (
            super::close::INTERNAL,
            "cannot join the room now; try again",
        ),
        _ => (POLICY_VIOLATION, "Invalid chat room"),
    }
}

/// The close a notice about the connection's room calls for, if any: the
/// chapter's client can be told nothing else.
pub fn closes(notice: &Notice) -> Option<(u16, &'static str)> {
    match notice {
        Notice::Removed { why, .. } => Some((
            REMOVED,
            match why {
                Removal::Kicked => "removed from this room",
                Removal::Banned => "banned from this room",
                Removal::Left => "left this room",
            },
        )),
        Notice::RoomRemoved { .. } => Some((ROOM_DELETED, "room deleted")),
        _ => None,
    }
}

/// The chapter's frames are lines of text: a change to a message (an
/// edit, a deletion, a reaction) has no line; a reply shows as a message.
pub fn shows(kind: &RoomEvent) -> bool {
    if let RoomEvent::Message(m) = kind {
        return matches!(m.entry, crate::model::Entry::Message(_));
    }
    !matches!(
        kind,
        RoomEvent::Typing { .. }
            | RoomEvent::Presence { .. }
            | RoomEvent::Roster { .. }
            | RoomEvent::Access { .. }
    )
}

/// A shared event's frame, kept as long as the event: without spare capacity.
pub fn encode(kind: &RoomEvent) -> Option<Utf8Bytes> {
    let mut text = match kind {
        RoomEvent::Message(m) => format!("[{}] {}: {}", m.room, m.author.username, m.content),
        RoomEvent::Joined { room, user, .. } => format!("User '{user}' joined room '{room}'."),
        RoomEvent::Left { room, user, .. } => format!("User '{user}' left room '{room}'."),
        RoomEvent::Typing { .. }
        | RoomEvent::Presence { .. }
        | RoomEvent::Roster { .. }
        | RoomEvent::Access { .. } => {
            return None;
        }
    };
    text.shrink_to_fit();
    Some(text.into())
}

/// A text frame is a message for the connection's room. Blank text, and
/// text with a NUL character, is ignored; a message that cannot be stored
/// is logged and not echoed (this protocol has no way to say more), and the
/// connection stays open.
pub async fn on_text(session: &mut Session, text: Utf8Bytes) {
    let text = match MessageText::parse(
        text.as_str().to_owned(),
        session.state.config.max_message_bytes,
    ) {
        Ok(text) => text,
        Err(TextError::Blank | TextError::Nul) => return,
        Err(TextError::TooLong { .. }) => {
            session.closer.close(TOO_BIG, "message too big");
            return;
        }
    };
    let Some((room, room_id)) = session.rooms.iter().next().map(|(n, id)| (n.clone(), *id)) else {
        return;
    };
    // Muted, or removed a moment ago: dropped, as this protocol drops
    // what it cannot take.
    if session
        .state
        .chat
        .may_speak(&room, session.conn, &session.user)
        .is_err()
    {
        return;
    }
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
    let posted = session
        .state
        .chat
        .post((room_id, &room), &session.user, text, None, None);
    match posted.await {
        Ok(reply) => session.pending.push_back(Box::pin(async move {
            if let Ok(Err(err)) = reply.await {
                tracing::warn!(%user, %room, error = %err, "message not stored, not delivered");
            }
            None
        })),
        Err(err) => tracing::warn!(%user, error = %err, "message not accepted"),
    }
}

/// Properties of the chapter's frames over hostile text (inputs: `crate::fuzz`).
#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::fuzz;
    use crate::model::{StoredMessage, Timestamp, User};
    use proptest::prelude::*;

    fn message(room: String, user: String, content: String) -> RoomEvent {
        RoomEvent::Message(StoredMessage {
            id: 1,
            seq: 1,
            room_id: 1,
            room,
            author: User {
                id: 1,
                username: user,
            },
            content,
            created_at: Timestamp(0),
            client_id: None,
            entry: crate::model::Entry::Message(None),
        })
    }

    fn event() -> impl Strategy<Value = RoomEvent> {
        let name = || fuzz::chars();
        prop_oneof![
            (name(), name(), fuzz::text("chapter_text")).prop_map(|(r, u, c)| message(r, u, c)),
            (name(), name(), any::<bool>()).prop_map(|(room, user, first)| RoomEvent::Joined {
                room,
                user,
                user_id: 1,
                conn: 1,
                first
            }),
            (name(), name(), any::<bool>()).prop_map(|(room, user, last)| RoomEvent::Left {
                room,
                user,
                user_id: 1,
                conn: 1,
                last
            }),
            (name(), name()).prop_map(|(room, user)| RoomEvent::Typing {
                room,
                user,
                user_id: 1
            }),
            (name(), name(), any::<bool>()).prop_map(|(room, user, online)| RoomEvent::Presence {
                room,
                user,
                online
            }),
            (name(), proptest::collection::vec(name(), 0..3)).prop_map(|(room, joined)| {
                RoomEvent::Roster {
                    room,
                    joined,
                    left: vec![],
                }
            }),
        ]
    }

    proptest! {
        /// A stored message goes out as the chapter's line, its text exactly
        /// as accepted, whatever that text holds (a fake `[room] name:`
        /// prefix included: the real prefix always comes first).
        #[test]
        fn a_message_frame_is_the_chapters_line_with_the_text_as_sent(
            user in "[A-Za-z0-9_.-]{3,32}",
            room in "[a-z0-9_-]{1,64}",
            raw in fuzz::text("chapter_text"),
        ) {
            let Ok(text) = MessageText::parse(raw, crate::config::DEFAULT_MAX_MESSAGE_BYTES) else {
                return Ok(());
            };
            let frame = encode(&message(room.clone(), user.clone(), text.as_str().to_owned()))
                .expect("messages are shown");
            let rest = frame.as_str().strip_prefix(&format!("[{room}] {user}: "));
            prop_assert_eq!(rest, Some(text.as_str()));
        }

        /// What the chapter's page is shown is exactly what has a frame.
        #[test]
        fn shown_events_and_only_they_have_a_frame(kind in event()) {
            prop_assert_eq!(shows(&kind), encode(&kind).is_some());
        }
    }
}
