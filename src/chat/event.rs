//! What the hub hands to connections. An `Event` is shared by every recipient
//! (`Arc`) and carries a cache of its encodings, one slot per wire format, so
//! that a message is encoded once per format, never once per recipient. What
//! an encoding looks like is the gateway's business: the core only keeps it.

use crate::model::RoomEvent;
use std::any::Any;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// How many wire formats may cache an encoding (see `gateway::Protocol`).
pub const ENCODINGS: usize = 2;

type Encoding = Option<Box<dyn Any + Send + Sync>>;

#[derive(Debug)]
pub struct Event {
    pub kind: RoomEvent,
    encodings: [OnceLock<Encoding>; ENCODINGS],
    /// Set (before the event is handed out) when a `Roster` in the same
    /// batch sums this change up.
    summarized: AtomicBool,
}

impl Event {
    pub fn new(kind: RoomEvent) -> Self {
        Self {
            kind,
            encodings: Default::default(),
            summarized: AtomicBool::new(false),
        }
    }

    /// Marks the event as summed up by a `Roster` of its batch. Only the hub
    /// calls it, before any connection can see the event.
    pub(super) fn mark_summarized(&self) {
        self.summarized.store(true, Ordering::Relaxed);
    }

    /// True when a `Roster` delivered with this event sums it up: a format
    /// that shows the roster can leave this one out.
    pub fn is_summarized(&self) -> bool {
        self.summarized.load(Ordering::Relaxed)
    }

    pub fn room(&self) -> &str {
        self.kind.room()
    }

    /// The encoding in slot `format`, made by the first recipient that asks
    /// and shared with all others. `None`: this format does not show the
    /// event. A slot holds one type; asking for another yields `None`.
    pub fn encoded<T: Clone + Send + Sync + 'static>(
        &self,
        format: usize,
        encode: impl FnOnce(&RoomEvent) -> Option<T>,
    ) -> Option<T> {
        self.encodings
            .get(format)?
            .get_or_init(|| {
                encode(&self.kind).map(|frame| Box::new(frame) as Box<dyn Any + Send + Sync>)
            })
            .as_ref()?
            .downcast_ref::<T>()
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_encoded_once_per_format() {
        let event = Event::new(RoomEvent::Typing {
            room: "r".into(),
            user: "u".into(),
            user_id: 1,
        });
        let mut calls = 0;
        for _ in 0..3 {
            let frame = event.encoded(1, |_| {
                calls += 1;
                Some(String::from("frame"))
            });
            assert_eq!(frame.as_deref(), Some("frame"));
        }
        assert_eq!(calls, 1);
        assert_eq!(event.encoded::<String>(0, |_| None), None);
        assert_eq!(event.encoded(ENCODINGS, |_| Some(1u8)), None);
    }
}
