//! What the hub hands to connections. An `Event` is shared by every recipient
//! (`Arc`) and carries a cache of its encoded frames, one slot per wire format,
//! so that a message is encoded once per format, never once per recipient.

use super::model::StoredMessage;
use axum::extract::ws::Utf8Bytes;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

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
    /// The net effect of several presence changes told to a room at once
    /// (see `hub::PRESENCE_TICK`): who came online and who went offline.
    /// It stands in for the changes it sums up in formats that show it.
    Roster {
        room: String,
        joined: Vec<String>,
        left: Vec<String>,
    },
}

impl EventKind {
    /// Joins, leaves and presence changes: told to a room in coalesced
    /// batches rather than one by one.
    pub fn is_presence(&self) -> bool {
        matches!(
            self,
            Self::Joined { .. } | Self::Left { .. } | Self::Presence { .. }
        )
    }
}

#[derive(Debug)]
pub struct Event {
    pub kind: EventKind,
    frames: [OnceLock<Option<Utf8Bytes>>; WIRE_FORMATS],
    /// Set (before the event is handed out) when a `Roster` in the same
    /// batch sums this change up.
    summarized: AtomicBool,
}

impl Event {
    pub fn new(kind: EventKind) -> Self {
        Self {
            kind,
            frames: Default::default(),
            summarized: AtomicBool::new(false),
        }
    }

    /// Marks the event as summed up by a `Roster` of its batch. Only the hub
    /// calls it, before any connection can see the event.
    pub fn mark_summarized(&self) {
        self.summarized.store(true, Ordering::Relaxed);
    }

    pub fn is_summarized(&self) -> bool {
        self.summarized.load(Ordering::Relaxed)
    }

    pub fn room(&self) -> &str {
        match &self.kind {
            EventKind::Message(m) => &m.room,
            EventKind::Joined { room, .. }
            | EventKind::Left { room, .. }
            | EventKind::Typing { room, .. }
            | EventKind::Presence { room, .. }
            | EventKind::Roster { room, .. } => room,
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
