//! SQLite, embedded: the default store. WAL mode lets readers go on while the
//! single writer commits; `synchronous=NORMAL` in WAL mode keeps every
//! committed transaction across a process crash (only a power cut can lose
//! the last ones), which is the guarantee an acknowledgement gives.

use super::batch::{append_batch, list};
use super::queries::Queries;
use super::sql::{self, Dialect};
use super::{
    Access, Account, Appended, Credentials, Invite, Member, MemberChange, MyRoom, NewMessage,
    NewRoom, NewSession, Page, Refreshed, Sanction, Session, Store, StoreError, decode,
};
use crate::model::{
    ReactionCount, Room, RoomName, RoomRole, StoredMessage, Timestamp, User, Username,
};
use async_trait::async_trait;
use sqlx::pool::PoolConnection;
use sqlx::sqlite::{
    Sqlite, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Connection, SqlitePool};
use std::str::FromStr;
use std::time::Duration;

/// Reader connections, all opened at the start: a pool that grew later
/// would open files (the database, its WAL and shared memory) just when
/// the server may be at its file limit, taking the descriptors kept for
/// refusing connections clearly (see `http_server::budget`).
const READERS: u32 = 8;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub struct SqliteStore {
    /// Readers: history, logins, lookups.
    queries: Queries<Sqlite>,
    /// The one connection that appends messages. Its own pool keeps its page
    /// cache warm; SQLite has one writer at a time anyway.
    writer: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://path`)
    /// and brings its schema up to date. `?max_page_count=N` in the URL caps
    /// the database at N pages: past it writes fail as on a full disk.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let (url, page_cap) = split_page_cap(url)?;
        let mut options = SqliteConnectOptions::from_str(&url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // Reads straight from the mapped file instead of copying pages in.
            .pragma("mmap_size", "268435456")
            .pragma("cache_size", "-16384")
            // Sorts and `IN (…)` lists in memory: a temporary file would
            // take a descriptor per query, at any moment, the server's file
            // limit included (its spare for refusing clearly).
            .pragma("temp_store", "memory")
            // A deleted message's text is zeroed in its page, not left in
            // free space (`fast`: where that costs no extra write).
            .pragma("secure_delete", "fast")
            // Once the WAL restarts, its file is cut back to this size.
            .pragma("journal_size_limit", WAL_LIMIT_BYTES.to_string());
        if let Some(pages) = page_cap {
            // Per connection, not kept in the file: every connection gets it.
            options = options.pragma("max_page_count", pages.to_string());
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(READERS)
            // One while migrating; the others below, one by one (sqlx would
            // open `min_connections` at once, in the background, where they
            // may find the database locked while another sets its journal
            // mode), and kept open for good.
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&pool).await?;
        // Opened now, all of them, rather than when first needed.
        let mut opened = Vec::with_capacity(READERS as usize);
        for _ in 0..READERS {
            opened.push(pool.acquire().await?);
        }
        drop(opened);
        // The writer never checkpoints: SQLite would do it inside a commit,
        // and its fsync would stall every message behind it. A background
        // PASSIVE checkpoint on a reader connection runs beside the writer.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .connect_with(options.pragma("wal_autocheckpoint", "0"))
            .await?;
        tokio::spawn(checkpoint_loop(pool.clone()));
        Ok(Self {
            queries: Queries::new(pool, Dialect::Sqlite),
            writer,
        })
    }
}

/// The URL without `max_page_count`, which sqlx does not know, and its value.
fn split_page_cap(url: &str) -> Result<(String, Option<u64>), StoreError> {
    let Some((path, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), None));
    };
    let mut cap = None;
    let mut rest = Vec::new();
    for pair in query.split('&') {
        match pair.strip_prefix("max_page_count=") {
            Some(value) => {
                let pages = value
                    .parse::<u64>()
                    .map_err(|_| StoreError::BadPageCap(value.to_owned()))?;
                cap = Some(pages);
            }
            None => rest.push(pair),
        }
    }
    let url = if rest.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", rest.join("&"))
    };
    Ok((url, cap))
}

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(1);
/// WAL size past which the checkpointer makes the WAL start over.
const WAL_LIMIT_BYTES: i64 = 64 * 1024 * 1024;

/// Keeps the WAL short; ends when the pool is closed.
///
/// A PASSIVE checkpoint copies what it can without ever blocking the writer,
/// but under steady writes it never catches up with the last commit, and
/// SQLite only starts the WAL over once everything in it was copied: the
/// file grows without end (1 GB in a minute at 700k deliveries/s). So when
/// the WAL passes `WAL_LIMIT_BYTES`, a RESTART checkpoint holds the writer
/// back for the little PASSIVE left behind and starts the WAL over; the
/// writer waits on its busy timeout, it does not fail.
async fn checkpoint_loop(pool: SqlitePool) {
    let page_size: i64 = match sqlx::query_scalar("PRAGMA page_size")
        .fetch_one(&pool)
        .await
    {
        Ok(size) => size,
        Err(err) => {
            tracing::warn!(error = %err, "cannot read the page size; WAL checkpoints disabled");
            return;
        }
    };
    let limit_frames = WAL_LIMIT_BYTES / page_size.max(1);
    let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        match checkpoint(&pool, "PASSIVE").await {
            Ok(frames) if frames > limit_frames => {
                if let Err(err) = checkpoint(&pool, "RESTART").await {
                    tracing::debug!(error = %err, frames, "WAL restart skipped");
                }
            }
            Ok(_) => {}
            Err(err) => tracing::debug!(error = %err, "checkpoint skipped"),
        }
    }
}

/// Runs a checkpoint; returns how many frames (pages) the WAL held before it.
async fn checkpoint(pool: &SqlitePool, mode: &str) -> Result<i64, sqlx::Error> {
    // (busy, frames in the WAL, frames copied back)
    let (_, frames, _): (i64, i64, i64) = sqlx::query_as(&format!("PRAGMA wal_checkpoint({mode})"))
        .fetch_one(pool)
        .await?;
    Ok(frames)
}

/// IMMEDIATE: take the write lock up front. A deferred transaction that
/// reads first and then finds the lock taken (a checkpoint restarting the
/// WAL, a registration) fails at once with "database is locked" instead of
/// waiting on the busy timeout.
async fn append_in_transaction(
    conn: &mut SqliteConnection,
    batch: &[NewMessage],
) -> Result<Vec<Appended>, StoreError> {
    const DIALECT: Dialect = Dialect::Sqlite;
    let mark = DIALECT.mark();
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let appended = append_batch!(tx, batch, DIALECT, |rooms| format!(
        "SELECT id, last_seq FROM rooms WHERE id IN ({})",
        list(rooms, mark)
    ));
    tx.commit().await?;
    Ok(appended)
}

/// After a failed append the writer's connection is kept only if it is
/// clean. On a full disk (and on I/O errors) SQLite may roll the
/// transaction back by itself; the ROLLBACK sqlx then sends fails, sqlx
/// keeps counting the connection as inside a transaction, and every later
/// `BEGIN` on it fails ("non-zero transaction depth"): the writer would stay
/// broken after the space came back. Such a connection is closed instead,
/// and the pool opens a fresh one for the next append.
async fn settle_failed_writer(mut conn: PoolConnection<Sqlite>) {
    // The dropped transaction's ROLLBACK is queued, not done: the ping
    // waits for it, so what the depth says afterwards is its outcome.
    let flushed = conn.ping().await;
    if flushed.is_err() || conn.is_in_transaction() {
        tracing::warn!("writer connection left inside a transaction; opening a fresh one");
        if let Err(err) = conn.close().await {
            tracing::debug!(error = %err, "closing the broken writer connection failed");
        }
    }
}

store_over_queries!(SqliteStore, {
    /// SQLite has one writer at a time, so numbering inside the transaction
    /// is enough to make `seq` follow commit order.
    async fn append(&self, batch: &[NewMessage]) -> Result<Vec<Appended>, StoreError> {
        let mut conn = self.writer.acquire().await?;
        let appended = append_in_transaction(&mut conn, batch).await;
        if appended.is_err() {
            settle_failed_writer(conn).await;
        }
        appended
    }

    async fn close(&self) {
        self.writer.close().await;
        self.queries.pool().close().await;
    }
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_cap_leaves_the_url_to_sqlx() {
        let split = |url| split_page_cap(url).expect("a valid URL");
        assert_eq!(split("sqlite://a.db"), ("sqlite://a.db".into(), None));
        assert_eq!(
            split("sqlite://a.db?max_page_count=9"),
            ("sqlite://a.db".into(), Some(9))
        );
        assert_eq!(
            split("sqlite://a.db?mode=rwc&max_page_count=9"),
            ("sqlite://a.db?mode=rwc".into(), Some(9))
        );
        assert!(split_page_cap("sqlite://a.db?max_page_count=lots").is_err());
    }

    /// On a full disk SQLite ends the transaction by itself; the black-box
    /// test's page cap does not get it to (it rolls back the statement
    /// only), so here the writer is put in that state by hand.
    #[tokio::test]
    async fn a_writer_whose_transaction_sqlite_ended_is_replaced() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = SqliteStore::open(&url).await.expect("store opens");
        let author = store
            .create_user(&Username::parse("ann").expect("a name"), "x")
            .await
            .expect("user");
        let room = store
            .create_room(&NewRoom {
                name: &RoomName::parse("r").expect("a room name"),
                topic: "",
                visibility: crate::model::Visibility::Public,
                owner: None,
            })
            .await
            .expect("room");
        let mut conn = store.writer.acquire().await.expect("the writer");
        {
            let mut tx = conn.begin_with("BEGIN IMMEDIATE").await.expect("begin");
            sqlx::raw_sql("ROLLBACK")
                .execute(&mut *tx)
                .await
                .expect("rollback behind sqlx's back");
        }
        settle_failed_writer(conn).await;
        let message = NewMessage {
            room_id: room.id,
            room: room.name.clone(),
            author,
            content: "after".into(),
            created_at: Timestamp::now(),
            client_id: None,
            reply_to: None,
            change: None,
        };
        let appended = store.append(&[message]).await;
        assert!(appended.is_ok(), "the writer is stuck: {appended:?}");
    }
}
