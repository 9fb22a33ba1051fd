//! What one user's connections are told about their rooms, apart from the
//! rooms' own events: a room they were added to or removed from, a mute.
//! Rare, so each is made for the connections it concerns and encoded by
//! each gateway in its own way (the chapter's protocol can only close).

pub use crate::model::RoomEntry;
use crate::model::{Removal, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The user is now a member of this room (invited, a new direct room,
    /// joined elsewhere).
    RoomAdded(RoomEntry),
    /// The connection is no longer in `room`.
    Removed {
        room: String,
        why: Removal,
        reason: Option<String>,
    },
    /// The room was deleted.
    RoomRemoved {
        room: String,
    },
    Muted {
        room: String,
        until: Option<Timestamp>,
    },
    Unmuted {
        room: String,
    },
    /// The room's topic changed.
    Topic {
        room: String,
        topic: String,
    },
}

impl Notice {
    /// The room it is about.
    pub fn room(&self) -> &str {
        match self {
            Self::RoomAdded(entry) => &entry.name,
            Self::Removed { room, .. }
            | Self::RoomRemoved { room }
            | Self::Muted { room, .. }
            | Self::Unmuted { room }
            | Self::Topic { room, .. } => room,
        }
    }

    /// What a queue holding it keeps alive, roughly: it is rare and small.
    pub fn bytes(&self) -> u64 {
        let words = match self {
            Self::RoomAdded(entry) => {
                entry.topic.len() + entry.others.iter().map(|n| n.len() + 32).sum::<usize>()
            }
            Self::Removed { reason, .. } => reason.as_ref().map_or(0, String::len),
            Self::Topic { topic, .. } => topic.len(),
            _ => 0,
        };
        (256 + self.room().len() + words) as u64
    }
}
