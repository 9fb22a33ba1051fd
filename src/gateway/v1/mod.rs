//! palaver's own protocol, `palaver.v1`: JSON text frames. docs/protocol.md
//! is the reference. `commands` is what clients send, `frames` what the
//! server sends, `handlers` what a command does; this file decides which
//! room events a v1 connection sees and how they look.

mod commands;
pub mod frames;
mod handlers;

pub use handlers::{on_text, open, replay_failed};

use crate::chat::event::Event;
use crate::chat::notice::Notice;
use crate::model::RoomEvent;
use axum::extract::ws::Utf8Bytes;
use frames::{RoomBody, ServerFrame};

/// The capability that replaces several `joined`/`left` events told at
/// once with one `presence` event. Without it a client gets exactly what
/// the first v1 clients were written against: one event per user.
pub const PRESENCE_SUMMARY: &str = "presence_summary";

/// Presence is per user: joins and leaves show only when a user comes
/// online in a room or goes offline there, and never to the user it is
/// about. With `summaries` (the client asked for `presence_summary`), one
/// `presence` frame stands in for the changes it sums up.
pub fn shows(event: &Event, me: i64, summaries: bool) -> bool {
    match &event.kind {
        RoomEvent::Message(_) => true,
        RoomEvent::Typing { user_id, .. } => *user_id != me,
        RoomEvent::Roster { .. } => summaries,
        _ if summaries && event.is_summarized() => false,
        RoomEvent::Joined { first, user_id, .. } => *first && *user_id != me,
        RoomEvent::Left { last, user_id, .. } => *last && *user_id != me,
        RoomEvent::Presence { .. } => true,
        // Applied by the hub; what a connection hears of it is a notice.
        RoomEvent::Access { .. } => false,
    }
}

/// The frame of a notice about one of the user's rooms.
pub fn notice(notice: &Notice) -> String {
    let frame = match notice {
        Notice::RoomAdded(entry) => ServerFrame::RoomAdded {
            room: RoomBody::from(entry),
        },
        Notice::Removed { room, why, reason } => ServerFrame::Removed {
            room,
            reason: *why,
            message: reason.as_deref(),
        },
        Notice::RoomRemoved { room } => ServerFrame::RoomRemoved { room },
        Notice::Muted { room, until } => ServerFrame::Muted {
            room,
            until: *until,
        },
        Notice::Unmuted { room } => ServerFrame::Unmuted { room },
        Notice::Topic { room, topic } => ServerFrame::RoomUpdated { room, topic },
    };
    frame.encode()
}

/// The notice a connection gets before its access token expires.
pub fn renew_notice(expires_in_ms: u64) -> String {
    ServerFrame::AuthExpiring { expires_in_ms }.encode()
}

/// A stored entry's frame, for one connection (a replay): a message shows
/// its reactions as that connection's user sees them.
pub fn message_frame(m: &crate::model::StoredMessage) -> Utf8Bytes {
    let reactions = frames::reactions_of(m);
    frames::entry_frame(m, &reactions).encode().into()
}

/// A shared event's frame: kept in the event's cache for as long as any
/// queue holds the event, so without the spare capacity serializing leaves
/// (up to as much again as the frame).
pub fn encode(kind: &RoomEvent) -> Option<Utf8Bytes> {
    let frame = match kind {
        // A live message has no reactions yet: one frame fits everyone.
        RoomEvent::Message(m) => frames::entry_frame(m, &[]),
        RoomEvent::Joined { room, user, .. } => ServerFrame::Joined { room, user },
        RoomEvent::Left { room, user, .. } => ServerFrame::Left { room, user },
        RoomEvent::Typing { room, user, .. } => ServerFrame::Typing { room, user },
        RoomEvent::Presence { room, user, online } => match online {
            true => ServerFrame::Joined { room, user },
            false => ServerFrame::Left { room, user },
        },
        RoomEvent::Roster { room, joined, left } => ServerFrame::Presence { room, joined, left },
        RoomEvent::Access { .. } => return None,
    };
    let mut text = frame.encode();
    text.shrink_to_fit();
    Some(text.into())
}
