//! Every frame the server sends in palaver.v1, as one serde type, so that a
//! frame's shape is written down once (docs/protocol.md describes the same).
//! The HTTP history endpoint answers with `MessageBody`, the `message`
//! event's fields: one message, one shape.

use crate::chat::notice::RoomEntry;
use crate::model::{ChangeKind, Entry, Removal, RoomRole, StoredMessage, Timestamp, Visibility};
use serde::Serialize;
use serde_json::Value;

/// The stable error codes of `error` events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadJson,
    UnknownCommand,
    BadCommand,
    UnknownRoom,
    NotSubscribed,
    TooLarge,
    EmptyMessage,
    RateLimited,
    StoreFailed,
    /// An `auth` token that is invalid, expired, or of another session.
    AuthFailed,
    /// The user may not do that in this room (banned from it).
    Forbidden,
    /// The user is muted in this room: they may read, not send or type.
    Muted,
    /// No such message in the room (or it was deleted).
    NotFound,
    /// An edit past the edit window.
    TooLate,
    /// A reaction that is not one emoji nor a `:short_name:`.
    BadEmoji,
    /// A new emoji on a message that has as many different ones as it may.
    TooManyReactions,
}

impl ErrorCode {
    /// Frames that make no sense count toward closing the connection;
    /// refusals of well-formed commands do not.
    pub fn is_strike(self) -> bool {
        matches!(
            self,
            Self::BadJson | Self::UnknownCommand | Self::BadCommand
        )
    }
}

/// A stored message as clients see it.
#[derive(Debug, Serialize)]
pub struct MessageBody<'a> {
    pub id: i64,
    pub room: &'a str,
    pub user: &'a str,
    pub content: &'a str,
    pub ts: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<ReplyBody<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<Timestamp>,
    /// A tombstone: the text is gone, the place stays.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// Who deleted it, when not its author.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_by: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub reactions: &'a [ReactionBody<'a>],
}

#[derive(Debug, Serialize)]
pub struct ReactionBody<'a> {
    pub emoji: &'a str,
    pub count: i64,
    pub me: bool,
}

/// The message a reply answers, as it is now.
#[derive(Debug, Serialize)]
pub struct ReplyBody<'a> {
    pub id: i64,
    pub author: &'a str,
    pub excerpt: &'a str,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
}

impl<'a> MessageBody<'a> {
    /// `m` (a message, not a change) with its reactions, as shaped for the
    /// wire by `reactions_of`.
    pub fn new(m: &'a StoredMessage, reactions: &'a [ReactionBody<'a>]) -> Self {
        let state = match &m.entry {
            Entry::Message(Some(state)) => Some(state.as_ref()),
            _ => None,
        };
        Self {
            id: m.id,
            room: &m.room,
            user: &m.author.username,
            content: &m.content,
            ts: m.created_at,
            client_id: m.client_id.as_deref(),
            reply_to: state.and_then(|s| s.reply_to.as_ref()).map(|r| ReplyBody {
                id: r.id,
                author: &r.author,
                excerpt: &r.excerpt,
                deleted: r.deleted,
            }),
            edited_at: state.and_then(|s| s.edited_at),
            deleted: state.is_some_and(|s| s.deleted.is_some()),
            deleted_by: state
                .and_then(|s| s.deleted.as_ref())
                .and_then(|d| d.by.as_deref()),
            reactions,
        }
    }
}

/// The reactions of `m`, in the shape `MessageBody` shows them.
pub fn reactions_of(m: &StoredMessage) -> Vec<ReactionBody<'_>> {
    match &m.entry {
        Entry::Message(Some(state)) => state
            .reactions
            .iter()
            .map(|r| ReactionBody {
                emoji: &r.emoji,
                count: r.count,
                me: r.me,
            })
            .collect(),
        _ => Vec::new(),
    }
}

impl<'a> From<&'a StoredMessage> for MessageBody<'a> {
    /// Without reactions: for messages that have none (a new one) or
    /// where they are not shown.
    fn from(m: &'a StoredMessage) -> Self {
        Self::new(m, &[])
    }
}

/// The frame of a stream entry: a `message`, or the change it is.
pub fn entry_frame<'a>(m: &'a StoredMessage, reactions: &'a [ReactionBody<'a>]) -> ServerFrame<'a> {
    let Entry::Change(change) = &m.entry else {
        return ServerFrame::Message(MessageBody::new(m, reactions));
    };
    match change.kind {
        ChangeKind::Edit { gone } => ServerFrame::Edited {
            room: &m.room,
            id: change.target,
            stream_id: m.id,
            user: &m.author.username,
            content: &m.content,
            edited_at: m.created_at,
            ts: m.created_at,
            deleted: gone,
        },
        ChangeKind::Delete => ServerFrame::Deleted {
            room: &m.room,
            id: change.target,
            stream_id: m.id,
            by: &m.author.username,
            ts: m.created_at,
        },
        ChangeKind::Reaction { added, count } => ServerFrame::Reaction {
            room: &m.room,
            id: change.target,
            stream_id: m.id,
            emoji: &m.content,
            user: &m.author.username,
            added,
            count,
            ts: m.created_at,
        },
    }
}

/// A room as its member sees it in their list (`room_added`; the HTTP
/// route `GET /users/me/rooms` answers with the same fields).
#[derive(Debug, Serialize)]
pub struct RoomBody<'a> {
    pub name: &'a str,
    pub topic: &'a str,
    pub visibility: Visibility,
    pub role: RoomRole,
    /// For a direct room: the other members.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub members: Option<&'a [String]>,
}

impl<'a> From<&'a RoomEntry> for RoomBody<'a> {
    fn from(entry: &'a RoomEntry) -> Self {
        Self {
            name: &entry.name,
            topic: &entry.topic,
            visibility: entry.visibility,
            role: entry.role,
            members: (entry.visibility == Visibility::Direct).then_some(entry.others.as_slice()),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame<'a> {
    /// The answer to `hello`: the capabilities this connection now has.
    Hello {
        capabilities: Vec<&'static str>,
    },
    Subscribed {
        room: &'a str,
        presence: &'a [String],
    },
    Unsubscribed {
        room: &'a str,
    },
    Message(MessageBody<'a>),
    /// A message's text changed (`content` is its text now).
    Edited {
        room: &'a str,
        id: i64,
        stream_id: i64,
        user: &'a str,
        content: &'a str,
        edited_at: Timestamp,
        ts: Timestamp,
        /// Replayed after the message was deleted: its text is gone.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        deleted: bool,
    },
    Deleted {
        room: &'a str,
        id: i64,
        stream_id: i64,
        by: &'a str,
        ts: Timestamp,
    },
    /// `user` added (or took back) `emoji`; `count` have it now.
    Reaction {
        room: &'a str,
        id: i64,
        stream_id: i64,
        emoji: &'a str,
        user: &'a str,
        added: bool,
        count: i64,
        ts: Timestamp,
    },
    Ack {
        /// What was done, for anything but a send.
        #[serde(skip_serializing_if = "Option::is_none")]
        action: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_id: Option<&'a str>,
        room: &'a str,
        id: i64,
        /// A change's place in the room's stream; absent when it changed nothing.
        #[serde(skip_serializing_if = "Option::is_none")]
        stream_id: Option<i64>,
        ts: Timestamp,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        duplicate: bool,
    },
    Joined {
        room: &'a str,
        user: &'a str,
    },
    Left {
        room: &'a str,
        user: &'a str,
    },
    Typing {
        room: &'a str,
        user: &'a str,
    },
    /// Several users came or went at once (only with `presence_summary`).
    Presence {
        room: &'a str,
        joined: &'a [String],
        left: &'a [String],
    },
    Pong,
    /// The connection's access token expires soon: send `auth` with a fresh one.
    AuthExpiring {
        expires_in_ms: u64,
    },
    /// The answer to `auth`: the connection now lives as long as the new token.
    Authenticated {
        expires_in: u64,
    },
    /// The user became a member of a room (on any of their connections).
    RoomAdded {
        room: RoomBody<'a>,
    },
    /// This connection is no longer subscribed to `room`.
    Removed {
        room: &'a str,
        reason: Removal,
        /// The moderator's words, for a ban.
        #[serde(skip_serializing_if = "Option::is_none")]
        message: Option<&'a str>,
    },
    /// The room was deleted; the connection is no longer subscribed to it.
    RoomRemoved {
        room: &'a str,
    },
    /// The user may read `room` but not send or type there, until `until`
    /// (or until lifted).
    Muted {
        room: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        until: Option<Timestamp>,
    },
    Unmuted {
        room: &'a str,
    },
    /// The room's topic changed.
    RoomUpdated {
        room: &'a str,
        topic: &'a str,
    },
    Error {
        code: ErrorCode,
        message: &'a str,
        /// On `store_failed` for a send: which message to send again.
        #[serde(skip_serializing_if = "Option::is_none")]
        client_id: Option<&'a str>,
        /// On `rate_limited`: milliseconds until the next one is allowed.
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
}

/// A frame answering a command, carrying the command's `ref` when it had one.
#[derive(Serialize)]
struct Reply<'a> {
    #[serde(flatten)]
    frame: &'a ServerFrame<'a>,
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    reference: Option<&'a Value>,
}

impl ServerFrame<'_> {
    /// The frame's text.
    pub fn encode(&self) -> String {
        // These types hold only strings, numbers and lists: serializing
        // them cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The frame's text, as the answer to the command that carried `reference`.
    pub fn reply(&self, reference: Option<&Value>) -> String {
        if reference.is_none() {
            return self.encode();
        }
        serde_json::to_string(&Reply {
            frame: self,
            reference,
        })
        .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parsed(text: &str) -> Value {
        serde_json::from_str(text).expect("valid JSON")
    }

    #[test]
    fn a_reply_carries_the_commands_ref_and_a_frame_without_one_does_not() {
        let pong = ServerFrame::Pong;
        assert_eq!(
            parsed(&pong.reply(Some(&json!({"n": 1})))),
            json!({"type": "pong", "ref": {"n": 1}})
        );
        assert_eq!(parsed(&pong.reply(None)), json!({"type": "pong"}));
    }

    #[test]
    fn an_ack_says_duplicate_only_when_it_is_one() {
        let ack = |duplicate| ServerFrame::Ack {
            action: None,
            client_id: Some("c"),
            room: "r",
            id: 3,
            stream_id: None,
            ts: Timestamp(0),
            duplicate,
        };
        let fresh = parsed(&ack(false).encode());
        assert_eq!(
            fresh,
            json!({"type": "ack", "client_id": "c", "room": "r", "id": 3, "ts": "1970-01-01T00:00:00.000000Z"})
        );
        assert_eq!(parsed(&ack(true).encode())["duplicate"], json!(true));
    }

    #[test]
    fn errors_carry_a_stable_code() {
        let error = ServerFrame::Error {
            code: ErrorCode::StoreFailed,
            message: "message not stored",
            client_id: Some("c-1"),
            retry_after_ms: None,
        };
        let frame = parsed(&error.reply(Some(&json!("r1"))));
        assert_eq!(
            frame,
            json!({"type": "error", "code": "store_failed", "message": "message not stored", "client_id": "c-1", "ref": "r1"})
        );
    }
}
