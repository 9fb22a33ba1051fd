//! Appending a batch in a handful of statements, whatever its size: one
//! query for resends already stored, one for the rooms' counters, one
//! multi-row INSERT, one UPDATE per room. Both backends share the planning;
//! each runs the SQL in its own dialect.

use super::{Appended, NewMessage};
use crate::model::StoredMessage;
use std::collections::HashMap;

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
    /// Per room, the last sequence number once the batch is in.
    pub last_seq: HashMap<i64, i64>,
}

impl Plan {
    /// `stored`: messages already kept under (author id, client id);
    /// `last_seq`: each room's counter before the batch.
    pub fn new(
        batch: &[NewMessage],
        mut stored: HashMap<(i64, String), StoredMessage>,
        mut last_seq: HashMap<i64, i64>,
    ) -> Self {
        let mut first_in_batch: HashMap<(i64, &str), usize> = HashMap::new();
        let slots = batch
            .iter()
            .enumerate()
            .map(|(i, m)| {
                if let Some(cid) = m.client_id.as_deref() {
                    if let Some(found) = stored.remove(&(m.author.id, cid.to_owned())) {
                        // Later resends in this batch point at the same message.
                        stored.insert((m.author.id, cid.to_owned()), found.clone());
                        return Slot::Stored(found);
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
        Self { slots, last_seq }
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
/// dialect: `$mark` writes placeholders, `$counters` is the query that reads
/// (and, on PostgreSQL, locks) the batch's rooms. A macro, because the bounds
/// sqlx needs for "any database" would be longer than the code.
macro_rules! append_batch {
    ($tx:ident, $batch:expr, $mark:expr, $counters:expr) => {{
        let (batch, mark) = ($batch, $mark);
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

        let keyed: Vec<&NewMessage> = batch.iter().filter(|m| m.client_id.is_some()).collect();
        let mut stored = std::collections::HashMap::new();
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

        let plan = $crate::store::batch::Plan::new(batch, stored, before.clone());
        let inserts = plan.inserts(batch);
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
        let moved: Vec<(i64, i64)> = plan
            .last_seq
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
        plan.finish(batch, &ids)?
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
        let plan = Plan::new(&batch, stored, HashMap::from([(1, 10), (2, 0)]));
        let inserts: Vec<(i64, i64)> = plan
            .inserts(&batch)
            .iter()
            .map(|(m, s)| (m.room_id, *s))
            .collect();
        assert_eq!(inserts, [(1, 11), (2, 1), (1, 12)]);
        assert_eq!(plan.last_seq[&1], 12);
        let ids = HashMap::from([((1, 11), 100), ((2, 1), 101), ((1, 12), 102)]);
        let out = plan.finish(&batch, &ids).unwrap();
        let shape: Vec<(bool, i64)> = out
            .iter()
            .map(|a| match a {
                Appended::New(m) => (true, m.id),
                Appended::Duplicate(m) => (false, m.id),
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
