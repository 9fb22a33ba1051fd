//! PostgreSQL, for more than one node. Several nodes append to the same
//! rooms at once, so each batch first locks the rows of the rooms it writes
//! to, in id order (no deadlock between two batches): a room's `seq` and
//! `id` are then assigned in commit order, which is the order every node
//! delivers in.

use super::batch::{append_batch, list};
use super::rows::{self, ROOM_COLUMNS, conflict_or};
use super::{Appended, Credentials, NewMessage, Page, Store, StoreError};
use crate::model::{Room, StoredMessage, Timestamp, User};
use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Row};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn create_user(
        &self,
        username: &str,
        key: &str,
        password_hash: &str,
    ) -> Result<User, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (username, username_key, password_hash, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
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
            sqlx::query("SELECT id, username, password_hash FROM users WHERE username_key = $1")
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
        let row = sqlx::query("SELECT id, username FROM users WHERE id = $1")
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
        let sql = format!("SELECT {ROOM_COLUMNS} FROM rooms WHERE name = $1");
        let row = sqlx::query(&sql)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(rows::room).transpose()?)
    }

    async fn create_room(&self, name: &str, topic: &str) -> Result<Room, StoreError> {
        let created_at = Timestamp::now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO rooms (name, topic, created_at) VALUES ($1, $2, $3) RETURNING id",
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

    async fn append(&self, batch: &[NewMessage]) -> Result<Vec<Appended>, StoreError> {
        let mark = |n: usize| format!("${n}");
        let mut tx = self.pool.begin().await?;
        // Locking the rooms, in id order, serialises writers per room.
        let appended = append_batch!(tx, batch, mark, |rooms| format!(
            "SELECT id, last_seq FROM rooms WHERE id IN ({}) ORDER BY id FOR UPDATE",
            list(rooms, mark)
        ));
        tx.commit().await?;
        Ok(appended)
    }

    async fn messages(&self, room_id: i64, page: Page) -> Result<Vec<StoredMessage>, StoreError> {
        let (sql, [a, b, c]) = rows::page_query(page, room_id, |n| format!("${n}"));
        let found = sqlx::query(&sql)
            .bind(a)
            .bind(b)
            .bind(c)
            .fetch_all(&self.pool)
            .await?;
        Ok(found.iter().map(rows::message).collect::<Result<_, _>>()?)
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
