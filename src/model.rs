//! The chat's nouns, shared by every layer (the store keeps them, the bus
//! carries them, the chat core moves them, the gateways show them), so that
//! none of those layers has to depend on another for its types. Input types
//! validate on construction ("parse, don't validate"): a `Username` that
//! exists is a valid username everywhere after.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a piece of user input was refused; the text goes to the client as is.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct Invalid(pub String);

/// 3–32 characters of ASCII letters, digits, `_`, `.` and `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub const MIN: usize = 3;
    pub const MAX: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let len = raw.chars().count();
        if !(Self::MIN..=Self::MAX).contains(&len) {
            return Err(Invalid(format!(
                "username must be {}-{} characters long",
                Self::MIN,
                Self::MAX
            )));
        }
        if !raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err(Invalid(
                "username may contain only letters, digits, '_', '.' and '-'".into(),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The form under which names are unique: `Alice` and `alice` are one user.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// 8–1024 bytes. The upper bound keeps hashing cost bounded per request.
pub struct Password(String);

impl Password {
    pub const MIN: usize = 8;
    pub const MAX: usize = 1024;

    pub fn parse(raw: String) -> Result<Self, Invalid> {
        if !(Self::MIN..=Self::MAX).contains(&raw.len()) {
            return Err(Invalid(format!(
                "password must be {}-{} bytes long",
                Self::MIN,
                Self::MAX
            )));
        }
        Ok(Self(raw))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(..)")
    }
}

/// 1–64 characters of lowercase ASCII letters, digits, `-` and `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RoomName(String);

impl RoomName {
    pub const MAX: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        if raw.is_empty() || raw.len() > Self::MAX {
            return Err(Invalid(format!(
                "room name must be 1-{} characters long",
                Self::MAX
            )));
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            return Err(Invalid(
                "room name may contain only lowercase letters, digits, '-' and '_'".into(),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// At most 256 characters, none of them a control character (a line
/// break, a tab, an escape): a topic is a one-line description.
pub fn parse_topic(raw: &str) -> Result<String, Invalid> {
    const MAX: usize = 256;
    if raw.chars().count() > MAX {
        return Err(Invalid(format!("topic must be at most {MAX} characters")));
    }
    if raw.chars().any(char::is_control) {
        return Err(Invalid(
            "topic must be one line without control characters".into(),
        ));
    }
    Ok(raw.trim().to_owned())
}

/// The text of a chat message: not blank and at most the configured size,
/// the same rule for every protocol (each says "no" in its own way).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageText(String);

/// Why a message text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("content is empty")]
    Blank,
    #[error("content is over {max} bytes")]
    TooLong { max: usize },
    /// PostgreSQL cannot store U+0000 in text: refused on every backend,
    /// so that no store ever fails on a message for what it holds.
    #[error("content must not contain NUL characters")]
    Nul,
}

impl MessageText {
    /// `max` is in bytes of UTF-8 (`--max-message-bytes`).
    pub fn parse(raw: String, max: usize) -> Result<Self, TextError> {
        if raw.chars().all(is_invisible) {
            return Err(TextError::Blank);
        }
        if raw.len() > max {
            return Err(TextError::TooLong { max });
        }
        if raw.contains('\0') {
            return Err(TextError::Nul);
        }
        Ok(Self(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// White space, control characters, and the characters that print as
/// nothing: Unicode's Default_Ignorable_Code_Point set (zero-width spaces
/// and joiners, direction marks and overrides, the word joiner and
/// invisible operators, variation selectors, tags, the byte order mark,
/// the soft hyphen, Hangul fillers). A message made only of these would
/// show as an empty line.
fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{034F}'
                | '\u{061C}'
                | '\u{115F}'..='\u{1160}'
                | '\u{17B4}'..='\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFF8}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

/// Identifies one WebSocket connection within this node.
pub type ConnId = u64;

/// Something that happened in a room, as every layer sees it: the store
/// produced it or the bus carried it; the chat core hands it to the room's
/// members; each gateway decides whether and how its protocol shows it.
#[derive(Debug, Clone)]
pub enum RoomEvent {
    Message(StoredMessage),
    /// A connection entered a room. `first` is true when it is the user's
    /// only connection there, i.e. the user just came online in the room.
    /// `conn` is 0 (and `first` false) for a connection on another node.
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
    /// (see `chat::presence`): who came online and who went offline.
    Roster {
        room: String,
        joined: Vec<String>,
        left: Vec<String>,
    },
    /// Who may be in the room changed (a kick, a ban, a mute, the room's
    /// end). Never shown as it is: each node's hub applies it to its
    /// connections, in order with the room's messages, so that nothing
    /// sent after it reaches someone it removed.
    Access {
        room: String,
        change: AccessChange,
    },
}

/// A change to who may read or speak in a room, as every node applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessChange {
    /// The user's connections leave the room.
    Removed {
        user_id: i64,
        why: Removal,
        /// A moderator's words, for a ban.
        reason: Option<String>,
    },
    /// The user may read but not send or type, until then (or until lifted).
    Muted {
        user_id: i64,
        until: Option<Timestamp>,
    },
    Unmuted {
        user_id: i64,
    },
    /// The room was deleted: everyone leaves it.
    RoomRemoved,
    /// The topic changed.
    Topic {
        topic: String,
    },
}

/// Why a user's connections left a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Removal {
    Kicked,
    Banned,
    /// They left it themselves (on another tab, or over HTTP).
    Left,
}

impl Removal {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kicked => "kicked",
            Self::Banned => "banned",
            Self::Left => "left",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "kicked" => Some(Self::Kicked),
            "banned" => Some(Self::Banned),
            "left" => Some(Self::Left),
            _ => None,
        }
    }
}

impl RoomEvent {
    /// Joins, leaves and presence changes: told to a room in coalesced
    /// batches rather than one by one.
    pub fn is_presence(&self) -> bool {
        matches!(
            self,
            Self::Joined { .. } | Self::Left { .. } | Self::Presence { .. }
        )
    }

    pub fn room(&self) -> &str {
        match self {
            Self::Message(m) => &m.room,
            Self::Joined { room, .. }
            | Self::Left { room, .. }
            | Self::Typing { room, .. }
            | Self::Presence { room, .. }
            | Self::Roster { room, .. }
            | Self::Access { room, .. } => room,
        }
    }
}

/// Microseconds since the Unix epoch, UTC: the unit both stores keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn now() -> Self {
        Self(Utc::now().timestamp_micros())
    }

    /// An RFC 3339 time as clients write it (`2026-12-03T10:00:00Z`, any offset).
    pub fn parse_rfc3339(raw: &str) -> Result<Self, Invalid> {
        DateTime::parse_from_rfc3339(raw)
            .map(|t| Self(t.with_timezone(&Utc).timestamp_micros()))
            .map_err(|_| {
                Invalid(format!(
                    "{raw:?} is not an RFC 3339 time (like 2026-12-03T10:00:00Z)"
                ))
            })
    }

    pub fn to_rfc3339(self) -> String {
        DateTime::<Utc>::from_timestamp_micros(self.0)
            .unwrap_or_default()
            .to_rfc3339_opts(SecondsFormat::Micros, true)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Room {
    #[serde(skip)]
    pub id: i64,
    pub name: String,
    pub topic: String,
    pub created_at: Timestamp,
    pub visibility: Visibility,
    /// The sequence number of the room's latest message when this was read.
    #[serde(skip)]
    pub last_seq: i64,
}

/// Who may see a room. A private or direct room does not exist for
/// anyone who is not its member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Anyone signed in may read and join it (the chapter's rooms).
    Public,
    /// Members only; an owner or moderator adds them.
    Private,
    /// A direct conversation between a fixed set of people: no owner, and
    /// nobody is ever added.
    Direct,
}

impl Visibility {
    /// The name kept in the store and shown on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Private => "private",
            Self::Direct => "direct",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "public" => Some(Self::Public),
            "private" => Some(Self::Private),
            "direct" => Some(Self::Direct),
            _ => None,
        }
    }

    /// Private and direct rooms: hidden from everyone but their members.
    pub fn is_members_only(self) -> bool {
        self != Self::Public
    }
}

/// A member's standing in a room, lowest first: each may act on those
/// ranked below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomRole {
    Member,
    Moderator,
    Owner,
}

impl RoomRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Moderator => "moderator",
            Self::Owner => "owner",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "member" => Some(Self::Member),
            "moderator" => Some(Self::Moderator),
            "owner" => Some(Self::Owner),
            _ => None,
        }
    }
}

/// A room as one of its members sees it in their list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomEntry {
    pub name: String,
    pub topic: String,
    pub visibility: Visibility,
    pub role: RoomRole,
    /// For a direct room: the other members, sorted.
    pub others: Vec<String>,
}

/// An entry of a room's stream as the store keeps it: a message, or a
/// change to one (an edit, a deletion, a reaction). Entries share one order:
/// ids and `seq`s are handed out to both alike, so delivery, resume and the
/// order across nodes treat a change exactly like a message. Everything a
/// recipient needs is here, so that delivery never has to look anything up.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    /// The entry's position: a message's id, a change's `stream_id`.
    pub id: i64,
    /// Position in its room: 1, 2, 3 … without gaps, in commit order. Nodes
    /// use it to deliver in order and to notice what the bus lost.
    pub seq: i64,
    pub room_id: i64,
    pub room: String,
    /// Who wrote the message, or made the change.
    pub author: User,
    /// A message's text; for an edit, the message's text after it; for a
    /// reaction, the emoji; empty for a deletion and a deleted message.
    pub content: String,
    pub created_at: Timestamp,
    pub client_id: Option<String>,
    pub entry: Entry,
}

impl StoredMessage {
    /// A message with nothing more to say than its text (the common case).
    pub fn is_plain(&self) -> bool {
        matches!(self.entry, Entry::Message(None))
    }

    /// The message this entry is about: its own id, or a change's target.
    pub fn message_id(&self) -> i64 {
        match &self.entry {
            Entry::Message(_) => self.id,
            Entry::Change(change) => change.target,
        }
    }
}

/// What a stream entry is. Both cases are one pointer wide, so that the
/// plain message, by far the most common entry, pays nothing for the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A message; `None` when it is plain: no reply, never edited or
    /// deleted, no reactions (or none asked for).
    Message(Option<Box<MessageState>>),
    Change(Box<Change>),
}

/// What a message carries besides its text, as read or sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageState {
    pub reply_to: Option<ReplyRef>,
    pub edited_at: Option<Timestamp>,
    /// Deleted: its text is gone, its place in the stream stays.
    pub deleted: Option<Deletion>,
    /// Per emoji, as the user who asked sees them (`me`); filled only by
    /// reads made for one user (history, resume).
    pub reactions: Vec<ReactionCount>,
}

/// The message a reply answers, as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyRef {
    pub id: i64,
    pub author: String,
    /// The start of its current text (`excerpt`); empty once deleted.
    pub excerpt: String,
    pub deleted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    /// Who deleted it, when that was not its author (a moderator, an admin).
    pub by: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionCount {
    pub emoji: String,
    pub count: i64,
    /// Whether the user the list was read for is among them.
    pub me: bool,
}

/// A change to a message, as a stream entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The message changed.
    pub target: i64,
    pub kind: ChangeKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// The entry's content is the message's text after the edit, or, read
    /// back later, its text now; `gone` when it has been deleted since.
    Edit { gone: bool },
    /// The entry's author deleted the message.
    Delete,
    /// The entry's author added (or took back) the entry's content as a
    /// reaction; `count`: how many have that reaction now (when made, or
    /// when read back).
    Reaction { added: bool, count: i64 },
}

/// The first characters of a message's text, as a reply quotes it.
pub fn excerpt(text: &str) -> String {
    const CHARS: usize = 100;
    match text.char_indices().nth(CHARS) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

/// A reaction: one Unicode emoji (a sequence counts as one: a flag, a skin
/// tone, a family joined by ZWJ), or a `:short_name:` of at most 32 bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Emoji(String);

impl Emoji {
    pub const MAX_SHORT_NAME: usize = 32;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let short = raw.len() > 2
            && raw.len() <= Self::MAX_SHORT_NAME
            && raw.starts_with(':')
            && raw.ends_with(':')
            && raw[1..raw.len() - 1].bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'+' | b'-')
            });
        // Unicode's list, with or without the emoji-style variation selector.
        let listed = || {
            emojis::get(raw).is_some()
                || raw
                    .strip_suffix('\u{FE0F}')
                    .is_some_and(|bare| emojis::get(bare).is_some())
        };
        if short || (raw.len() <= 64 && listed()) {
            Ok(Self(raw.to_owned()))
        } else {
            Err(Invalid(
                "emoji must be one Unicode emoji or a :short_name: of at most 32 bytes".into(),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(Username::parse("al").is_err());
        assert!(Username::parse("alice.b-c_9").is_ok());
        assert!(Username::parse("a b c").is_err());
        assert!(Username::parse(&"x".repeat(33)).is_err());
        assert_eq!(
            Username::parse("Alice").map(|u| u.key()),
            Ok("alice".into())
        );
    }

    #[test]
    fn room_names() {
        assert!(RoomName::parse("").is_err());
        assert!(RoomName::parse("General").is_err());
        assert!(RoomName::parse("rust-lang_2").is_ok());
        assert!(RoomName::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn message_texts() {
        assert_eq!(
            MessageText::parse(" \n\t".into(), 10),
            Err(TextError::Blank)
        );
        assert_eq!(
            MessageText::parse("é".repeat(6), 11),
            Err(TextError::TooLong { max: 11 })
        );
        assert_eq!(
            MessageText::parse(" hi ".into(), 4).map(MessageText::into_string),
            Ok(" hi ".to_owned())
        );
    }

    #[test]
    fn topics_are_one_line() {
        assert_eq!(parse_topic("  Rust, mostly "), Ok("Rust, mostly".into()));
        assert!(parse_topic("two\nlines").is_err());
        assert!(parse_topic("bell\u{7}").is_err());
        assert!(parse_topic("esc\u{1b}[31mred").is_err());
    }

    #[test]
    fn emoji_are_one_emoji_or_a_short_name() {
        for ok in ["👍", "❤️", "❤", "🇫🇷", "👍🏽", "👩‍👩‍👧", ":party_parrot:", ":+1:"]
        {
            assert!(Emoji::parse(ok).is_ok(), "{ok}");
        }
        let long = format!(":{}:", "a".repeat(31));
        for bad in [
            "",
            "x",
            "👍👍",
            "::",
            ":Caps:",
            ":a b:",
            long.as_str(),
            "1",
            "#",
            "a👍",
        ] {
            assert!(Emoji::parse(bad).is_err(), "{bad}");
        }
        assert!(Emoji::parse(&format!(":{}:", "a".repeat(30))).is_ok());
    }

    #[test]
    fn excerpts_cut_at_a_hundred_characters() {
        assert_eq!(excerpt("short"), "short");
        let long = "é".repeat(150);
        assert_eq!(excerpt(&long), format!("{}…", "é".repeat(100)));
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00.000000Z");
    }
}

/// Properties of the input types over hostile text (inputs: `crate::fuzz`).
#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::fuzz;
    use proptest::char::range;
    use proptest::collection::vec;
    use proptest::prelude::*;

    /// Characters that print as nothing, listed apart from `is_invisible`:
    /// white space (Unicode's White_Space), controls, and
    /// Default_Ignorable_Code_Point (Unicode 16, DerivedCoreProperties.txt).
    fn invisible() -> impl Strategy<Value = char> {
        prop_oneof![
            range('\u{0}', '\u{20}'),
            range('\u{7f}', '\u{a0}'),
            Just('\u{1680}'),
            range('\u{2000}', '\u{200a}'),
            range('\u{2028}', '\u{2029}'),
            Just('\u{202f}'),
            Just('\u{205f}'),
            Just('\u{3000}'),
            Just('\u{ad}'),
            Just('\u{34f}'),
            Just('\u{61c}'),
            range('\u{115f}', '\u{1160}'),
            range('\u{17b4}', '\u{17b5}'),
            range('\u{180b}', '\u{180f}'),
            range('\u{200b}', '\u{200f}'),
            range('\u{202a}', '\u{202e}'),
            range('\u{2060}', '\u{206f}'),
            Just('\u{3164}'),
            range('\u{fe00}', '\u{fe0f}'),
            Just('\u{feff}'),
            Just('\u{ffa0}'),
            range('\u{fff0}', '\u{fff8}'),
            range('\u{1bca0}', '\u{1bca3}'),
            range('\u{1d173}', '\u{1d17a}'),
            range('\u{e0000}', '\u{e0fff}'),
        ]
    }

    /// Characters that surely show.
    fn visible() -> impl Strategy<Value = char> {
        prop_oneof![
            range('!', '~'),
            range('\u{c0}', '\u{24f}'),
            range('\u{4e00}', '\u{9fff}'),
            range('\u{1f600}', '\u{1f64f}'),
            Just('\u{fffd}'),
        ]
    }

    /// What holds for any text under any limit: accepted as sent, or
    /// refused for the one reason it deserves (blank before too long before
    /// NUL), and an accepted text is never blank, too long or unstorable.
    fn check_text(raw: &str, max: usize) -> Result<(), TestCaseError> {
        let shows = raw.chars().any(|c| !is_invisible(c));
        match MessageText::parse(raw.to_owned(), max) {
            Ok(text) => {
                prop_assert_eq!(text.as_str(), raw);
                prop_assert!(shows && raw.len() <= max && !raw.contains('\0'));
            }
            Err(TextError::Blank) => prop_assert!(!shows),
            Err(TextError::TooLong { max: said }) => {
                prop_assert_eq!(said, max);
                prop_assert!(shows && raw.len() > max);
            }
            Err(TextError::Nul) => prop_assert!(shows && raw.len() <= max && raw.contains('\0')),
        }
        Ok(())
    }

    /// Refusals are our sentences, whatever the input (none repeats it).
    fn is_ours(err: &Invalid) -> bool {
        [
            "username must be 3-32 characters long",
            "username may contain only letters, digits, '_', '.' and '-'",
            "room name must be 1-64 characters long",
            "room name may contain only lowercase letters, digits, '-' and '_'",
            "password must be 8-1024 bytes long",
            "topic must be at most 256 characters",
            "topic must be one line without control characters",
        ]
        .contains(&err.0.as_str())
    }

    fn check_names(raw: &str) -> Result<(), TestCaseError> {
        let user_chars = |b: u8| b.is_ascii_alphanumeric() || b"_.-".contains(&b);
        match Username::parse(raw) {
            Ok(name) => {
                prop_assert!((3..=32).contains(&raw.len()) && raw.bytes().all(user_chars));
                prop_assert_eq!(name.as_str(), raw);
                prop_assert_eq!(name.key(), raw.to_ascii_lowercase());
            }
            Err(err) => {
                prop_assert!(!((3..=32).contains(&raw.len()) && raw.bytes().all(user_chars)));
                prop_assert!(is_ours(&err), "{err}");
            }
        }
        let room_chars = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-".contains(&b);
        match RoomName::parse(raw) {
            Ok(name) => {
                prop_assert!((1..=64).contains(&raw.len()) && raw.bytes().all(room_chars));
                prop_assert_eq!(name.as_str(), raw);
            }
            Err(err) => {
                prop_assert!(!((1..=64).contains(&raw.len()) && raw.bytes().all(room_chars)));
                prop_assert!(is_ours(&err), "{err}");
            }
        }
        match Password::parse(raw.to_owned()) {
            Ok(password) => {
                prop_assert!((8..=1024).contains(&raw.len()));
                prop_assert_eq!(password.expose(), raw);
                prop_assert_eq!(format!("{password:?}"), "Password(..)");
            }
            Err(err) => {
                prop_assert!(!(8..=1024).contains(&raw.len()));
                prop_assert!(is_ours(&err), "{err}");
            }
        }
        match parse_topic(raw) {
            Ok(topic) => {
                prop_assert_eq!(topic.as_str(), raw.trim());
                prop_assert!(raw.chars().count() <= 256 && !raw.chars().any(char::is_control));
            }
            Err(err) => {
                prop_assert!(raw.chars().count() > 256 || raw.chars().any(char::is_control));
                prop_assert!(is_ours(&err), "{err}");
            }
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn message_text_is_as_sent_or_refused_for_its_reason(
            raw in fuzz::text("chapter_text"),
            max in prop_oneof![0..64usize, 0..8192usize],
        ) {
            check_text(&raw, max)?;
        }

        #[test]
        fn text_of_invisible_characters_is_blank(
            raw in vec(invisible(), 0..24).prop_map(String::from_iter),
            max in 0..100usize,
        ) {
            prop_assert_eq!(MessageText::parse(raw, max), Err(TextError::Blank));
        }

        #[test]
        fn one_visible_character_is_not_blank(
            around in vec(invisible().prop_filter("not NUL", |c| *c != '\0'), 0..24),
            shown in visible(),
            at in any::<proptest::sample::Index>(),
        ) {
            let mut chars = around;
            chars.insert(at.index(chars.len() + 1), shown);
            let raw = String::from_iter(chars);
            prop_assert_eq!(MessageText::parse(raw.clone(), 4096).map(MessageText::into_string), Ok(raw));
        }

        #[test]
        fn names_passwords_and_topics(raw in fuzz::text("names")) {
            check_names(&raw)?;
        }

        #[test]
        fn well_formed_names_are_accepted_as_they_are(
            user in "[A-Za-z0-9_.-]{3,32}",
            room in "[a-z0-9_-]{1,64}",
        ) {
            prop_assert_eq!(Username::parse(&user).map(|u| u.as_str().to_owned()), Ok(user));
            prop_assert_eq!(RoomName::parse(&room).map(|r| r.as_str().to_owned()), Ok(room));
        }
    }

    #[test]
    fn corpus() {
        for max in [0, 1, 16, crate::config::DEFAULT_MAX_MESSAGE_BYTES] {
            fuzz::replay("chapter_text", |b| {
                check_text(&String::from_utf8_lossy(b), max)
            });
        }
        fuzz::replay("names", |b| check_names(&String::from_utf8_lossy(b)));
    }
}
