//! SQLite, embedded: the default store. WAL mode lets readers go on while the
//! single writer commits; `synchronous=NORMAL` in WAL mode keeps every
//! committed transaction across a process crash (only a power cut can lose
//! the last ones), which is the guarantee an acknowledgement gives.

use super::batch::{Plan, tuples};
use super::rows::{self, ROOM_COLUMNS, conflict_or};
use super::{Appended, Credentials, NewMessage, Page, Store, StoreError};
use crate::chat::model::{Room, StoredMessage, Timestamp, User};
use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub struct SqliteStore {
    /// Readers: history, logins, lookups.
    pool: SqlitePool,
    /// The one connection that appends messages. Its own pool keeps its page
    /// cache warm; SQLite has one writer at a time anyway.
    writer: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url` (`sqlite://path`)
    /// and brings its schema up to date.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10))
            // Reads straight from the mapped file instead of copying pages in.
            .pragma("mmap_size", "268435456")
            .pragma("cache_size", "-16384");
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&pool).await?;
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .connect_with(options)
            .await?;
        Ok(Self { pool, writer })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_user(
        &self,
        username: &str,
        key: &str,
        password_hash: &str,
    ) -> Result<User, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (username, username_key, password_hash, created_at) \
             VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(username)
        .bind(key)
        .bind(password_hash)
        .bind(Timestamp::now().0)
        .fetch_one(&self.pool)
        .await
        .map_err(conflict_or)?;
        Ok(User {
            id,
            username: username.to_owned(),
        })
    }

    async fn credentials(&self, key: &str) -> Result<Option<Credentials>, StoreError> {
        let row =
            sqlx::query("SELECT id, username, password_hash FROM users WHERE username_key = ?")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|row| {
            Ok(Credentials {
                user: rows::user(&row)?,
                password_hash: row.try_get("password_hash")?,
            })
        })
        .transpose()
    }

    async fn user(&self, id: i64) -> Result<Option<User>, StoreError> {
        let row = sqlx::query("SELECT id, username FROM users WHERE id = ?")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(rows::user).transpose()?)
    }

    async fn rooms(&self) -> Result<Vec<Room>, StoreError> {
        let sql = format!("SELECT {ROOM_COLUMNS} FROM rooms ORDER BY id");
        let found = sqlx::query(&sql).fetch_all(&self.pool).await?;
        Ok(found.iter().map(rows::room).collect::<Result<_, _>>()?)
    }

    async fn room(&self, name: &str) -> Result<Option<Room>, StoreError> {
        let sql = format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE name = ?");
        let row = sqlx::query(&sql)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(rows::room).transpose()?)
    }

    async fn create_room(&self, name: &str, topic: &str) -> Result<Room, StoreError> {
        let created_at = Timestamp::now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO rooms (name, topic, created_at) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(name)
        .bind(topic)
        .bind(created_at.0)
        .fetch_one(&self.pool)
        .await
        .map_err(conflict_or)?;
        Ok(Room {
            id,
            name: name.to_owned(),
            topic: topic.to_owned(),
            created_at,
            last_seq: 0,
        })
    }

    /// SQLite has one writer at a time, so numbering inside the transaction
    /// is enough to make `seq` follow commit order.
    async fn append(&self, batch: &[NewMessage]) -> Result<Vec<Appended>, StoreError> {
        // Anonymous `?`s, bound in order: sqlx asks SQLite for every
        // parameter's name, and for numbered ones (`?7`) that lookup is a
        // linear scan, quadratic over a 3,000-parameter INSERT.
        let mark = |_: usize| "?".to_owned();
        let mut tx = self.writer.begin().await?;

        let keyed: Vec<&NewMessage> = batch.iter().filter(|m| m.client_id.is_some()).collect();
        let mut stored = HashMap::new();
        if !keyed.is_empty() {
            let sql = rows::resends_query(keyed.len(), mark);
            let mut query = sqlx::query(&sql);
            for m in &keyed {
                query = query.bind(m.author.id).bind(m.client_id.as_deref());
            }
            for row in query.fetch_all(&mut *tx).await? {
                let found = rows::message(&row)?;
                if let Some(cid) = found.client_id.clone() {
                    stored.insert((found.author.id, cid), found);
                }
            }
        }

        let mut room_ids: Vec<i64> = batch.iter().map(|m| m.room_id).collect();
        room_ids.sort_unstable();
        room_ids.dedup();
        let sql = format!(
            "SELECT id, last_seq FROM rooms WHERE id IN ({})",
            (1..=room_ids.len())
                .map(mark)
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut query = sqlx::query_as::<_, (i64, i64)>(&sql);
        for id in &room_ids {
            query = query.bind(id);
        }
        let before: HashMap<i64, i64> = query.fetch_all(&mut *tx).await?.into_iter().collect();

        let plan = Plan::new(batch, stored, before.clone());
        let inserts = plan.inserts(batch);
        let mut ids = HashMap::new();
        if !inserts.is_empty() {
            let sql = format!(
                "INSERT INTO messages (room_id, seq, author_id, content, created_at, client_id) \
                 VALUES {} RETURNING id, room_id, seq",
                tuples(inserts.len(), 6, 1, mark)
            );
            let mut query = sqlx::query_as::<_, (i64, i64, i64)>(&sql);
            for (m, seq) in &inserts {
                query = query
                    .bind(m.room_id)
                    .bind(seq)
                    .bind(m.author.id)
                    .bind(&m.content)
                    .bind(m.created_at.0)
                    .bind(&m.client_id);
            }
            for (id, room_id, seq) in query.fetch_all(&mut *tx).await? {
                ids.insert((room_id, seq), id);
            }
        }
        let moved: Vec<(i64, i64)> = plan
            .last_seq
            .iter()
            .filter(|(room, last)| before.get(*room) != Some(*last))
            .map(|(room, last)| (*room, *last))
            .collect();
        if !moved.is_empty() {
            let sql = rows::counters_update(moved.len(), mark);
            let mut query = sqlx::query_as::<_, (i64,)>(&sql);
            for (room, last) in &moved {
                query = query.bind(room).bind(last);
            }
            query.fetch_all(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(plan.finish(batch, &ids)?)
    }

    async fn messages(&self, room_id: i64, page: Page) -> Result<Vec<StoredMessage>, StoreError> {
        let (sql, [a, b, c]) = rows::page_query(page, room_id, |n| format!("?{n}"));
        let found = sqlx::query(&sql)
            .bind(a)
            .bind(b)
            .bind(c)
            .fetch_all(&self.pool)
            .await?;
        Ok(found.iter().map(rows::message).collect::<Result<_, _>>()?)
    }

    async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}
