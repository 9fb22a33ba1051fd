//! Room events as they cross between nodes: JSON, one envelope per publish.
//! Only what another node can use crosses: messages, typing, and per-connection
//! joins and leaves (the chapter's lines). Per-user presence is read from
//! Redis itself, and summaries are made by each node for its own members.

use crate::model::{RoomEvent, StoredMessage, Timestamp, User};
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
            RoomEvent::Presence { .. } | RoomEvent::Roster { .. } => return None,
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
    fn per_node_presence_does_not_cross() {
        let roster = RoomEvent::Roster {
            room: "r".into(),
            joined: vec!["a".into()],
            left: vec![],
        };
        assert!(WireEvent::from_event(&roster).is_none());
    }
}
