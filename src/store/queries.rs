//! The one-statement queries, run the same way on either backend: each
//! backend's `Store` hands them its reader pool. Generic over the database,
//! with sqlx's bounds stated once for the whole block; what differs between
//! the backends (opening, migrations, appending) stays in their own files.

use super::decode;
use super::sql::{Dialect, Statements};
use super::{Credentials, Invite, Page, StoreError};
use crate::model::{Room, RoomName, StoredMessage, Timestamp, User, Username};
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Type};

pub struct Queries<DB: Database> {
    pool: Pool<DB>,
    sql: Statements,
}

impl<DB> Queries<DB>
where
    DB: Database,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB>,
    for<'q> String: Encode<'q, DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> Option<String>: Decode<'r, DB>,
    for<'r> Option<i64>: Decode<'r, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    &'static str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
{
    pub fn new(pool: Pool<DB>, dialect: Dialect) -> Self {
        Self {
            pool,
            sql: Statements::new(dialect),
        }
    }

    pub fn pool(&self) -> &Pool<DB> {
        &self.pool
    }

    pub async fn create_user(
        &self,
        username: &Username,
        password_hash: &str,
    ) -> Result<User, StoreError> {
        let id: i64 = sqlx::query_scalar(&self.sql.create_user)
            .bind(username.as_str())
            .bind(username.key())
            .bind(password_hash)
            .bind(Timestamp::now().0)
            .fetch_one(&self.pool)
            .await
            .map_err(conflict_or)?;
        Ok(User {
            id,
            username: username.as_str().to_owned(),
        })
    }

    pub async fn credentials(
        &self,
        username: &Username,
    ) -> Result<Option<Credentials>, StoreError> {
        let row = sqlx::query(&self.sql.credentials)
            .bind(username.key())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(Credentials {
                user: decode::user(&row)?,
                password_hash: row.try_get("password_hash")?,
            })
        })
        .transpose()
    }

    pub async fn user(&self, id: i64) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(&self.sql.user)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(decode::user).transpose()?)
    }

    pub async fn create_invite(
        &self,
        code_hash: &str,
        uses: i64,
        expires_at: Option<Timestamp>,
    ) -> Result<Invite, StoreError> {
        let created_at = Timestamp::now();
        let id: i64 = sqlx::query_scalar(&self.sql.create_invite)
            .bind(code_hash)
            .bind(uses)
            .bind(created_at.0)
            .bind(expires_at.map(|t| t.0))
            .fetch_one(&self.pool)
            .await
            .map_err(conflict_or)?;
        Ok(Invite {
            id,
            uses_left: uses,
            created_at,
            expires_at,
        })
    }

    pub async fn redeem_invite(
        &self,
        code_hash: &str,
        now: Timestamp,
    ) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_scalar(&self.sql.redeem_invite)
            .bind(code_hash)
            .bind(now.0)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn return_invite(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query(&self.sql.return_invite)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn invites(&self) -> Result<Vec<Invite>, StoreError> {
        let found = sqlx::query(&self.sql.invites).fetch_all(&self.pool).await?;
        found
            .iter()
            .map(|row| {
                Ok(Invite {
                    id: row.try_get("id")?,
                    uses_left: row.try_get("uses_left")?,
                    created_at: Timestamp(row.try_get("created_at")?),
                    expires_at: row.try_get::<Option<i64>, _>("expires_at")?.map(Timestamp),
                })
            })
            .collect()
    }

    pub async fn rooms(&self) -> Result<Vec<Room>, StoreError> {
        let found = sqlx::query(&self.sql.rooms).fetch_all(&self.pool).await?;
        Ok(found.iter().map(decode::room).collect::<Result<_, _>>()?)
    }

    pub async fn room(&self, name: &RoomName) -> Result<Option<Room>, StoreError> {
        let row = sqlx::query(&self.sql.room)
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(decode::room).transpose()?)
    }

    pub async fn create_room(&self, name: &RoomName, topic: &str) -> Result<Room, StoreError> {
        let created_at = Timestamp::now();
        let id: i64 = sqlx::query_scalar(&self.sql.create_room)
            .bind(name.as_str())
            .bind(topic)
            .bind(created_at.0)
            .fetch_one(&self.pool)
            .await
            .map_err(conflict_or)?;
        Ok(Room {
            id,
            name: name.as_str().to_owned(),
            topic: topic.to_owned(),
            created_at,
            last_seq: 0,
        })
    }

    pub async fn messages(
        &self,
        room_id: i64,
        page: Page,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let (sql, params) = self.sql.page(page, room_id);
        let mut query = sqlx::query(sql);
        for param in params {
            query = query.bind(param);
        }
        let found = query.fetch_all(&self.pool).await?;
        Ok(found
            .iter()
            .map(decode::message)
            .collect::<Result<_, _>>()?)
    }
}

/// A unique constraint said no: the caller decides what that means.
fn conflict_or(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        _ => StoreError::Database(err),
    }
}
