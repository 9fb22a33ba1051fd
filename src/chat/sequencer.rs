//! Delivery in room order. Two nodes commit to one room one after the other,
//! but their publishes may cross on the way, and a bus may lose some. Every
//! stored message carries its room's gap-free `seq`; the sequencer lets a
//! room's messages through strictly in `seq` order, holds back what arrives
//! early, and says which gaps to fetch from the store (`delivery` does the
//! fetching). On one node messages arrive in order and pass straight through.

use super::event::Event;
use crate::model::{RoomEvent, StoredMessage};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How long an early message waits for the ones before it to arrive over
/// the bus before they are fetched from the store.
pub const GAP_WAIT: Duration = Duration::from_millis(250);

#[derive(Default)]
struct RoomOrder {
    room_id: Option<i64>,
    /// The next seq to deliver; None until the first message of the room is seen.
    next: Option<i64>,
    early: BTreeMap<i64, Arc<Event>>,
    waiting_since: Option<Instant>,
}

/// Messages of a room to read from the store: `from..=upto` by seq.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    pub room: String,
    pub room_id: i64,
    pub from: i64,
    /// `i64::MAX`: everything after `from` (after a reconnect).
    pub upto: i64,
}

#[derive(Default)]
pub struct Sequencer {
    rooms: HashMap<String, RoomOrder>,
}

impl Sequencer {
    /// Takes one event in arrival order and appends to `out` whatever may
    /// now be delivered, in order. Only messages are sequenced.
    pub fn accept(&mut self, event: Arc<Event>, out: &mut Vec<Arc<Event>>) {
        let RoomEvent::Message(message) = &event.kind else {
            out.push(event);
            return;
        };
        let order = match self.rooms.get_mut(&message.room) {
            Some(order) => order,
            None => self.rooms.entry(message.room.clone()).or_default(),
        };
        order.room_id.get_or_insert(message.room_id);
        let next = *order.next.get_or_insert(message.seq);
        if message.seq < next {
            return; // seen already (filled from the store, or a bus duplicate)
        }
        if message.seq > next {
            order.early.insert(message.seq, event);
            order.waiting_since.get_or_insert_with(Instant::now);
            return;
        }
        out.push(event);
        order.next = Some(next + 1);
        release(order, out);
    }

    /// Gaps whose early messages have waited `GAP_WAIT` by `now`.
    pub fn overdue(&self, now: Instant) -> Vec<Gap> {
        self.rooms
            .iter()
            .filter(|(_, o)| o.waiting_since.is_some_and(|t| now - t >= GAP_WAIT))
            .filter_map(|(room, o)| {
                let upto = o.early.keys().next()? - 1;
                gap(room, o, upto)
            })
            .collect()
    }

    /// After the bus reconnected: everything after what each room delivered.
    pub fn everything_missed(&self) -> Vec<Gap> {
        self.rooms
            .iter()
            .filter_map(|(room, o)| gap(room, o, i64::MAX))
            .collect()
    }

    /// Takes what the store holds of `gap` (in seq order) and appends to
    /// `out` what may now be delivered. A seq the store does not have is not
    /// coming (its transaction never committed): it is skipped.
    pub fn filled(&mut self, gap: &Gap, found: Vec<StoredMessage>, out: &mut Vec<Arc<Event>>) {
        let Some(order) = self.rooms.get_mut(&gap.room) else {
            return;
        };
        for message in found {
            if order.next.is_some_and(|n| message.seq >= n) {
                order.next = Some(message.seq + 1);
                out.push(Arc::new(Event::new(RoomEvent::Message(message))));
            }
        }
        let first_early = order.early.keys().next().copied();
        if gap.upto != i64::MAX
            && first_early.is_some_and(|first| order.next.is_some_and(|n| n < first))
        {
            order.next = first_early;
        }
        release(order, out);
    }
}

fn gap(room: &str, order: &RoomOrder, upto: i64) -> Option<Gap> {
    let (room_id, from) = (order.room_id?, order.next?);
    (upto >= from).then(|| Gap {
        room: room.to_owned(),
        room_id,
        from,
        upto,
    })
}

/// Lets through held-back messages that are now next in line.
fn release(order: &mut RoomOrder, out: &mut Vec<Arc<Event>>) {
    while let Some(next) = order.next {
        let Some(event) = order.early.remove(&next) else {
            break;
        };
        out.push(event);
        order.next = Some(next + 1);
    }
    if order.early.is_empty() {
        order.waiting_since = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Timestamp, User};

    pub fn message(seq: i64) -> StoredMessage {
        StoredMessage {
            id: 100 + seq,
            seq,
            room_id: 1,
            room: "r".into(),
            author: User {
                id: 1,
                username: "ann".into(),
            },
            content: format!("m{seq}"),
            created_at: Timestamp(0),
            client_id: None,
            entry: crate::model::Entry::Message(None),
        }
    }

    fn event(seq: i64) -> Arc<Event> {
        Arc::new(Event::new(RoomEvent::Message(message(seq))))
    }

    fn seqs(out: &[Arc<Event>]) -> Vec<i64> {
        out.iter()
            .filter_map(|e| match &e.kind {
                RoomEvent::Message(m) => Some(m.seq),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn in_order_messages_pass_straight_through_and_repeats_are_dropped() {
        let (mut sequencer, mut out) = (Sequencer::default(), Vec::new());
        for seq in [5, 6, 6, 7, 5] {
            sequencer.accept(event(seq), &mut out);
        }
        assert_eq!(seqs(&out), [5, 6, 7]);
        assert!(sequencer.overdue(Instant::now() + GAP_WAIT).is_empty());
    }

    #[test]
    fn an_early_message_waits_for_the_one_before_it() {
        let (mut sequencer, mut out) = (Sequencer::default(), Vec::new());
        sequencer.accept(event(1), &mut out);
        sequencer.accept(event(3), &mut out);
        assert_eq!(seqs(&out), [1]);
        assert!(
            sequencer.overdue(Instant::now()).is_empty(),
            "not overdue yet"
        );
        sequencer.accept(event(2), &mut out);
        assert_eq!(seqs(&out), [1, 2, 3]);
    }

    #[test]
    fn an_overdue_gap_is_asked_of_the_store_and_filled() {
        let (mut sequencer, mut out) = (Sequencer::default(), Vec::new());
        sequencer.accept(event(1), &mut out);
        sequencer.accept(event(4), &mut out);
        let gaps = sequencer.overdue(Instant::now() + GAP_WAIT);
        let want = Gap {
            room: "r".into(),
            room_id: 1,
            from: 2,
            upto: 3,
        };
        assert_eq!(gaps, std::slice::from_ref(&want));
        sequencer.filled(&want, vec![message(2), message(3)], &mut out);
        assert_eq!(seqs(&out), [1, 2, 3, 4]);
        assert!(sequencer.overdue(Instant::now() + GAP_WAIT).is_empty());
    }

    #[test]
    fn other_events_are_not_held_back() {
        let (mut sequencer, mut out) = (Sequencer::default(), Vec::new());
        sequencer.accept(event(1), &mut out);
        sequencer.accept(event(3), &mut out);
        let typing = Arc::new(Event::new(RoomEvent::Typing {
            room: "r".into(),
            user: "bob".into(),
            user_id: 2,
        }));
        sequencer.accept(typing, &mut out);
        assert_eq!(out.len(), 2);
        assert!(matches!(out[1].kind, RoomEvent::Typing { .. }));
    }
}
