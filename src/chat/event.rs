//! What the hub hands to connections. An `Event` is shared by every recipient
//! (`Arc`) and carries a cache of its encoded frames, one slot per wire format,
//! so that a message is encoded once per format, never once per recipient.

use super::model::StoredMessage;
use axum::extract::ws::Utf8Bytes;
use std::sync::OnceLock;

/// Identifies one WebSocket connection within this node.
pub type ConnId = u64;

/// How many wire formats exist (see `gateway::Protocol`).
pub const WIRE_FORMATS: usize = 2;

#[derive(Debug)]
pub enum EventKind {
    Message(StoredMessage),
    /// A connection entered a room. `first` is true when it is the user's
    /// only connection there, i.e. the user just came online in the room.
    Joined {
        room: String,
        user: String,
        user_id: i64,
        conn: ConnId,
        first: bool,
    },
    /// A connection left a room; `last` when the user has none left there.
    Left {
        room: String,
        user: String,
        user_id: i64,
        conn: ConnId,
        last: bool,
    },
    Typing {
        room: String,
        user: String,
        user_id: i64,
    },
    /// A user came online in a room, or went offline, on other nodes only.
    Presence {
        room: String,
        user: String,
        online: bool,
    },
}

#[derive(Debug)]
pub struct Event {
    pub kind: EventKind,
    frames: [OnceLock<Option<Utf8Bytes>>; WIRE_FORMATS],
}

impl Event {
    pub fn new(kind: EventKind) -> Self {
        Self {
            kind,
            frames: Default::default(),
        }
    }

    pub fn room(&self) -> &str {
        match &self.kind {
            EventKind::Message(m) => &m.room,
            EventKind::Joined { room, .. }
            | EventKind::Left { room, .. }
            | EventKind::Typing { room, .. }
            | EventKind::Presence { room, .. } => room,
        }
    }

    /// The frame for wire format `slot`, encoded by the first recipient that
    /// asks and shared with all others. `None`: this format does not show the event.
    pub fn frame(
        &self,
        slot: usize,
        encode: impl FnOnce(&EventKind) -> Option<Utf8Bytes>,
    ) -> Option<Utf8Bytes> {
        self.frames[slot].get_or_init(|| encode(&self.kind)).clone()
    }
}
