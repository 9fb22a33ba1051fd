//! Reading rows into the chat's types, for either backend: generic over the
//! row type, so one function serves SQLite and PostgreSQL.

use super::Account;
use crate::model::{Room, RoomRole, StoredMessage, Timestamp, User, Visibility};
use sqlx::{ColumnIndex, Database, Decode, Row, Type};

pub fn message<'r, R>(row: &'r R) -> Result<StoredMessage, sqlx::Error>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    R::Database: Database,
{
    Ok(StoredMessage {
        id: row.try_get("id")?,
        seq: row.try_get("seq")?,
        room_id: row.try_get("room_id")?,
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

pub fn room<'r, R>(row: &'r R) -> Result<Room, sqlx::Error>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(Room {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        topic: row.try_get("topic")?,
        created_at: Timestamp(row.try_get("created_at")?),
        visibility: visibility(row.try_get("visibility")?)?,
        last_seq: row.try_get("last_seq")?,
    })
}

/// A value the schema does not allow (written by hand, or by a newer
/// version) fails the read instead of being taken for something else.
fn unknown(column: &str, raw: &str) -> sqlx::Error {
    sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: format!("unknown value {raw:?}").into(),
    }
}

pub fn visibility(raw: String) -> Result<Visibility, sqlx::Error> {
    Visibility::parse(&raw).ok_or_else(|| unknown("visibility", &raw))
}

pub fn role(raw: String) -> Result<RoomRole, sqlx::Error> {
    RoomRole::parse(&raw).ok_or_else(|| unknown("role", &raw))
}

/// The server role kept in `users.role`: `admin` or nothing.
pub const ADMIN: &str = "admin";

pub fn account<'r, R>(row: &'r R) -> Result<Account, sqlx::Error>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
{
    let admin = match row.try_get::<Option<String>, _>("role")? {
        None => false,
        Some(raw) if raw == ADMIN => true,
        Some(raw) => return Err(unknown("users.role", &raw)),
    };
    Ok(Account {
        user: user(row)?,
        admin,
        disabled_at: row.try_get::<Option<i64>, _>("disabled_at")?.map(Timestamp),
        created_at: Timestamp(row.try_get("created_at")?),
    })
}

pub fn user<'r, R>(row: &'r R) -> Result<User, sqlx::Error>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
{
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
    })
}
