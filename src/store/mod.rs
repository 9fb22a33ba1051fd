//! How users, rooms and messages are kept. Everything above this module talks
//! to the `Store` trait; `sqlite` is the default backend.
//!
//! Queries are checked at run time, not with sqlx's compile-time macros: those
//! cannot serve SQLite and PostgreSQL from one code base. So that each query
//! is written once, `sql` holds the text for both dialects, `queries` runs the
//! one-statement ones and `batch` the append on either backend; `decode` reads
//! rows; `delegate` writes once the `Store` methods that go straight to
//! `queries`. `sqlite` and `postgres` keep only what differs: connection options,
//! migrations, how an append locks, and SQLite's checkpointer.

mod batch;
mod changes;
#[macro_use]
mod delegate;
mod decode;
#[cfg(test)]
#[macro_use]
mod membership_tests;
#[cfg(test)]
mod entries_tests;
mod postgres;
mod queries;
mod sql;
mod sqlite;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use crate::model::{
    Entry, ReactionCount, Room, RoomName, RoomRole, StoredMessage, Timestamp, User, Username,
    Visibility,
};
use async_trait::async_trait;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (taken username, room name).
    #[error("already exists")]
    Conflict,
    /// Carries the driver's text (SQL, constraint and host names): for the
    /// log, never for a client.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// At start-up: the database named (never with its password) could
    /// not be reached or opened, and why.
    #[error("cannot open {target}: {reason}")]
    Open { target: String, reason: String },
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL {0:?}: use sqlite://… or postgres://…")]
    UnsupportedUrl(String),
    #[error("max_page_count in the database URL must be a whole number of pages, not {0:?}")]
    BadPageCap(String),
}

/// Opens the store a URL names: `sqlite://path` or `postgres://…`.
pub async fn open(url: &str) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(SqliteStore::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(PostgresStore::open(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}

/// A user as needed to log in: the only place the password hash travels.
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
    /// Logins are refused while set.
    pub disabled: bool,
}

/// An invite code as kept: its hash, never the code.
#[derive(Debug, Clone)]
pub struct Invite {
    pub id: i64,
    pub uses_left: i64,
    pub created_at: Timestamp,
    /// `None`: never expires.
    pub expires_at: Option<Timestamp>,
}

/// A login as kept: what its user sees in their list of sessions.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: i64,
    pub created_at: Timestamp,
    pub last_used_at: Timestamp,
    pub user_agent: Option<String>,
    pub address: Option<String>,
}

/// A session being opened, with the hash of its first refresh token.
pub struct NewSession<'a> {
    pub user_id: i64,
    pub user_agent: Option<&'a str>,
    pub address: Option<&'a str>,
    pub refresh_hash: &'a str,
    pub refresh_expires_at: Timestamp,
}

/// What presenting a refresh token (by its hash) came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refreshed {
    /// The live session's current token: the session now has the new one.
    Rotated { session: i64, user: i64 },
    /// A token already rotated away: someone holds a copy.
    Spent { session: i64, user: i64 },
    /// Unknown, expired, or of an ended session.
    Unknown,
}

/// A user with what an operator sees of them: their server role and
/// whether they may log in.
#[derive(Debug, Clone)]
pub struct Account {
    pub user: User,
    /// A server admin: moderates every room, manages users and rooms.
    pub admin: bool,
    /// `Some`: disabled then; logins are refused.
    pub disabled_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// A room being created.
pub struct NewRoom<'a> {
    pub name: &'a RoomName,
    pub topic: &'a str,
    pub visibility: Visibility,
    /// Becomes the room's owner, in the same transaction; `None` for rooms
    /// nobody owns (seeded rooms, direct rooms).
    pub owner: Option<i64>,
}

/// A ban or a mute still in force.
#[derive(Debug, Clone)]
pub struct Sanction {
    pub user: User,
    pub reason: Option<String>,
    /// `None`: until lifted.
    pub until: Option<Timestamp>,
    /// Who imposed it (`None` if that account is gone).
    pub by: Option<String>,
    pub created_at: Timestamp,
}

/// What one user may do in one room, read in one query: everything the
/// access rules need.
#[derive(Debug, Clone)]
pub struct Access {
    pub room: Room,
    /// `None`: not a member.
    pub role: Option<RoomRole>,
    /// A ban in force at the time asked about (expired ones count as none).
    pub banned: bool,
    /// A mute in force at the time asked about: `Some(None)` until lifted,
    /// `Some(Some(t))` until `t`.
    pub muted: Option<Option<Timestamp>>,
}

/// A member of a room.
#[derive(Debug, Clone)]
pub struct Member {
    pub user: User,
    pub role: RoomRole,
    pub since: Timestamp,
}

/// A room as its member sees it in their list.
#[derive(Debug, Clone)]
pub struct MyRoom {
    pub room: Room,
    pub role: RoomRole,
    pub since: Timestamp,
    /// For a direct room: the other members' names, sorted; empty otherwise.
    pub others: Vec<String>,
}

/// What a change of membership that must keep an owner came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    Done,
    /// The user is not a member.
    NotMember,
    /// Refused: the room would be left without an owner.
    LastOwner,
}

/// An entry on its way into the store: a message, or (with `change`) a
/// change to one.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub room_id: i64,
    pub room: String,
    /// The message's author, or who makes the change.
    pub author: User,
    /// A message's text, an edit's new text, a reaction's emoji.
    pub content: String,
    pub created_at: Timestamp,
    pub client_id: Option<String>,
    /// A message answering another of the same room.
    pub reply_to: Option<i64>,
    pub change: Option<NewChange>,
}

/// A change to a message of the room, checked when it is stored: the
/// message must be there (in this room, not deleted), and the rules of the
/// change must hold at that moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewChange {
    /// Only by its author, and not for messages written before `not_before`
    /// (the edit window). `keep_history`: the text replaced is kept as a version.
    Edit {
        target: i64,
        not_before: Option<Timestamp>,
        keep_history: bool,
    },
    /// By its author, or by anyone when `any_author` (a moderator, an admin).
    Delete { target: i64, any_author: bool },
    /// Adds (or takes back) the author's reaction `content`.
    React { target: i64, added: bool },
}

impl NewMessage {
    /// A plain message: no reply, no change.
    pub fn is_plain(&self) -> bool {
        self.reply_to.is_none() && self.change.is_none()
    }

    /// The plain message as stored under `id`, `seq`.
    pub fn stored(&self, id: i64, seq: i64) -> StoredMessage {
        self.stored_as(id, seq, Entry::Message(None))
    }

    pub fn stored_as(&self, id: i64, seq: i64, entry: Entry) -> StoredMessage {
        StoredMessage {
            id,
            seq,
            room_id: self.room_id,
            room: self.room.clone(),
            author: self.author.clone(),
            content: self.content.clone(),
            created_at: self.created_at,
            client_id: self.client_id.clone(),
            entry,
        }
    }
}

/// Why a change (or a reply) was not stored: the rules said no.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No such message in this room, or it is deleted.
    #[error("message not found")]
    NotFound,
    /// Someone else's message.
    #[error("only its author may do that to this message")]
    NotAuthor,
    /// Past the edit window.
    #[error("the edit window has passed")]
    TooLate,
    /// A new emoji on a message that has `MAX_EMOJI` different ones already.
    #[error("this message has too many different reactions")]
    TooManyReactions,
}

/// The most different emoji one message may carry.
pub const MAX_EMOJI: i64 = 32;

/// What became of one entry of an appended batch.
#[derive(Debug, Clone)]
pub enum Appended {
    /// Stored now, under a fresh id.
    New(StoredMessage),
    /// The author already stored an entry with this client id: this is it.
    Duplicate(StoredMessage),
    /// A change that would change nothing (a reaction already there or not
    /// there, an edit to the same text): nothing stored. `count`: for a
    /// reaction, how many have it.
    Unchanged {
        count: i64,
    },
    Refused(Refusal),
}

/// Which slice of a room's history to read. Ids only ever grow, so id
/// cursors stay stable while others keep writing.
#[derive(Debug, Clone, Copy)]
pub enum Page {
    /// The chapter's paging: newest first, `skip` from the newest.
    NewestFirst { skip: i64, limit: i64 },
    /// The `limit` messages just before `id` (or the newest), oldest first.
    Before { id: Option<i64>, limit: i64 },
    /// The `limit` messages just after `id`, oldest first.
    After { id: i64, limit: i64 },
    /// Like `After`, but no more than fit in `bytes` of content: the
    /// messages up to and with the first that reaches it (so never none).
    /// For a reader that must bound what it holds, whatever the messages' size.
    AfterWithin { id: i64, limit: i64, bytes: i64 },
    /// Messages with sequence numbers `from..=to`, in order (gap filling).
    Seqs { from: i64, to: i64 },
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    async fn create_user(
        &self,
        username: &Username,
        password_hash: &str,
    ) -> Result<User, StoreError>;
    /// Looks a user up by the case-folded name: `Alice` finds `alice`.
    async fn credentials(&self, username: &Username) -> Result<Option<Credentials>, StoreError>;
    async fn user(&self, id: i64) -> Result<Option<User>, StoreError>;
    async fn set_password(&self, user: i64, password_hash: &str) -> Result<(), StoreError>;

    /// Opens a session; its id.
    async fn create_session(&self, session: &NewSession<'_>) -> Result<i64, StoreError>;
    /// The account of `session`, if it is `user`'s and has not ended.
    async fn session_user(&self, session: i64, user: i64) -> Result<Option<Account>, StoreError>;
    /// Spends the refresh token with hash `old` for one with hash `new`,
    /// valid until `expires_at`, if `old` is a live session's current token
    /// at `now`.
    async fn refresh(
        &self,
        old: &str,
        new: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<Refreshed, StoreError>;
    /// `user`'s sessions that have neither ended nor expired at `now`, newest first.
    async fn sessions(&self, user: i64, now: Timestamp) -> Result<Vec<Session>, StoreError>;
    /// Ends `session` if it is `user`'s and still open; whether it did.
    async fn end_session(
        &self,
        session: i64,
        user: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Which of `sessions` have ended.
    async fn ended_among(&self, sessions: &[i64]) -> Result<Vec<i64>, StoreError>;
    /// Ends every open session of `user` but `except`; the ids it ended.
    async fn end_sessions(
        &self,
        user: i64,
        except: Option<i64>,
        now: Timestamp,
    ) -> Result<Vec<i64>, StoreError>;

    /// Keeps a new invite code, by its hash, good for `uses` registrations.
    async fn create_invite(
        &self,
        code_hash: &str,
        uses: i64,
        expires_at: Option<Timestamp>,
    ) -> Result<Invite, StoreError>;
    /// Takes one use of the invite with this hash if it has one left and has
    /// not expired at `now`, in one statement; its id, or `None`.
    async fn redeem_invite(
        &self,
        code_hash: &str,
        now: Timestamp,
    ) -> Result<Option<i64>, StoreError>;
    /// Gives back a use taken by a registration that then failed.
    async fn return_invite(&self, id: i64) -> Result<(), StoreError>;
    async fn invites(&self) -> Result<Vec<Invite>, StoreError>;

    /// Public rooms that are not archived, oldest first.
    async fn rooms(&self) -> Result<Vec<Room>, StoreError>;
    /// The room of that name, whatever its visibility; archived rooms are
    /// not found.
    async fn room(&self, name: &RoomName) -> Result<Option<Room>, StoreError>;
    /// Creates a room (and its owner's membership, in one transaction);
    /// `Conflict` if the name is taken (archived rooms keep theirs).
    async fn create_room(&self, room: &NewRoom<'_>) -> Result<Room, StoreError>;
    /// The direct room called `name` for exactly `members`, creating it
    /// (with every member's membership, in one transaction) the first
    /// time. Two requests racing for the same set get the same room.
    async fn direct_room(
        &self,
        name: &RoomName,
        members: &[i64],
        now: Timestamp,
    ) -> Result<Room, StoreError>;
    async fn set_topic(&self, room: i64, topic: &str) -> Result<(), StoreError>;
    /// Hides the room from everything, keeping its messages; its name stays taken.
    async fn archive_room(&self, room: i64, now: Timestamp) -> Result<(), StoreError>;
    /// Deletes the room, its messages, memberships, bans and mutes.
    async fn purge_room(&self, room: i64) -> Result<(), StoreError>;

    /// `user`'s standing in the room `name` at `now`; `None` if no such
    /// room exists (or it is archived).
    async fn access(
        &self,
        name: &RoomName,
        user: i64,
        now: Timestamp,
    ) -> Result<Option<Access>, StoreError>;
    /// Adds `user` to `room` with `role`; false if already a member.
    async fn add_member(
        &self,
        room: i64,
        user: i64,
        role: RoomRole,
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Ends `user`'s membership, unless they are the room's last owner.
    async fn remove_member(&self, room: i64, user: i64) -> Result<MemberChange, StoreError>;
    /// Changes a member's role, unless that leaves the room without an owner.
    async fn set_role(
        &self,
        room: i64,
        user: i64,
        role: RoomRole,
    ) -> Result<MemberChange, StoreError>;
    /// The room's members, owners first, then by name.
    async fn members(&self, room: i64) -> Result<Vec<Member>, StoreError>;
    /// The rooms `user` is a member of, that are not archived, by name.
    async fn my_rooms(&self, user: i64) -> Result<Vec<MyRoom>, StoreError>;

    /// Bans `user` from `room` (replacing an earlier ban) and ends their
    /// membership, in one transaction. `LastOwner` refuses it and changes nothing.
    async fn ban(
        &self,
        room: i64,
        user: i64,
        by: i64,
        reason: Option<&str>,
        until: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<MemberChange, StoreError>;
    /// Lifts a ban; false if there was none.
    async fn unban(&self, room: i64, user: i64) -> Result<bool, StoreError>;
    /// Bans in force at `now`.
    async fn bans(&self, room: i64, now: Timestamp) -> Result<Vec<Sanction>, StoreError>;
    /// Mutes `user` in `room` (replacing an earlier mute).
    async fn mute(
        &self,
        room: i64,
        user: i64,
        by: i64,
        until: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(), StoreError>;
    async fn unmute(&self, room: i64, user: i64) -> Result<bool, StoreError>;
    /// Mutes in force at `now`.
    async fn mutes(&self, room: i64, now: Timestamp) -> Result<Vec<Sanction>, StoreError>;
    /// Of `pairs` (room id, user id), those where the user may no longer be
    /// in the room at `now`: the room is gone, or it is members-only and
    /// they are not a member, or they are banned.
    async fn refused_among(
        &self,
        pairs: &[(i64, i64)],
        now: Timestamp,
    ) -> Result<Vec<(i64, i64)>, StoreError>;

    /// The account of that (case-folded) name.
    async fn account(&self, username: &Username) -> Result<Option<Account>, StoreError>;
    /// Accounts by id, from `after` (exclusive), at most `limit`.
    async fn accounts(&self, after: i64, limit: i64) -> Result<Vec<Account>, StoreError>;
    async fn set_admin(&self, user: i64, admin: bool) -> Result<(), StoreError>;
    /// Disables (`Some(now)`) or enables (`None`) logins for `user`.
    async fn set_disabled(&self, user: i64, at: Option<Timestamp>) -> Result<(), StoreError>;

    /// Stores a batch in one transaction, in order, and says for each message
    /// whether it is new or a resend. Either all of the batch is stored or none.
    /// Within a room, `seq` (and `id`) follow commit order, even when several
    /// nodes append to the same room at once.
    async fn append(&self, batch: &[NewMessage]) -> Result<Vec<Appended>, StoreError>;
    async fn messages(&self, room_id: i64, page: Page) -> Result<Vec<StoredMessage>, StoreError>;
    /// The message `id` of the room (not a change), in its current state;
    /// deleted ones too (as tombstones).
    async fn message(&self, room_id: i64, id: i64) -> Result<Option<StoredMessage>, StoreError>;
    /// The reactions to each of `messages`, as `viewer` sees them (`me`),
    /// per message in the order the emoji were first used.
    async fn reactions(
        &self,
        messages: &[i64],
        viewer: i64,
    ) -> Result<Vec<(i64, ReactionCount)>, StoreError>;
    /// The texts a message had before its current one, oldest first, each
    /// with the time it was written.
    async fn versions(&self, message: i64) -> Result<Vec<(String, Timestamp)>, StoreError>;

    /// Lets go of connections; pending writes are already done by then.
    async fn close(&self);
}
