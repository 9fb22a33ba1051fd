//! SQLite, embedded: the default store. WAL mode lets readers go on while the
//! single writer commits; `synchronous=NORMAL` in WAL mode keeps every
//! committed transaction across a process crash (only a power cut can lose
//! the last ones), which is the guarantee an acknowledgement gives.

use super::{Appended, Credentials, NewMessage, Page, Store, StoreError};
use crate::chat::model::{Room, StoredMessage, Timestamp, User};
use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use std::path::Path;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) `path` and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }
}

const MESSAGE_COLUMNS: &str = "m.id, r.name AS room, u.id AS author_id, u.username, m.content, \
     m.created_at, m.client_id \
     FROM messages m JOIN users u ON u.id = m.author_id JOIN rooms r ON r.id = m.room_id";

fn message_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<StoredMessage, sqlx::Error> {
    Ok(StoredMessage {
        id: row.try_get("id")?,
        room: row.try_get("room")?,
        author: User {
            id: row.try_get("author_id")?,
            username: row.try_get("username")?,
        },
        content: row.try_get("content")?,
        created_at: Timestamp(row.try_get("created_at")?),
        client_id: row.try_get("client_id")?,
    })
}

fn room_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Room, sqlx::Error> {
    Ok(Room {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        topic: row.try_get("topic")?,
        created_at: Timestamp(row.try_get("created_at")?),
    })
}

fn conflict_or(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        _ => StoreError::Database(err),
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
                user: User {
                    id: row.try_get("id")?,
                    username: row.try_get("username")?,
                },
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
        Ok(row
            .map(|row| -> Result<User, sqlx::Error> {
                Ok(User {
                    id: row.try_get("id")?,
                    username: row.try_get("username")?,
                })
            })
            .transpose()?)
    }

    async fn rooms(&self) -> Result<Vec<Room>, StoreError> {
        let rows = sqlx::query("SELECT id, name, topic, created_at FROM rooms ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(room_from_row).collect::<Result<_, _>>()?)
    }

    async fn room(&self, name: &str) -> Result<Option<Room>, StoreError> {
        let row = sqlx::query("SELECT id, name, topic, created_at FROM rooms WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(room_from_row).transpose()?)
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
        })
    }

    async fn append(&self, batch: &[NewMessage]) -> Result<Vec<Appended>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut out = Vec::with_capacity(batch.len());
        for msg in batch {
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO messages (room_id, author_id, content, created_at, client_id) \
                 VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(msg.room_id)
            .bind(msg.author.id)
            .bind(&msg.content)
            .bind(msg.created_at.0)
            .bind(&msg.client_id)
            .fetch_optional(&mut *tx)
            .await?;
            let appended = match inserted {
                Some(id) => Appended::New(StoredMessage {
                    id,
                    room: msg.room.clone(),
                    author: msg.author.clone(),
                    content: msg.content.clone(),
                    created_at: msg.created_at,
                    client_id: msg.client_id.clone(),
                }),
                None => {
                    let sql = format!(
                        "SELECT {MESSAGE_COLUMNS} WHERE m.author_id = ? AND m.client_id = ?"
                    );
                    let row = sqlx::query(&sql)
                        .bind(msg.author.id)
                        .bind(&msg.client_id)
                        .fetch_one(&mut *tx)
                        .await?;
                    Appended::Duplicate(message_from_row(&row)?)
                }
            };
            out.push(appended);
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn messages(&self, room_id: i64, page: Page) -> Result<Vec<StoredMessage>, StoreError> {
        let rows = match page {
            Page::NewestFirst { skip, limit } => {
                let sql = format!(
                    "SELECT {MESSAGE_COLUMNS} WHERE m.room_id = ? ORDER BY m.id DESC LIMIT ? OFFSET ?"
                );
                sqlx::query(&sql)
                    .bind(room_id)
                    .bind(limit)
                    .bind(skip)
                    .fetch_all(&self.pool)
                    .await?
            }
            Page::Before { id, limit } => {
                let sql = format!(
                    "SELECT * FROM (SELECT {MESSAGE_COLUMNS} WHERE m.room_id = ? AND m.id < ? \
                     ORDER BY m.id DESC LIMIT ?) ORDER BY id ASC"
                );
                sqlx::query(&sql)
                    .bind(room_id)
                    .bind(id.unwrap_or(i64::MAX))
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
            Page::After { id, limit } => {
                let sql = format!(
                    "SELECT {MESSAGE_COLUMNS} WHERE m.room_id = ? AND m.id > ? ORDER BY m.id ASC LIMIT ?"
                );
                sqlx::query(&sql)
                    .bind(room_id)
                    .bind(id)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        Ok(rows
            .iter()
            .map(message_from_row)
            .collect::<Result<_, _>>()?)
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
