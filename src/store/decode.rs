//! Reading rows into the chat's types, for either backend: generic over the
//! row type, so one function serves SQLite and PostgreSQL.

use crate::model::{Room, StoredMessage, Timestamp, User};
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
        last_seq: row.try_get("last_seq")?,
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
