//! What the hub hands to connections. An `Event` is shared by every recipient
//! (`Arc`) and carries a cache of its encodings, one slot per wire format, so
//! that a message is encoded once per format, never once per recipient. What
//! an encoding looks like is the gateway's business: the core only keeps it.
//!
//! An event also knows, from the moment it is made, what holding it costs
//! (`bytes`): connections' queues are bounded in bytes, and the push into a
//! queue must not have to encode or measure anything.

use crate::model::{AccessChange, RoomEvent, StoredMessage};
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
    /// What a queue holding this event keeps alive, in bytes (see `weigh`).
    bytes: u32,
}

/// What an event costs besides its text: the event itself (192 bytes) and
/// its reference counts, the heap blocks of its strings, and one cached
/// encoding's box, buffer and shared count (a test checks the sum).
const EVENT_BYTES: usize = 448;
/// What a frame adds to the text it carries: field names, quotes, the id,
/// the timestamp. (The longest, a v1 `message`, adds about 100 bytes.)
const ENVELOPE_BYTES: usize = 128;
/// What a stored message costs besides its text, while a replay holds it.
const MESSAGE_BYTES: usize = 208;

impl Event {
    pub fn new(kind: RoomEvent) -> Self {
        let bytes = u32::try_from(weigh(&kind)).unwrap_or(u32::MAX);
        Self {
            kind,
            encodings: Default::default(),
            summarized: AtomicBool::new(false),
            bytes,
        }
    }

    /// What a queue holding this event keeps alive, in bytes: known when
    /// the event was made, so that pushing it to a queue costs nothing more.
    pub fn bytes(&self) -> u64 {
        u64::from(self.bytes)
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

/// What holding `kind` costs until it is written: its text, the frame made
/// of it (the same text, escaped as a JSON string at worst, in an envelope),
/// and the event around them. Both are kept while the event is: the cache
/// holds the frame, and a format that has not encoded it yet still needs the
/// text. Computed once per event, never per recipient. (A room with clients
/// of both formats keeps a second frame, the chapter's, which escapes
/// nothing and is smaller; it is not counted.)
fn weigh(kind: &RoomEvent) -> usize {
    let (text, escapes) = match kind {
        RoomEvent::Message(m) => (message_text(m), json_escapes(&m.content)),
        RoomEvent::Joined { room, user, .. }
        | RoomEvent::Left { room, user, .. }
        | RoomEvent::Typing { room, user, .. }
        | RoomEvent::Presence { room, user, .. } => (room.len() + user.len(), 0),
        RoomEvent::Roster { room, joined, left } => {
            // Each name is a string of its own, and quoted in the frame.
            let names: usize = joined.iter().chain(left).map(|n| n.len() + 32).sum();
            (room.len() + names, 0)
        }
        RoomEvent::Access { room, change } => {
            let words = match change {
                AccessChange::Removed { reason, .. } => reason.as_ref().map_or(0, String::len),
                AccessChange::Topic { topic } => topic.len(),
                _ => 0,
            };
            (room.len() + words, 0)
        }
    };
    EVENT_BYTES + text + (text + escapes + ENVELOPE_BYTES)
}

/// The text a stored message holds.
fn message_text(m: &StoredMessage) -> usize {
    m.room.len()
        + m.author.username.len()
        + m.content.len()
        + m.client_id.as_ref().map_or(0, String::len)
}

/// What a replay holding `m` keeps alive until it is written, in bytes.
pub fn stored_bytes(m: &StoredMessage) -> u64 {
    (MESSAGE_BYTES + message_text(m)) as u64
}

/// How many bytes escaping `text` as a JSON string adds: a backslash before
/// `"` and `\`, and for control characters `\n`-style pairs or six-byte
/// `\u00XX` forms. One pass over the bytes, once per message.
fn json_escapes(text: &str) -> usize {
    text.bytes()
        .map(|b| match b {
            b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c => 1,
            0..=0x1f => 5,
            _ => 0,
        })
        .sum()
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

    fn message(content: &str, client_id: Option<&str>) -> Event {
        Event::new(RoomEvent::Message(StoredMessage {
            id: 1,
            seq: 1,
            room_id: 1,
            room: "general".into(),
            author: crate::model::User {
                id: 1,
                username: "alice".into(),
            },
            content: content.into(),
            created_at: crate::model::Timestamp(0),
            client_id: client_id.map(str::to_owned),
            entry: crate::model::Entry::Message(None),
        }))
    }

    #[test]
    fn an_event_weighs_what_it_keeps_alive() {
        // The event and its counts; four strings' heap blocks (header and
        // rounding); one encoding's box, buffer header and shared count.
        let fixed = std::mem::size_of::<Event>() + 16 + 4 * 32 + 96;
        assert!(fixed <= EVENT_BYTES, "{fixed} bytes held besides the text");
        // Its text twice (kept, and in the frame), plus the envelope.
        let text = "general".len() + "alice".len() + "hello".len() + "c-1".len();
        let plain = message("hello", Some("c-1"));
        assert_eq!(
            plain.bytes() as usize,
            EVENT_BYTES + 2 * text + ENVELOPE_BYTES
        );
        // What JSON escaping adds, counted once: in the frame.
        let tricky = "say \"hi\"\n\u{1}\\ é";
        let escaped = serde_json::to_string(tricky).expect("a string").len() - 2;
        assert_eq!(json_escapes(tricky), escaped - tricky.len());
        let grown =
            message(tricky, None).bytes() - message(&"x".repeat(tricky.len()), None).bytes();
        assert_eq!(grown as usize, escaped - tricky.len());
        // Presence and the rest: small, but never free.
        let typing = Event::new(RoomEvent::Typing {
            room: "r".into(),
            user: "u".into(),
            user_id: 1,
        });
        assert_eq!(
            typing.bytes() as usize,
            EVENT_BYTES + 2 * 2 + ENVELOPE_BYTES
        );
    }

    #[test]
    fn a_replayed_message_weighs_its_text_and_its_fields() {
        let RoomEvent::Message(m) = message("hello", None).kind else {
            unreachable!("a message")
        };
        assert!(MESSAGE_BYTES >= std::mem::size_of::<StoredMessage>() + 3 * 16);
        assert_eq!(
            stored_bytes(&m) as usize,
            MESSAGE_BYTES + "generalalicehello".len()
        );
    }
}
