//! PostgreSQL, for more than one node. Several nodes append to the same
//! rooms at once, so each batch first locks the rows of the rooms it writes
//! to, in id order (no deadlock between two batches): a room's `seq` and
//! `id` are then assigned in commit order, which is the order every node
//! delivers in.

use super::batch::{append_batch, list};
use super::queries::Queries;
use super::sql::{self, Dialect};
use super::{Appended, Credentials, NewMessage, Page, Store, StoreError, decode};
use crate::model::{Room, RoomName, StoredMessage, User, Username};
use async_trait::async_trait;
use sqlx::Postgres;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub struct PostgresStore {
    queries: Queries<Postgres>,
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
        Ok(Self {
            queries: Queries::new(pool, Dialect::Postgres),
        })
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn create_user(
        &self,
        username: &Username,
        password_hash: &str,
    ) -> Result<User, StoreError> {
        self.queries.create_user(username, password_hash).await
    }

    async fn credentials(&self, username: &Username) -> Result<Option<Credentials>, StoreError> {
        self.queries.credentials(username).await
    }

    async fn user(&self, id: i64) -> Result<Option<User>, StoreError> {
        self.queries.user(id).await
    }

    async fn rooms(&self) -> Result<Vec<Room>, StoreError> {
        self.queries.rooms().await
    }

    async fn room(&self, name: &RoomName) -> Result<Option<Room>, StoreError> {
        self.queries.room(name).await
    }

    async fn create_room(&self, name: &RoomName, topic: &str) -> Result<Room, StoreError> {
        self.queries.create_room(name, topic).await
    }

    async fn append(&self, batch: &[NewMessage]) -> Result<Vec<Appended>, StoreError> {
        let mark = Dialect::Postgres.mark();
        let mut tx = self.queries.pool().begin().await?;
        // Locking the rooms, in id order, serialises writers per room.
        let appended = append_batch!(tx, batch, mark, |rooms| format!(
            "SELECT id, last_seq FROM rooms WHERE id IN ({}) ORDER BY id FOR UPDATE",
            list(rooms, mark)
        ));
        tx.commit().await?;
        Ok(appended)
    }

    async fn messages(&self, room_id: i64, page: Page) -> Result<Vec<StoredMessage>, StoreError> {
        self.queries.messages(room_id, page).await
    }

    async fn close(&self) {
        self.queries.pool().close().await;
    }
}
