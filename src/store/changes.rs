//! Storing one change to a message (an edit, a deletion, a reaction) or a
//! reply, inside an append's transaction: the message it is about is read
//! and checked there, so that the rules hold at the moment of the write,
//! in the room's order, on one node or many (on PostgreSQL the append holds
//! the room's row lock, so two nodes' changes to one room take turns).

use crate::model::Timestamp;

/// The message an entry is about, as the transaction reads it.
pub struct Target {
    pub room_id: i64,
    pub kind: i64,
    pub deleted: bool,
    pub author_id: i64,
    pub author: String,
    pub content: String,
    /// When its current text was written: its last edit, or its creation.
    pub written_at: Timestamp,
    pub created_at: Timestamp,
}

pub const TARGET: &str = "SELECT m.room_id, m.kind, m.deleted_at, m.author_id, u.username, m.content, \
     m.created_at, m.edited_at FROM messages m JOIN users u ON u.id = m.author_id WHERE m.id = ?";
pub const INSERT_REPLY: &str = "INSERT INTO messages \
     (room_id, seq, author_id, content, created_at, client_id, reply_to) \
     VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id";
pub const INSERT_CHANGE: &str = "INSERT INTO messages \
     (room_id, seq, author_id, content, created_at, client_id, kind, target_id) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";
pub const KEEP_VERSION: &str =
    "INSERT INTO message_versions (message_id, content, created_at) VALUES (?, ?, ?)";
pub const FORGET_VERSIONS: &str = "DELETE FROM message_versions WHERE message_id = ?";
pub const SET_TEXT: &str = "UPDATE messages SET content = ?, edited_at = ? WHERE id = ?";
pub const FORGET_REACTIONS: &str = "DELETE FROM reactions WHERE message_id = ?";
pub const ERASE: &str =
    "UPDATE messages SET content = ?, deleted_at = ?, deleted_by = ? WHERE id = ?";
pub const ADD_REACTION: &str = "INSERT INTO reactions (message_id, emoji, user_id, created_at) \
     VALUES (?, ?, ?, ?) ON CONFLICT (message_id, emoji, user_id) DO NOTHING RETURNING user_id";
pub const TAKE_REACTION: &str =
    "DELETE FROM reactions WHERE message_id = ? AND emoji = ? AND user_id = ? RETURNING user_id";
pub const REACTION_COUNT: &str =
    "SELECT COUNT(*) FROM reactions WHERE message_id = ? AND emoji = ?";
pub const EMOJI_COUNT: &str = "SELECT COUNT(DISTINCT emoji) FROM reactions WHERE message_id = ?";

/// Stores `$m` (a reply or a change, not a plain message) under room
/// sequence number `$seq` if its rules hold; what became of it.
macro_rules! apply_change {
    ($tx:ident, $m:expr, $seq:expr, $dialect:expr) => {{
        use $crate::model::{
            Change, ChangeKind, Entry, MessageState, ReplyRef, Timestamp, excerpt,
        };
        use $crate::store::changes as c;
        use $crate::store::decode::{
            KIND_DELETE, KIND_EDIT, KIND_MESSAGE, KIND_REACT, KIND_UNREACT,
        };
        use $crate::store::{Appended, NewChange, Refusal};
        let (m, seq, dialect): (&NewMessage, i64, $crate::store::sql::Dialect) =
            ($m, $seq, $dialect);
        let about = match m.change {
            Some(
                NewChange::Edit { target, .. }
                | NewChange::Delete { target, .. }
                | NewChange::React { target, .. },
            ) => target,
            None => m.reply_to.unwrap_or(0),
        };
        let row =
            sqlx::query_as::<_, (i64, i64, Option<i64>, i64, String, String, i64, Option<i64>)>(
                &dialect.write(c::TARGET),
            )
            .bind(about)
            .fetch_optional(&mut *$tx)
            .await?;
        let target = row
            .map(
                |(room_id, kind, deleted_at, author_id, author, content, created, edited)| {
                    c::Target {
                        room_id,
                        kind,
                        deleted: deleted_at.is_some(),
                        author_id,
                        author,
                        content,
                        written_at: Timestamp(edited.unwrap_or(created)),
                        created_at: Timestamp(created),
                    }
                },
            )
            .filter(|t| t.room_id == m.room_id && t.kind == KIND_MESSAGE && !t.deleted);
        // Inserts the change's own entry; its id.
        macro_rules! entry {
            ($kind:expr, $content:expr) => {
                sqlx::query_as::<_, (i64,)>(&dialect.write(c::INSERT_CHANGE))
                    .bind(m.room_id)
                    .bind(seq)
                    .bind(m.author.id)
                    .bind($content)
                    .bind(m.created_at.0)
                    .bind(&m.client_id)
                    .bind($kind)
                    .bind(about)
                    .fetch_one(&mut *$tx)
                    .await?
                    .0
            };
        }
        let change = |kind| {
            Entry::Change(Box::new(Change {
                target: about,
                kind,
            }))
        };
        match (target, m.change) {
            (None, _) => Appended::Refused(Refusal::NotFound),
            (Some(target), None) => {
                let (id,) = sqlx::query_as::<_, (i64,)>(&dialect.write(c::INSERT_REPLY))
                    .bind(m.room_id)
                    .bind(seq)
                    .bind(m.author.id)
                    .bind(&m.content)
                    .bind(m.created_at.0)
                    .bind(&m.client_id)
                    .bind(about)
                    .fetch_one(&mut *$tx)
                    .await?;
                let state = MessageState {
                    reply_to: Some(ReplyRef {
                        id: about,
                        author: target.author,
                        excerpt: excerpt(&target.content),
                        deleted: false,
                    }),
                    ..MessageState::default()
                };
                Appended::New(m.stored_as(id, seq, Entry::Message(Some(Box::new(state)))))
            }
            (
                Some(target),
                Some(NewChange::Edit {
                    not_before,
                    keep_history,
                    ..
                }),
            ) => {
                if target.author_id != m.author.id {
                    Appended::Refused(Refusal::NotAuthor)
                } else if not_before.is_some_and(|t| target.created_at < t) {
                    Appended::Refused(Refusal::TooLate)
                } else if target.content == m.content {
                    Appended::Unchanged { count: 0 }
                } else {
                    if keep_history {
                        sqlx::query(&dialect.write(c::KEEP_VERSION))
                            .bind(about)
                            .bind(&target.content)
                            .bind(target.written_at.0)
                            .execute(&mut *$tx)
                            .await?;
                    } else {
                        sqlx::query(&dialect.write(c::FORGET_VERSIONS))
                            .bind(about)
                            .execute(&mut *$tx)
                            .await?;
                    }
                    sqlx::query(&dialect.write(c::SET_TEXT))
                        .bind(&m.content)
                        .bind(m.created_at.0)
                        .bind(about)
                        .execute(&mut *$tx)
                        .await?;
                    let id = entry!(KIND_EDIT, "");
                    Appended::New(m.stored_as(id, seq, change(ChangeKind::Edit { gone: false })))
                }
            }
            (Some(target), Some(NewChange::Delete { any_author, .. })) => {
                if target.author_id != m.author.id && !any_author {
                    Appended::Refused(Refusal::NotAuthor)
                } else {
                    for sql in [c::FORGET_VERSIONS, c::FORGET_REACTIONS] {
                        sqlx::query(&dialect.write(sql))
                            .bind(about)
                            .execute(&mut *$tx)
                            .await?;
                    }
                    sqlx::query(&dialect.write(c::ERASE))
                        .bind("")
                        .bind(m.created_at.0)
                        .bind(m.author.id)
                        .bind(about)
                        .execute(&mut *$tx)
                        .await?;
                    let id = entry!(KIND_DELETE, "");
                    let mut deleted = m.stored_as(id, seq, change(ChangeKind::Delete));
                    deleted.content.clear();
                    Appended::New(deleted)
                }
            }
            (Some(_), Some(NewChange::React { added, .. })) => {
                macro_rules! count {
                    () => {
                        sqlx::query_as::<_, (i64,)>(&dialect.write(c::REACTION_COUNT))
                            .bind(about)
                            .bind(&m.content)
                            .fetch_one(&mut *$tx)
                            .await?
                            .0
                    };
                }
                let mut crowded = false;
                if added && count!() == 0 {
                    let (kinds,) = sqlx::query_as::<_, (i64,)>(&dialect.write(c::EMOJI_COUNT))
                        .bind(about)
                        .fetch_one(&mut *$tx)
                        .await?;
                    crowded = kinds >= $crate::store::MAX_EMOJI;
                }
                if crowded {
                    Appended::Refused(Refusal::TooManyReactions)
                } else {
                    let sql = dialect.write(if added {
                        c::ADD_REACTION
                    } else {
                        c::TAKE_REACTION
                    });
                    let mut query = sqlx::query_as::<_, (i64,)>(&sql)
                        .bind(about)
                        .bind(&m.content)
                        .bind(m.author.id);
                    if added {
                        query = query.bind(m.created_at.0);
                    }
                    let changed = query.fetch_optional(&mut *$tx).await?.is_some();
                    let count = count!();
                    if !changed {
                        Appended::Unchanged { count }
                    } else {
                        let id = entry!(if added { KIND_REACT } else { KIND_UNREACT }, &m.content);
                        Appended::New(m.stored_as(
                            id,
                            seq,
                            change(ChangeKind::Reaction { added, count }),
                        ))
                    }
                }
            }
        }
    }};
}

pub(crate) use apply_change;
