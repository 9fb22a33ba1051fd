//! PostgreSQL, for more than one node. Several nodes append to the same
//! rooms at once, so each batch first locks the rows of the rooms it writes
//! to, in id order (no deadlock between two batches): a room's `seq` and
//! `id` are then assigned in commit order, which is the order every node
//! delivers in.

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
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{Connection, Postgres};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub struct PostgresStore {
    queries: Queries<Postgres>,
}

impl PostgresStore {
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?;
        // One connection first, on its own: the pool would only say that it
        // timed out, not why (refused, unknown database, authentication).
        let target = format!(
            "PostgreSQL at {}:{}, database {:?}",
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or(options.get_username())
        );
        let first = PgConnection::connect_with(&options)
            .await
            .map_err(|err| StoreError::Open {
                target,
                reason: err.to_string(),
            })?;
        first.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            queries: Queries::new(pool, Dialect::Postgres),
        })
    }
}

async fn append_in_transaction(
    conn: &mut PgConnection,
    batch: &[NewMessage],
) -> Result<Vec<Appended>, StoreError> {
    const DIALECT: Dialect = Dialect::Postgres;
    let mark = DIALECT.mark();
    let mut tx = conn.begin().await?;
    // Locking the rooms, in id order, serialises writers per room.
    let appended = append_batch!(tx, batch, DIALECT, |rooms| format!(
        "SELECT id, last_seq FROM rooms WHERE id IN ({}) ORDER BY id FOR UPDATE",
        list(rooms, mark)
    ));
    tx.commit().await?;
    Ok(appended)
}

/// After a failed append the connection goes back to the pool only once
/// the ROLLBACK the dropped transaction queued has been answered: were it
/// left queued, the rows it locked would stay locked until the connection's
/// next use. A connection that cannot do that is closed; the pool opens
/// another.
async fn settle_failed_writer(mut conn: PoolConnection<Postgres>) {
    let flushed = conn.ping().await;
    if flushed.is_err() || conn.is_in_transaction() {
        tracing::warn!("connection left inside a transaction after a failed append; closing it");
        if let Err(err) = conn.close().await {
            tracing::debug!(error = %err, "closing the broken connection failed");
        }
    }
}

store_over_queries!(PostgresStore, {
    async fn append(&self, batch: &[NewMessage]) -> Result<Vec<Appended>, StoreError> {
        let mut conn = self.queries.pool().acquire().await?;
        let appended = append_in_transaction(&mut conn, batch).await;
        if appended.is_err() {
            settle_failed_writer(conn).await;
        }
        appended
    }

    async fn close(&self) {
        self.queries.pool().close().await;
    }
});
