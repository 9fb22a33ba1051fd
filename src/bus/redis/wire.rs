//! Room events as they cross between nodes: JSON, one envelope per publish.
//! Only what another node can use crosses: messages, typing, and per-connection
//! joins and leaves (the chapter's lines). Per-user presence is read from
//! Redis itself, and summaries are made by each node for its own members.

use crate::model::{
    AccessChange, Change, ChangeKind, Entry, MessageState, Removal, ReplyRef, RoomEntry, RoomEvent,
    RoomRole, StoredMessage, Timestamp, User, Visibility,
};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct Envelope {
    /// The node that published it: a node ignores its own envelopes.
    pub origin: String,
    pub events: Vec<WireEvent>,
    /// Login sessions the origin ended; their sockets close everywhere.
    /// Left out when empty, and read as empty when missing, so that nodes of
    /// an older version understand the envelopes that carry only events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ended_sessions: Vec<i64>,
    /// Changes to who may be in rooms, applied after `events`. A field of
    /// their own, like `ended_sessions`, for the same reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access: Vec<WireAccess>,
    /// Rooms some users were added to, for their sockets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<WireAdded>,
}

impl Envelope {
    pub fn new(origin: &str) -> Self {
        Self {
            origin: origin.to_owned(),
            events: Vec::new(),
            ended_sessions: Vec::new(),
            access: Vec::new(),
            added: Vec::new(),
        }
    }
}

#[derive(Serialize, Deserialize)]
pub struct WireAccess {
    room: String,
    #[serde(flatten)]
    change: WireChange,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "c", rename_all = "snake_case")]
enum WireChange {
    Removed {
        user_id: i64,
        why: String,
        reason: Option<String>,
    },
    Muted {
        user_id: i64,
        until: Option<i64>,
    },
    Unmuted {
        user_id: i64,
    },
    RoomRemoved,
    Topic {
        topic: String,
    },
}

impl WireAccess {
    pub fn new(room: &str, change: &AccessChange) -> Self {
        let change = match change {
            AccessChange::Removed {
                user_id,
                why,
                reason,
            } => WireChange::Removed {
                user_id: *user_id,
                why: why.as_str().to_owned(),
                reason: reason.clone(),
            },
            AccessChange::Muted { user_id, until } => WireChange::Muted {
                user_id: *user_id,
                until: until.map(|t| t.0),
            },
            AccessChange::Unmuted { user_id } => WireChange::Unmuted { user_id: *user_id },
            AccessChange::RoomRemoved => WireChange::RoomRemoved,
            AccessChange::Topic { topic } => WireChange::Topic {
                topic: topic.clone(),
            },
        };
        Self {
            room: room.to_owned(),
            change,
        }
    }

    /// `None` for a removal whose cause this node does not know.
    pub fn into_event(self) -> Option<RoomEvent> {
        let change = match self.change {
            WireChange::Removed {
                user_id,
                why,
                reason,
            } => AccessChange::Removed {
                user_id,
                why: Removal::parse(&why)?,
                reason,
            },
            WireChange::Muted { user_id, until } => AccessChange::Muted {
                user_id,
                until: until.map(Timestamp),
            },
            WireChange::Unmuted { user_id } => AccessChange::Unmuted { user_id },
            WireChange::RoomRemoved => AccessChange::RoomRemoved,
            WireChange::Topic { topic } => AccessChange::Topic { topic },
        };
        Some(RoomEvent::Access {
            room: self.room,
            change,
        })
    }
}

/// Users added to a room, and the room as they see it.
#[derive(Serialize, Deserialize)]
pub struct WireAdded {
    users: Vec<i64>,
    name: String,
    topic: String,
    visibility: Visibility,
    role: RoomRole,
    #[serde(default)]
    others: Vec<String>,
}

impl WireAdded {
    pub fn new(users: &[i64], entry: &RoomEntry) -> Self {
        Self {
            users: users.to_vec(),
            name: entry.name.clone(),
            topic: entry.topic.clone(),
            visibility: entry.visibility,
            role: entry.role,
            others: entry.others.clone(),
        }
    }

    pub fn into_entry(self) -> (Vec<i64>, RoomEntry) {
        let entry = RoomEntry {
            name: self.name,
            topic: self.topic,
            visibility: self.visibility,
            role: self.role,
            others: self.others,
        };
        (self.users, entry)
    }
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub enum WireEvent {
    Message {
        id: i64,
        seq: i64,
        room_id: i64,
        room: String,
        author_id: i64,
        author: String,
        content: String,
        ts: i64,
        client_id: Option<String>,
        /// A reply: the message it answers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply: Option<WireReply>,
        /// A change to a message rather than a message. (A node older than
        /// changes would take it for a message: nodes of a cluster are
        /// upgraded together.)
        #[serde(default, skip_serializing_if = "Option::is_none")]
        change: Option<WireEdit>,
    },
    Joined {
        room: String,
        user: String,
        user_id: i64,
    },
    Left {
        room: String,
        user: String,
        user_id: i64,
    },
    Typing {
        room: String,
        user: String,
        user_id: i64,
    },
}

#[derive(Serialize, Deserialize)]
pub struct WireReply {
    id: i64,
    author: String,
    excerpt: String,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "c", rename_all = "snake_case")]
pub enum WireEdit {
    Edit {
        target: i64,
    },
    Delete {
        target: i64,
    },
    React {
        target: i64,
        added: bool,
        count: i64,
    },
}

impl WireEdit {
    fn of(change: &Change) -> Self {
        match change.kind {
            ChangeKind::Edit { .. } => Self::Edit {
                target: change.target,
            },
            ChangeKind::Delete => Self::Delete {
                target: change.target,
            },
            ChangeKind::Reaction { added, count } => Self::React {
                target: change.target,
                added,
                count,
            },
        }
    }

    fn into_entry(self) -> Entry {
        let (target, kind) = match self {
            Self::Edit { target } => (target, ChangeKind::Edit { gone: false }),
            Self::Delete { target } => (target, ChangeKind::Delete),
            Self::React {
                target,
                added,
                count,
            } => (target, ChangeKind::Reaction { added, count }),
        };
        Entry::Change(Box::new(Change { target, kind }))
    }
}

impl WireEvent {
    /// `None` for what does not cross (presence computed per node).
    pub fn from_event(event: &RoomEvent) -> Option<Self> {
        Some(match event {
            RoomEvent::Message(m) => Self::Message {
                id: m.id,
                seq: m.seq,
                room_id: m.room_id,
                room: m.room.clone(),
                author_id: m.author.id,
                author: m.author.username.clone(),
                content: m.content.clone(),
                ts: m.created_at.0,
                client_id: m.client_id.clone(),
                reply: match &m.entry {
                    Entry::Message(Some(state)) => state.reply_to.as_ref().map(|r| WireReply {
                        id: r.id,
                        author: r.author.clone(),
                        excerpt: r.excerpt.clone(),
                    }),
                    _ => None,
                },
                change: match &m.entry {
                    Entry::Change(change) => Some(WireEdit::of(change)),
                    Entry::Message(_) => None,
                },
            },
            RoomEvent::Joined {
                room,
                user,
                user_id,
                ..
            } => Self::Joined {
                room: room.clone(),
                user: user.clone(),
                user_id: *user_id,
            },
            RoomEvent::Left {
                room,
                user,
                user_id,
                ..
            } => Self::Left {
                room: room.clone(),
                user: user.clone(),
                user_id: *user_id,
            },
            RoomEvent::Typing {
                room,
                user,
                user_id,
            } => Self::Typing {
                room: room.clone(),
                user: user.clone(),
                user_id: *user_id,
            },
            // Access changes travel in an envelope field of their own.
            RoomEvent::Presence { .. } | RoomEvent::Roster { .. } | RoomEvent::Access { .. } => {
                return None;
            }
        })
    }

    /// Remote joins and leaves are per connection (the chapter's lines);
    /// per-user presence comes from the presence poll, so `first`/`last`
    /// stay false here.
    pub fn into_event(self) -> RoomEvent {
        match self {
            Self::Message {
                id,
                seq,
                room_id,
                room,
                author_id,
                author,
                content,
                ts,
                client_id,
                reply,
                change,
            } => RoomEvent::Message(StoredMessage {
                id,
                seq,
                room_id,
                room,
                author: User {
                    id: author_id,
                    username: author,
                },
                content,
                created_at: Timestamp(ts),
                client_id,
                entry: match (change, reply) {
                    (Some(change), _) => change.into_entry(),
                    (None, Some(reply)) => Entry::Message(Some(Box::new(MessageState {
                        reply_to: Some(ReplyRef {
                            id: reply.id,
                            author: reply.author,
                            excerpt: reply.excerpt,
                            deleted: false,
                        }),
                        ..MessageState::default()
                    }))),
                    (None, None) => Entry::Message(None),
                },
            }),
            Self::Joined {
                room,
                user,
                user_id,
            } => RoomEvent::Joined {
                room,
                user,
                user_id,
                conn: 0,
                first: false,
            },
            Self::Left {
                room,
                user,
                user_id,
            } => RoomEvent::Left {
                room,
                user,
                user_id,
                conn: 0,
                last: false,
            },
            Self::Typing {
                room,
                user,
                user_id,
            } => RoomEvent::Typing {
                room,
                user,
                user_id,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_crosses_intact() {
        let message = StoredMessage {
            id: 7,
            seq: 3,
            room_id: 2,
            room: "general".into(),
            author: User {
                id: 5,
                username: "ann".into(),
            },
            content: "hi \"there\"".into(),
            created_at: Timestamp(1_700_000_000_000_000),
            client_id: Some("c-1".into()),
            entry: Entry::Message(None),
        };
        let wire = WireEvent::from_event(&RoomEvent::Message(message.clone())).expect("crosses");
        let json = serde_json::to_vec(&wire).expect("encodes");
        let back: WireEvent = serde_json::from_slice(&json).expect("decodes");
        match back.into_event() {
            RoomEvent::Message(m) => {
                assert_eq!((m.id, m.seq, m.room_id), (7, 3, 2));
                assert_eq!(
                    (m.room.as_str(), m.content.as_str()),
                    ("general", "hi \"there\"")
                );
                assert_eq!(
                    (m.author, m.created_at, m.client_id),
                    (message.author, message.created_at, message.client_id)
                );
            }
            other => panic!("not a message: {other:?}"),
        }
    }

    #[test]
    fn a_change_and_a_reply_cross_intact() {
        let entry = |entry| StoredMessage {
            id: 9,
            seq: 4,
            room_id: 2,
            room: "general".into(),
            author: User {
                id: 5,
                username: "ann".into(),
            },
            content: "👍".into(),
            created_at: Timestamp(1),
            client_id: None,
            entry,
        };
        let reaction = Entry::Change(Box::new(Change {
            target: 7,
            kind: ChangeKind::Reaction {
                added: true,
                count: 3,
            },
        }));
        let reply = Entry::Message(Some(Box::new(MessageState {
            reply_to: Some(ReplyRef {
                id: 7,
                author: "bob".into(),
                excerpt: "hello".into(),
                deleted: false,
            }),
            ..MessageState::default()
        })));
        for sent in [reaction, reply, Entry::Message(None)] {
            let wire =
                WireEvent::from_event(&RoomEvent::Message(entry(sent.clone()))).expect("crosses");
            let json = serde_json::to_vec(&wire).expect("encodes");
            let back: WireEvent = serde_json::from_slice(&json).expect("decodes");
            match back.into_event() {
                RoomEvent::Message(m) => assert_eq!(m.entry, sent),
                other => panic!("not an entry: {other:?}"),
            }
        }
    }

    #[test]
    fn access_changes_cross_intact() {
        let changes = [
            AccessChange::Removed {
                user_id: 4,
                why: Removal::Banned,
                reason: Some("spam".into()),
            },
            AccessChange::Muted {
                user_id: 4,
                until: Some(Timestamp(9)),
            },
            AccessChange::Unmuted { user_id: 4 },
            AccessChange::RoomRemoved,
            AccessChange::Topic {
                topic: "new".into(),
            },
        ];
        for change in changes {
            let json = serde_json::to_vec(&WireAccess::new("r", &change)).expect("encodes");
            let back: WireAccess = serde_json::from_slice(&json).expect("decodes");
            match back.into_event() {
                Some(RoomEvent::Access { room, change: got }) => {
                    assert_eq!((room.as_str(), got), ("r", change));
                }
                other => panic!("not an access change: {other:?}"),
            }
        }
    }

    #[test]
    fn an_envelope_of_an_older_node_still_reads() {
        let old = br#"{"origin":"n1","events":[]}"#;
        let envelope: Envelope = serde_json::from_slice(old).expect("decodes");
        assert!(envelope.access.is_empty() && envelope.added.is_empty());
    }

    #[test]
    fn per_node_presence_does_not_cross() {
        let roster = RoomEvent::Roster {
            room: "r".into(),
            joined: vec!["a".into()],
            left: vec![],
        };
        assert!(WireEvent::from_event(&roster).is_none());
    }
}
