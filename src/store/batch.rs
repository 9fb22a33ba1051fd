//! Appending a batch in a handful of statements, whatever its size: one
//! query for resends already stored, one for the rooms' counters, one
//! multi-row INSERT per run of plain messages, one UPDATE per room. Both
//! backends share the planning; each runs the SQL in its own dialect.
//!
//! Changes (edits, deletions, reactions) and replies take their place in
//! the batch's order, each in a few statements of its own (`changes.rs`):
//! they are checked against the message they are about, which may have
//! been written by an earlier entry of the same batch.

use super::{Appended, NewMessage};
use crate::model::StoredMessage;
use std::collections::HashMap;

/// Entries already stored, by (author id, client id): what a resend finds.
pub type Keyed = HashMap<(i64, String), StoredMessage>;

/// What will become of each message of the batch.
enum Slot {
    /// A resend of a message stored earlier.
    Stored(StoredMessage),
    /// New: inserted under this room sequence number.
    New { seq: i64 },
    /// A resend of message `index` of this same batch.
    SameAs(usize),
}

pub struct Plan {
    slots: Vec<Slot>,
}

impl Plan {
    /// Plans a run of plain messages. `stored`: entries already kept under
    /// (author id, client id); `last_seq`: each room's counter before the
    /// run, moved on by it.
    pub fn new(batch: &[NewMessage], stored: &Keyed, last_seq: &mut HashMap<i64, i64>) -> Self {
        let mut first_in_batch: HashMap<(i64, &str), usize> = HashMap::new();
        let slots = batch
            .iter()
            .enumerate()
            .map(|(i, m)| {
                if let Some(cid) = m.client_id.as_deref() {
                    if let Some(found) = stored.get(&(m.author.id, cid.to_owned())) {
                        return Slot::Stored(found.clone());
                    }
                    if let Some(&first) = first_in_batch.get(&(m.author.id, cid)) {
                        return Slot::SameAs(first);
                    }
                    first_in_batch.insert((m.author.id, cid), i);
                }
                let seq = last_seq.entry(m.room_id).or_insert(0);
                *seq += 1;
                Slot::New { seq: *seq }
            })
            .collect();
        Self { slots }
    }

    /// The messages to insert, with their sequence numbers.
    pub fn inserts<'b>(&self, batch: &'b [NewMessage]) -> Vec<(&'b NewMessage, i64)> {
        self.slots
            .iter()
            .zip(batch)
            .filter_map(|(slot, m)| match slot {
                Slot::New { seq } => Some((m, *seq)),
                _ => None,
            })
            .collect()
    }

    /// The outcome per message, given the ids the INSERT returned per
    /// (room id, seq).
    pub fn finish(
        self,
        batch: &[NewMessage],
        ids: &HashMap<(i64, i64), i64>,
    ) -> Result<Vec<Appended>, sqlx::Error> {
        let mut out: Vec<Appended> = Vec::with_capacity(batch.len());
        for (slot, m) in self.slots.into_iter().zip(batch) {
            let appended = match slot {
                Slot::Stored(found) => Appended::Duplicate(found),
                Slot::New { seq } => {
                    let id = ids
                        .get(&(m.room_id, seq))
                        .ok_or_else(|| sqlx::Error::Protocol("inserted row not returned".into()))?;
                    Appended::New(m.stored(*id, seq))
                }
                Slot::SameAs(first) => match &out[first] {
                    Appended::New(msg) | Appended::Duplicate(msg) => {
                        Appended::Duplicate(msg.clone())
                    }
                    // A plain message is never refused nor unchanged.
                    other => other.clone(),
                },
            };
            out.push(appended);
        }
        Ok(out)
    }
}

/// `(mark, mark), (mark, mark)` for `rows` rows of `cols` columns, numbering
/// placeholders from `first`.
pub fn tuples(rows: usize, cols: usize, first: usize, mark: fn(usize) -> String) -> String {
    (0..rows)
        .map(|r| {
            let cells: Vec<String> = (0..cols).map(|c| mark(first + r * cols + c)).collect();
            format!("({})", cells.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The body of `Store::append`, the same for both backends but for the
/// dialect: `$dialect` writes the statements, `$counters` is the query that
/// reads (and, on PostgreSQL, locks) the batch's rooms. A macro, because the
/// bounds sqlx needs for "any database" would be longer than the code.
macro_rules! append_batch {
    ($tx:ident, $batch:expr, $dialect:expr, $counters:expr) => {{
        let (batch, dialect): (&[NewMessage], $crate::store::sql::Dialect) = ($batch, $dialect);
        let mark = dialect.mark();
        let mut room_ids: Vec<i64> = batch.iter().map(|m| m.room_id).collect();
        room_ids.sort_unstable();
        room_ids.dedup();
        let sql = $counters(room_ids.len());
        let mut query = sqlx::query_as::<_, (i64, i64)>(&sql);
        for id in &room_ids {
            query = query.bind(id);
        }
        let before: std::collections::HashMap<i64, i64> =
            query.fetch_all(&mut *$tx).await?.into_iter().collect();
        let mut last_seq = before.clone();

        let keyed: Vec<&NewMessage> = batch.iter().filter(|m| m.client_id.is_some()).collect();
        let mut stored = $crate::store::batch::Keyed::new();
        if !keyed.is_empty() {
            let sql = sql::resends_query(keyed.len(), mark);
            let mut query = sqlx::query(&sql);
            for m in &keyed {
                query = query.bind(m.author.id).bind(m.client_id.as_deref());
            }
            for row in query.fetch_all(&mut *$tx).await? {
                let found = decode::message(&row)?;
                if let Some(cid) = found.client_id.clone() {
                    stored.insert((found.author.id, cid), found);
                }
            }
        }

        let mut out: Vec<Appended> = Vec::with_capacity(batch.len());
        let mut start = 0;
        while start < batch.len() {
            let first = &batch[start];
            if !first.is_plain() {
                let resent = first
                    .client_id
                    .as_ref()
                    .and_then(|cid| stored.get(&(first.author.id, cid.clone())));
                let appended = match resent {
                    Some(found) => Appended::Duplicate(found.clone()),
                    None => {
                        let seq = last_seq.get(&first.room_id).copied().unwrap_or(0) + 1;
                        let appended = $crate::store::changes::apply_change!($tx, first, seq, dialect);
                        if let Appended::New(entry) = &appended {
                            last_seq.insert(first.room_id, seq);
                            if let Some(cid) = entry.client_id.clone() {
                                stored.insert((entry.author.id, cid), entry.clone());
                            }
                        }
                        appended
                    }
                };
                out.push(appended);
                start += 1;
                continue;
            }
            let end = batch[start..]
                .iter()
                .position(|m| !m.is_plain())
                .map_or(batch.len(), |n| start + n);
            let run = &batch[start..end];
            let plan = $crate::store::batch::Plan::new(run, &stored, &mut last_seq);
            let inserts = plan.inserts(run);
            let mut ids = std::collections::HashMap::new();
            if !inserts.is_empty() {
                let sql = format!(
                    "INSERT INTO messages (room_id, seq, author_id, content, created_at, client_id) \
                     VALUES {} RETURNING id, room_id, seq",
                    $crate::store::batch::tuples(inserts.len(), 6, 1, mark)
                );
                let mut query = sqlx::query_as::<_, (i64, i64, i64)>(&sql);
                for (m, seq) in &inserts {
                    query = query
                        .bind(m.room_id)
                        .bind(seq)
                        .bind(m.author.id)
                        .bind(&m.content)
                        .bind(m.created_at.0)
                        .bind(&m.client_id);
                }
                for (id, room_id, seq) in query.fetch_all(&mut *$tx).await? {
                    ids.insert((room_id, seq), id);
                }
            }
            let done = plan.finish(run, &ids)?;
            if end < batch.len() {
                // Later changes may resend what this run stored.
                for appended in &done {
                    if let Appended::New(m) = appended {
                        if let Some(cid) = m.client_id.clone() {
                            stored.insert((m.author.id, cid), m.clone());
                        }
                    }
                }
            }
            out.extend(done);
            start = end;
        }
        let moved: Vec<(i64, i64)> = last_seq
            .iter()
            .filter(|(room, last)| before.get(*room) != Some(*last))
            .map(|(room, last)| (*room, *last))
            .collect();
        if !moved.is_empty() {
            let sql = sql::counters_update(moved.len(), mark);
            let mut query = sqlx::query_as::<_, (i64,)>(&sql);
            for (room, last) in &moved {
                query = query.bind(room).bind(last);
            }
            query.fetch_all(&mut *$tx).await?;
        }
        out
    }};
}

pub(crate) use append_batch;

/// `mark(1), mark(2), … mark(n)`, comma-separated.
pub fn list(n: usize, mark: fn(usize) -> String) -> String {
    (1..=n).map(mark).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Timestamp, User};

    fn msg(room_id: i64, author: i64, cid: Option<&str>) -> NewMessage {
        NewMessage {
            room_id,
            room: format!("r{room_id}"),
            author: User {
                id: author,
                username: format!("u{author}"),
            },
            content: "x".into(),
            created_at: Timestamp(0),
            client_id: cid.map(str::to_owned),
            reply_to: None,
            change: None,
        }
    }

    #[test]
    fn numbers_per_room_and_folds_resends() {
        let batch = vec![
            msg(1, 7, Some("a")),
            msg(2, 7, Some("b")),
            msg(1, 8, None),
            msg(1, 7, Some("a")), // resend within the batch
            msg(1, 7, Some("old")),
        ];
        let old = msg(1, 7, Some("old")).stored(99, 3);
        let stored = HashMap::from([((7, "old".to_owned()), old)]);
        let mut last_seq = HashMap::from([(1, 10), (2, 0)]);
        let plan = Plan::new(&batch, &stored, &mut last_seq);
        let inserts: Vec<(i64, i64)> = plan
            .inserts(&batch)
            .iter()
            .map(|(m, s)| (m.room_id, *s))
            .collect();
        assert_eq!(inserts, [(1, 11), (2, 1), (1, 12)]);
        assert_eq!(last_seq[&1], 12);
        let ids = HashMap::from([((1, 11), 100), ((2, 1), 101), ((1, 12), 102)]);
        let out = plan.finish(&batch, &ids).unwrap();
        let shape: Vec<(bool, i64)> = out
            .iter()
            .map(|a| match a {
                Appended::New(m) => (true, m.id),
                Appended::Duplicate(m) => (false, m.id),
                other => panic!("a plain message came to {other:?}"),
            })
            .collect();
        assert_eq!(
            shape,
            [
                (true, 100),
                (true, 101),
                (true, 102),
                (false, 100),
                (false, 99)
            ]
        );
    }

    #[test]
    fn placeholder_tuples() {
        assert_eq!(tuples(2, 2, 3, |n| format!("${n}")), "($3, $4), ($5, $6)");
    }
}
