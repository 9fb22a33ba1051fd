//! How users, rooms and messages are kept. Everything above this module talks
//! to the `Store` trait; `sqlite` is the default backend.
//!
//! Queries are checked at run time, not with sqlx's compile-time macros: those
//! cannot serve SQLite and PostgreSQL from one code base. So that each query
//! is written once, `sql` holds the text for both dialects, `queries` runs the
//! one-statement ones and `batch` the append on either backend; `decode` reads
//! rows. `sqlite` and `postgres` keep only what differs: connection options,
//! migrations, how an append locks, and SQLite's checkpointer.

mod batch;
mod decode;
mod postgres;
mod queries;
mod sql;
mod sqlite;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use crate::model::{Room, RoomName, StoredMessage, Timestamp, User, Username};
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

/// A message on its way into the store.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub room_id: i64,
    pub room: String,
    pub author: User,
    pub content: String,
    pub created_at: Timestamp,
    pub client_id: Option<String>,
}

impl NewMessage {
    /// The message as stored under `id`, `seq`.
    pub fn stored(&self, id: i64, seq: i64) -> StoredMessage {
        StoredMessage {
            id,
            seq,
            room_id: self.room_id,
            room: self.room.clone(),
            author: self.author.clone(),
            content: self.content.clone(),
            created_at: self.created_at,
            client_id: self.client_id.clone(),
        }
    }
}

/// What became of one message of an appended batch.
#[derive(Debug, Clone)]
pub enum Appended {
    /// Stored now, under a fresh id.
    New(StoredMessage),
    /// The author already stored a message with this client id: this is it.
    Duplicate(StoredMessage),
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
    /// The user of `session`, if it is `user`'s and has not ended.
    async fn session_user(&self, session: i64, user: i64) -> Result<Option<User>, StoreError>;
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

    async fn rooms(&self) -> Result<Vec<Room>, StoreError>;
    async fn room(&self, name: &RoomName) -> Result<Option<Room>, StoreError>;
    async fn create_room(&self, name: &RoomName, topic: &str) -> Result<Room, StoreError>;

    /// Stores a batch in one transaction, in order, and says for each message
    /// whether it is new or a resend. Either all of the batch is stored or none.
    /// Within a room, `seq` (and `id`) follow commit order, even when several
    /// nodes append to the same room at once.
    async fn append(&self, batch: &[NewMessage]) -> Result<Vec<Appended>, StoreError>;
    async fn messages(&self, room_id: i64, page: Page) -> Result<Vec<StoredMessage>, StoreError>;

    /// Lets go of connections; pending writes are already done by then.
    async fn close(&self);
}
