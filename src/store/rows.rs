//! Turning rows into the chat's types, for either backend.

use crate::model::{Room, StoredMessage, Timestamp, User};
use sqlx::{ColumnIndex, Database, Decode, Row, Type};

/// The fields every message query selects, in both dialects.
const MESSAGE_FIELDS: &str = "m.id, m.seq, m.room_id, r.name AS room, u.id AS author_id, \
     u.username, m.content, m.created_at, m.client_id";

/// The fields and the joins that give them.
const MESSAGE_COLUMNS: &str = "m.id, m.seq, m.room_id, r.name AS room, u.id AS author_id, \
     u.username, m.content, m.created_at, m.client_id \
     FROM messages m JOIN users u ON u.id = m.author_id JOIN rooms r ON r.id = m.room_id";

/// Messages already stored under any of `n` (author id, client id) pairs.
/// A join with the pairs, not `(a, b) IN (VALUES …)`: SQLite plans the
/// latter as a scan of the whole table, the join as `n` index lookups.
pub fn resends_query(n: usize, mark: fn(usize) -> String) -> String {
    format!(
        "WITH wanted(author_id, client_id) AS (VALUES {}) \
         SELECT {MESSAGE_FIELDS} FROM wanted \
         JOIN messages m ON m.author_id = wanted.author_id AND m.client_id = wanted.client_id \
         JOIN users u ON u.id = m.author_id JOIN rooms r ON r.id = m.room_id",
        super::batch::tuples(n, 2, 1, mark)
    )
}

pub const ROOM_COLUMNS: &str = "id, name, topic, created_at, last_seq";

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

/// A unique constraint said no: the caller decides what that means.
pub fn conflict_or(err: sqlx::Error) -> super::StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => super::StoreError::Conflict,
        _ => super::StoreError::Database(err),
    }
}

/// The SQL and its three parameters for a page of a room's history. `mark`
/// writes the n-th placeholder in the backend's dialect (`?1` or `$1`).
pub fn page_query(
    page: super::Page,
    room_id: i64,
    mark: fn(usize) -> String,
) -> (String, [i64; 3]) {
    use super::Page;
    let (r, a, b) = (mark(1), mark(2), mark(3));
    match page {
        Page::NewestFirst { skip, limit } => (
            format!(
                "SELECT {MESSAGE_COLUMNS} WHERE m.room_id = {r} ORDER BY m.id DESC LIMIT {b} OFFSET {a}"
            ),
            [room_id, skip, limit],
        ),
        Page::Before { id, limit } => (
            format!(
                "SELECT * FROM (SELECT {MESSAGE_COLUMNS} WHERE m.room_id = {r} AND m.id < {a} \
                 ORDER BY m.id DESC LIMIT {b}) AS page ORDER BY id ASC"
            ),
            [room_id, id.unwrap_or(i64::MAX), limit],
        ),
        Page::After { id, limit } => (
            format!(
                "SELECT {MESSAGE_COLUMNS} WHERE m.room_id = {r} AND m.id > {a} ORDER BY m.id ASC LIMIT {b}"
            ),
            [room_id, id, limit],
        ),
        Page::Seqs { from, to } => (
            format!(
                "SELECT {MESSAGE_COLUMNS} WHERE m.room_id = {r} AND m.seq >= {a} AND m.seq <= {b} \
                 ORDER BY m.seq ASC"
            ),
            [room_id, from, to],
        ),
    }
}

/// Sets the `last_seq` of `n` rooms in one statement (valid in both dialects).
pub fn counters_update(n: usize, mark: fn(usize) -> String) -> String {
    format!(
        "WITH moved(id, seq) AS (VALUES {}) \
         UPDATE rooms SET last_seq = (SELECT seq FROM moved WHERE moved.id = rooms.id) \
         WHERE id IN (SELECT id FROM moved) RETURNING id",
        super::batch::tuples(n, 2, 1, mark)
    )
}
