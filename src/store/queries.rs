//! The one-statement queries, run the same way on either backend: each
//! backend's `Store` hands them its reader pool. Generic over the database,
//! with sqlx's bounds stated once for the whole block; what differs between
//! the backends (opening, migrations, appending) stays in their own files.

use super::decode;
use super::sql::{Dialect, Statements};
use super::{
    Access, Account, Credentials, Invite, Member, MemberChange, MyRoom, NewRoom, NewSession, Page,
    Refreshed, Sanction, Session, StoreError,
};
use crate::model::{
    ReactionCount, Room, RoomName, RoomRole, StoredMessage, Timestamp, User, Username, Visibility,
};
use sqlx::{
    ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Transaction, Type,
};
use std::collections::HashMap;

pub struct Queries<DB: Database> {
    pool: Pool<DB>,
    sql: Statements,
    mark: fn(usize) -> String,
    /// How a transaction that writes begins: on SQLite IMMEDIATE, taking the
    /// write lock up front. A deferred one that reads first and then writes
    /// fails at once ("database is locked") if another writer came in
    /// between, instead of waiting on the busy timeout; and holding the lock
    /// from the start is what serialises the last-owner checks there.
    begin: &'static str,
}

/// Ids asked about per statement: well under either backend's parameter limit.
const IDS_PER_QUERY: usize = 500;

impl<DB> Queries<DB>
where
    DB: Database,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
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
            begin: match dialect {
                Dialect::Sqlite => "BEGIN IMMEDIATE",
                Dialect::Postgres => "BEGIN",
            },
        }
    }

    async fn begin(&self) -> Result<Transaction<'static, DB>, StoreError> {
        Ok(self.pool.begin_with(self.begin).await?)
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
                disabled: row.try_get::<Option<i64>, _>("disabled_at")?.is_some(),
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

    pub async fn session_user(
        &self,
        session: i64,
        user: i64,
    ) -> Result<Option<Account>, StoreError> {
        let row = sqlx::query(&self.sql.session_user)
            .bind(session)
            .bind(user)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(decode::account).transpose()?)
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
        let found = sqlx::query(&self.sql.rooms)
            .bind(Visibility::Public.as_str())
            .fetch_all(&self.pool)
            .await?;
        Ok(found.iter().map(decode::room).collect::<Result<_, _>>()?)
    }

    pub async fn room(&self, name: &RoomName) -> Result<Option<Room>, StoreError> {
        let row = sqlx::query(&self.sql.room)
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(decode::room).transpose()?)
    }

    pub async fn create_room(&self, new: &NewRoom<'_>) -> Result<Room, StoreError> {
        let created_at = Timestamp::now();
        let mut tx = self.begin().await?;
        let id: i64 = sqlx::query_scalar(&self.sql.create_room)
            .bind(new.name.as_str())
            .bind(new.topic)
            .bind(created_at.0)
            .bind(new.visibility.as_str())
            .fetch_one(&mut *tx)
            .await
            .map_err(conflict_or)?;
        if let Some(owner) = new.owner {
            sqlx::query(&self.sql.add_member)
                .bind(id)
                .bind(owner)
                .bind(RoomRole::Owner.as_str())
                .bind(created_at.0)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(Room {
            id,
            name: new.name.as_str().to_owned(),
            topic: new.topic.to_owned(),
            created_at,
            visibility: new.visibility,
            last_seq: 0,
        })
    }

    pub async fn direct_room(
        &self,
        name: &RoomName,
        members: &[i64],
        now: Timestamp,
    ) -> Result<Room, StoreError> {
        let mut tx = self.begin().await?;
        sqlx::query(&self.sql.insert_direct_room)
            .bind(name.as_str())
            .bind("")
            .bind(now.0)
            .bind(Visibility::Direct.as_str())
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query(&self.sql.room_any)
            .bind(name.as_str())
            .fetch_one(&mut *tx)
            .await?;
        let room = decode::room(&row)?;
        let archived: Option<i64> = row.try_get("archived_at")?;
        // The name is derived from the members, so a room of that name that
        // is not a live direct room is not theirs to join.
        if room.visibility != Visibility::Direct || archived.is_some() {
            return Err(StoreError::Conflict);
        }
        // Every time, not only at creation: a member who left comes back.
        for member in members {
            sqlx::query(&self.sql.add_member)
                .bind(room.id)
                .bind(*member)
                .bind(RoomRole::Member.as_str())
                .bind(now.0)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(room)
    }

    pub async fn set_topic(&self, room: i64, topic: &str) -> Result<(), StoreError> {
        sqlx::query(&self.sql.set_topic)
            .bind(topic)
            .bind(room)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn archive_room(&self, room: i64, now: Timestamp) -> Result<(), StoreError> {
        sqlx::query(&self.sql.archive_room)
            .bind(now.0)
            .bind(room)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn purge_room(&self, room: i64) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        // Locked first: an append to the room waits for the purge instead of
        // slipping a message in between the deletes.
        sqlx::query(&self.sql.lock_room)
            .bind(room)
            .fetch_optional(&mut *tx)
            .await?;
        for sql in [
            &self.sql.purge_reactions,
            &self.sql.purge_versions,
            &self.sql.purge_messages,
            &self.sql.purge_memberships,
            &self.sql.purge_bans,
            &self.sql.purge_mutes,
            &self.sql.purge_room,
        ] {
            sqlx::query(sql).bind(room).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn access(
        &self,
        name: &RoomName,
        user: i64,
        now: Timestamp,
    ) -> Result<Option<Access>, StoreError> {
        let row = sqlx::query(&self.sql.access)
            .bind(user)
            .bind(user)
            .bind(now.0)
            .bind(user)
            .bind(now.0)
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let muted = match row.try_get::<Option<i64>, _>("muted_at")? {
            Some(_) => Some(row.try_get::<Option<i64>, _>("muted_until")?.map(Timestamp)),
            None => None,
        };
        Ok(Some(Access {
            room: decode::room(&row)?,
            role: row
                .try_get::<Option<String>, _>("member_role")?
                .map(decode::role)
                .transpose()?,
            banned: row.try_get::<Option<i64>, _>("banned_at")?.is_some(),
            muted,
        }))
    }

    pub async fn add_member(
        &self,
        room: i64,
        user: i64,
        role: RoomRole,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let added: Option<i64> = sqlx::query_scalar(&self.sql.add_member)
            .bind(room)
            .bind(user)
            .bind(role.as_str())
            .bind(now.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(added.is_some())
    }

    /// Inside `tx`: locks the room (see `Statements::lock_room`), then reads
    /// `user`'s role in it and whether taking their ownership away would
    /// leave it without an owner. With the lock held, no other transaction
    /// can change the room's owners until this one ends, so the answer
    /// stays true until the commit.
    async fn owner_check(
        &self,
        tx: &mut DB::Connection,
        room: i64,
        user: i64,
    ) -> Result<(Option<RoomRole>, bool), StoreError> {
        sqlx::query(&self.sql.lock_room)
            .bind(room)
            .fetch_optional(&mut *tx)
            .await?;
        let role: Option<String> = sqlx::query_scalar(&self.sql.member_role)
            .bind(room)
            .bind(user)
            .fetch_optional(&mut *tx)
            .await?;
        let role = role.map(decode::role).transpose()?;
        if role != Some(RoomRole::Owner) {
            // Rooms nobody owns have no last-owner rule.
            return Ok((role, false));
        }
        let others: i64 = sqlx::query_scalar(&self.sql.other_owners)
            .bind(room)
            .bind(RoomRole::Owner.as_str())
            .bind(user)
            .fetch_one(&mut *tx)
            .await?;
        Ok((role, others == 0))
    }

    pub async fn remove_member(&self, room: i64, user: i64) -> Result<MemberChange, StoreError> {
        let mut tx = self.begin().await?;
        let (role, last_owner) = self.owner_check(&mut tx, room, user).await?;
        if role.is_none() {
            return Ok(MemberChange::NotMember);
        }
        if last_owner {
            return Ok(MemberChange::LastOwner);
        }
        sqlx::query(&self.sql.remove_member)
            .bind(room)
            .bind(user)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(MemberChange::Done)
    }

    pub async fn set_role(
        &self,
        room: i64,
        user: i64,
        role: RoomRole,
    ) -> Result<MemberChange, StoreError> {
        let mut tx = self.begin().await?;
        let (current, last_owner) = self.owner_check(&mut tx, room, user).await?;
        if current.is_none() {
            return Ok(MemberChange::NotMember);
        }
        if last_owner && role != RoomRole::Owner {
            return Ok(MemberChange::LastOwner);
        }
        sqlx::query(&self.sql.set_role)
            .bind(role.as_str())
            .bind(room)
            .bind(user)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(MemberChange::Done)
    }

    pub async fn members(&self, room: i64) -> Result<Vec<Member>, StoreError> {
        let found = sqlx::query(&self.sql.members)
            .bind(room)
            .fetch_all(&self.pool)
            .await?;
        let mut members = found
            .iter()
            .map(|row| {
                Ok(Member {
                    user: decode::user(row)?,
                    role: decode::role(row.try_get("role")?)?,
                    since: Timestamp(row.try_get("since")?),
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        // Sorted here, not in SQL: the two backends collate text differently.
        members.sort_by(|a, b| {
            b.role.cmp(&a.role).then_with(|| {
                a.user
                    .username
                    .to_lowercase()
                    .cmp(&b.user.username.to_lowercase())
            })
        });
        Ok(members)
    }

    pub async fn my_rooms(&self, user: i64) -> Result<Vec<MyRoom>, StoreError> {
        let found = sqlx::query(&self.sql.my_rooms)
            .bind(user)
            .fetch_all(&self.pool)
            .await?;
        let mut rooms = found
            .iter()
            .map(|row| {
                Ok(MyRoom {
                    room: decode::room(row)?,
                    role: decode::role(row.try_get("member_role")?)?,
                    since: Timestamp(row.try_get("since")?),
                    others: Vec::new(),
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        rooms.sort_by(|a, b| a.room.name.cmp(&b.room.name));
        if rooms
            .iter()
            .any(|r| r.room.visibility == Visibility::Direct)
        {
            let others: Vec<(i64, String)> = sqlx::query_as(&self.sql.my_direct_others)
                .bind(user)
                .bind(Visibility::Direct.as_str())
                .bind(user)
                .fetch_all(&self.pool)
                .await?;
            let mut by_room: HashMap<i64, Vec<String>> = HashMap::new();
            for (room, name) in others {
                by_room.entry(room).or_default().push(name);
            }
            for room in &mut rooms {
                if let Some(mut names) = by_room.remove(&room.room.id) {
                    names.sort();
                    room.others = names;
                }
            }
        }
        Ok(rooms)
    }

    pub async fn ban(
        &self,
        room: i64,
        user: i64,
        by: i64,
        reason: Option<&str>,
        until: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<MemberChange, StoreError> {
        let mut tx = self.begin().await?;
        let (_, last_owner) = self.owner_check(&mut tx, room, user).await?;
        if last_owner {
            return Ok(MemberChange::LastOwner);
        }
        sqlx::query(&self.sql.ban)
            .bind(room)
            .bind(user)
            .bind(reason)
            .bind(until.map(|t| t.0))
            .bind(by)
            .bind(now.0)
            .execute(&mut *tx)
            .await?;
        sqlx::query(&self.sql.remove_member)
            .bind(room)
            .bind(user)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(MemberChange::Done)
    }

    pub async fn unban(&self, room: i64, user: i64) -> Result<bool, StoreError> {
        self.lift(&self.sql.unban, room, user).await
    }

    pub async fn bans(&self, room: i64, now: Timestamp) -> Result<Vec<Sanction>, StoreError> {
        self.in_force(&self.sql.bans, room, now, true).await
    }

    /// Runs a ban's or a mute's `DELETE … RETURNING`: whether there was one.
    async fn lift(&self, sql: &str, room: i64, user: i64) -> Result<bool, StoreError> {
        let lifted: Option<i64> = sqlx::query_scalar(sql)
            .bind(room)
            .bind(user)
            .fetch_optional(&self.pool)
            .await?;
        Ok(lifted.is_some())
    }

    /// The bans or mutes of `room` in force at `now` (only bans have reasons).
    async fn in_force(
        &self,
        sql: &str,
        room: i64,
        now: Timestamp,
        with_reason: bool,
    ) -> Result<Vec<Sanction>, StoreError> {
        let found = sqlx::query(sql)
            .bind(room)
            .bind(now.0)
            .fetch_all(&self.pool)
            .await?;
        found
            .iter()
            .map(|row| {
                let reason = match with_reason {
                    true => row.try_get("reason")?,
                    false => None,
                };
                sanction(row, reason)
            })
            .collect()
    }

    pub async fn mute(
        &self,
        room: i64,
        user: i64,
        by: i64,
        until: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query(&self.sql.mute)
            .bind(room)
            .bind(user)
            .bind(until.map(|t| t.0))
            .bind(by)
            .bind(now.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn unmute(&self, room: i64, user: i64) -> Result<bool, StoreError> {
        self.lift(&self.sql.unmute, room, user).await
    }

    pub async fn mutes(&self, room: i64, now: Timestamp) -> Result<Vec<Sanction>, StoreError> {
        self.in_force(&self.sql.mutes, room, now, false).await
    }

    pub async fn refused_among(
        &self,
        pairs: &[(i64, i64)],
        now: Timestamp,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        let mut refused = Vec::new();
        for chunk in pairs.chunks(IDS_PER_QUERY) {
            let sql = super::sql::refused_among_query(chunk.len(), self.mark);
            let mut query = sqlx::query_as::<_, (i64, i64)>(&sql);
            for (room, user) in chunk {
                query = query.bind(*room).bind(*user);
            }
            query = query.bind(Visibility::Public.as_str()).bind(now.0);
            refused.extend(query.fetch_all(&self.pool).await?);
        }
        Ok(refused)
    }

    pub async fn account(&self, username: &Username) -> Result<Option<Account>, StoreError> {
        let row = sqlx::query(&self.sql.account)
            .bind(username.key())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(decode::account).transpose()?)
    }

    pub async fn accounts(&self, after: i64, limit: i64) -> Result<Vec<Account>, StoreError> {
        let found = sqlx::query(&self.sql.accounts)
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        Ok(found
            .iter()
            .map(decode::account)
            .collect::<Result<_, _>>()?)
    }

    pub async fn set_admin(&self, user: i64, admin: bool) -> Result<(), StoreError> {
        sqlx::query(&self.sql.set_admin)
            .bind(admin.then_some(decode::ADMIN))
            .bind(user)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_disabled(&self, user: i64, at: Option<Timestamp>) -> Result<(), StoreError> {
        sqlx::query(&self.sql.set_disabled)
            .bind(at.map(|t| t.0))
            .bind(user)
            .execute(&self.pool)
            .await?;
        Ok(())
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

    pub async fn message(
        &self,
        room_id: i64,
        id: i64,
    ) -> Result<Option<StoredMessage>, StoreError> {
        let row = sqlx::query(&self.sql.message)
            .bind(room_id)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.as_ref().map(decode::message).transpose()?)
    }

    pub async fn reactions(
        &self,
        messages: &[i64],
        viewer: i64,
    ) -> Result<Vec<(i64, ReactionCount)>, StoreError> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let sql = super::sql::reactions_query(messages.len(), self.mark);
        let mut query = sqlx::query_as::<_, (i64, String, i64, i64, i64)>(&sql).bind(viewer);
        for id in messages {
            query = query.bind(id);
        }
        let rows = query.fetch_all(&self.pool).await?;
        Ok(rows
            .into_iter()
            .map(|(message, emoji, count, mine, _)| {
                (
                    message,
                    ReactionCount {
                        emoji,
                        count,
                        me: mine > 0,
                    },
                )
            })
            .collect())
    }

    pub async fn versions(&self, message: i64) -> Result<Vec<(String, Timestamp)>, StoreError> {
        let rows = sqlx::query_as::<_, (String, i64)>(&self.sql.versions)
            .bind(message)
            .fetch_all(&self.pool)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(content, at)| (content, Timestamp(at)))
            .collect())
    }
}

/// A ban or mute row; mutes carry no reason.
fn sanction<R>(row: &R, reason: Option<String>) -> Result<Sanction, StoreError>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(Sanction {
        user: decode::user(row)?,
        reason,
        until: row.try_get::<Option<i64>, _>("until")?.map(Timestamp),
        by: row.try_get("by_name")?,
        created_at: Timestamp(row.try_get("created_at")?),
    })
}

/// A unique constraint said no: the caller decides what that means.
fn conflict_or(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict,
        _ => StoreError::Database(err),
    }
}
