//! Reading rows into the chat's types, for either backend: generic over the
//! row type, so one function serves SQLite and PostgreSQL.

use super::Account;
use crate::model::{
    Change, ChangeKind, Deletion, Entry, MessageState, ReplyRef, Room, RoomRole, StoredMessage,
    Timestamp, User, Visibility, excerpt,
};
use sqlx::{ColumnIndex, Database, Decode, Row, Type};

/// A stream entry: a message or a change, with what the query read of the
/// message it is about.
pub fn message<'r, R>(row: &'r R) -> Result<StoredMessage, sqlx::Error>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    R::Database: Database,
{
    let author = User {
        id: row.try_get("author_id")?,
        username: row.try_get("username")?,
    };
    let kind: i64 = row.try_get("kind")?;
    let target = || -> Result<i64, sqlx::Error> {
        row.try_get::<Option<i64>, _>("target_id")?
            .ok_or_else(|| unknown("target_id", "NULL"))
    };
    let entry = match kind {
        KIND_MESSAGE => {
            let reply_to = match row.try_get::<Option<i64>, _>("reply_id")? {
                None => None,
                Some(id) => {
                    let deleted = row.try_get::<Option<i64>, _>("reply_deleted_at")?.is_some();
                    let content: Option<String> = row.try_get("reply_content")?;
                    Some(ReplyRef {
                        id,
                        author: row
                            .try_get::<Option<String>, _>("reply_author")?
                            .unwrap_or_default(),
                        excerpt: if deleted {
                            String::new()
                        } else {
                            excerpt(content.as_deref().unwrap_or_default())
                        },
                        deleted,
                    })
                }
            };
            let edited_at = row.try_get::<Option<i64>, _>("edited_at")?.map(Timestamp);
            let deleted = match row.try_get::<Option<i64>, _>("deleted_at")? {
                None => None,
                Some(_) => {
                    let by: Option<i64> = row.try_get("deleted_by")?;
                    Some(Deletion {
                        by: if by == Some(author.id) {
                            None
                        } else {
                            row.try_get("deleted_by_name")?
                        },
                    })
                }
            };
            // A tombstone has no text, so no time its text was written.
            let edited_at = edited_at.filter(|_| deleted.is_none());
            let plain = reply_to.is_none() && edited_at.is_none() && deleted.is_none();
            Entry::Message((!plain).then(|| {
                Box::new(MessageState {
                    reply_to,
                    edited_at,
                    deleted,
                    reactions: Vec::new(),
                })
            }))
        }
        KIND_EDIT => Entry::Change(Box::new(Change {
            target: target()?,
            kind: ChangeKind::Edit {
                gone: row
                    .try_get::<Option<i64>, _>("target_deleted_at")?
                    .is_some(),
            },
        })),
        KIND_DELETE => Entry::Change(Box::new(Change {
            target: target()?,
            kind: ChangeKind::Delete,
        })),
        KIND_REACT | KIND_UNREACT => Entry::Change(Box::new(Change {
            target: target()?,
            kind: ChangeKind::Reaction {
                added: kind == KIND_REACT,
                count: row
                    .try_get::<Option<i64>, _>("reaction_count")?
                    .unwrap_or(0),
            },
        })),
        other => return Err(unknown("kind", &other.to_string())),
    };
    // An edit shows the message's text as it is now (none once deleted).
    let content = match &entry {
        Entry::Change(change) if matches!(change.kind, ChangeKind::Edit { .. }) => row
            .try_get::<Option<String>, _>("target_content")?
            .unwrap_or_default(),
        _ => row.try_get("content")?,
    };
    Ok(StoredMessage {
        id: row.try_get("id")?,
        seq: row.try_get("seq")?,
        room_id: row.try_get("room_id")?,
        room: row.try_get("room")?,
        author,
        content,
        created_at: Timestamp(row.try_get("created_at")?),
        client_id: row.try_get("client_id")?,
        entry,
    })
}

/// `messages.kind`: what a row of a room's stream is.
pub const KIND_MESSAGE: i64 = 0;
pub const KIND_EDIT: i64 = 1;
pub const KIND_DELETE: i64 = 2;
pub const KIND_REACT: i64 = 3;
pub const KIND_UNREACT: i64 = 4;

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
