//! The one-statement queries, run the same way on either backend: each
//! backend's `Store` hands them its reader pool. Generic over the database,
//! with sqlx's bounds stated once for the whole block; what differs between
//! the backends (opening, migrations, appending) stays in their own files.

use super::decode;
use super::sql::{Dialect, Statements};
use super::{Credentials, Invite, NewSession, Page, Refreshed, Session, StoreError};
use crate::model::{Room, RoomName, StoredMessage, Timestamp, User, Username};
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Type};

pub struct Queries<DB: Database> {
    pool: Pool<DB>,
    sql: Statements,
    mark: fn(usize) -> String,
}

/// Ids asked about per statement: well under either backend's parameter limit.
const IDS_PER_QUERY: usize = 500;

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
    for<'q> Option<&'q str>: Encode<'q, DB>,
    &'static str: ColumnIndex<DB::Row>,
    usize: ColumnIndex<DB::Row>,
{
    pub fn new(pool: Pool<DB>, dialect: Dialect) -> Self {
        Self {
            pool,
            sql: Statements::new(dialect),
            mark: dialect.mark(),
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

    pub async fn set_password(&self, user: i64, password_hash: &str) -> Result<(), StoreError> {
        sqlx::query(&self.sql.set_password)
            .bind(password_hash)
            .bind(user)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn create_session(&self, session: &NewSession<'_>) -> Result<i64, StoreError> {
        let now = Timestamp::now();
        Ok(sqlx::query_scalar(&self.sql.create_session)
            .bind(session.user_id)
            .bind(now.0)
            .bind(now.0)
            .bind(session.user_agent)
            .bind(session.address)
            .bind(session.refresh_hash)
            .bind(session.refresh_expires_at.0)
            .fetch_one(&self.pool)
            .await?)
    }

    pub async fn session_user(&self, session: i64, user: i64) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(&self.sql.session_user)
            .bind(session)
            .bind(user)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(decode::user).transpose()?)
    }

    pub async fn refresh(
        &self,
        old: &str,
        new: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<Refreshed, StoreError> {
        let spent: Result<Option<i64>, _> = sqlx::query_scalar(&self.sql.spend_refresh)
            .bind(old)
            .bind(now.0)
            .fetch_optional(&self.pool)
            .await;
        match spent.map_err(conflict_or) {
            Ok(Some(session)) => {
                let user: i64 = sqlx::query_scalar(&self.sql.rotate_refresh)
                    .bind(new)
                    .bind(expires_at.0)
                    .bind(now.0)
                    .bind(session)
                    .fetch_one(&self.pool)
                    .await?;
                return Ok(Refreshed::Rotated { session, user });
            }
            // Already spent (the race's loser, or a copy), or not current.
            Ok(None) | Err(StoreError::Conflict) => {}
            Err(err) => return Err(err),
        }
        let row = sqlx::query(&self.sql.spent_refresh)
            .bind(old)
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => Refreshed::Spent {
                session: row.try_get("session_id")?,
                user: row.try_get("user_id")?,
            },
            None => Refreshed::Unknown,
        })
    }

    pub async fn sessions(&self, user: i64, now: Timestamp) -> Result<Vec<Session>, StoreError> {
        let found = sqlx::query(&self.sql.sessions)
            .bind(user)
            .bind(now.0)
            .fetch_all(&self.pool)
            .await?;
        found
            .iter()
            .map(|row| {
                Ok(Session {
                    id: row.try_get("id")?,
                    created_at: Timestamp(row.try_get("created_at")?),
                    last_used_at: Timestamp(row.try_get("last_used_at")?),
                    user_agent: row.try_get("user_agent")?,
                    address: row.try_get("address")?,
                })
            })
            .collect()
    }

    pub async fn end_session(
        &self,
        session: i64,
        user: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let ended: Option<i64> = sqlx::query_scalar(&self.sql.end_session)
            .bind(now.0)
            .bind(session)
            .bind(user)
            .fetch_optional(&self.pool)
            .await?;
        Ok(ended.is_some())
    }

    pub async fn end_sessions(
        &self,
        user: i64,
        except: Option<i64>,
        now: Timestamp,
    ) -> Result<Vec<i64>, StoreError> {
        Ok(sqlx::query_scalar(&self.sql.end_sessions)
            .bind(now.0)
            .bind(user)
            .bind(except.unwrap_or(0))
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn ended_among(&self, sessions: &[i64]) -> Result<Vec<i64>, StoreError> {
        let mut ended = Vec::new();
        for chunk in sessions.chunks(IDS_PER_QUERY) {
            let sql = super::sql::ended_among_query(chunk.len(), self.mark);
            let mut query = sqlx::query_scalar::<_, i64>(&sql);
            for id in chunk {
                query = query.bind(*id);
            }
            ended.extend(query.fetch_all(&self.pool).await?);
        }
        Ok(ended)
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
