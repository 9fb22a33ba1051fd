//! A connection's bounded outbound queue, as the rest of the server sees it.
//!
//! Pushing never waits: a recipient that does not keep up must not slow the
//! room. The queue is bounded in bytes (`--outbound-queue-bytes`) and in
//! frames (`--outbound-queue`), whichever comes first, counting everything
//! queued or in the writer's hand and not yet written: a push that would
//! take the connection past either marks the queue overflowed and is
//! refused; the connection's writer sees that and closes (the gateway picks
//! the close code); the client reconnects and resumes. So a reader that
//! never reads pins at most its budget, however many rooms it is in (every
//! room pushes into the same queue), plus its socket's buffers.
//!
//! Bytes are what an entry keeps alive: a shared event counts in full for
//! every connection holding it (`Event::bytes`, known when the event was
//! made), so that the bound holds for the one connection left holding it
//! when all others have written it. Frames are still counted: deployments
//! that set `--outbound-queue` keep its meaning, and it bounds what bytes
//! bound loosely, many tiny frames (a client that sends pings and never
//! reads is closed after 4,096 pongs, not twenty thousand). With the
//! defaults, room events meet the byte budget first.
//!
//! An empty queue takes one entry whatever its size: a frame bigger than
//! the whole budget (one room's share of a big commit) must not close a
//! reader that keeps up.
//!
//! The queue is a `VecDeque` under a lock that nobody holds for more than a
//! push or a swap, rather than a channel: a channel allocates its first block
//! of slots (and keeps it) for every connection, and most connections are idle.
//! The writer takes the whole queue at once and frees it once written.

use super::event::Event;
use super::notice::Notice;
use crate::model::ConnId;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::Notify;

pub enum Outbound {
    /// A room event shared with every other recipient.
    Event(Arc<Event>),
    /// Several events of one room, in order (one commit's worth, or the
    /// joins and leaves of a presence tick), from index `from` on: one queue
    /// entry and one wake-up for the lot.
    Events {
        events: Arc<[Arc<Event>]>,
        from: u32,
    },
    /// A frame for this connection alone (ack, error, pong, ...), already
    /// encoded by the gateway that queued it.
    Frame(Box<str>),
    /// Replay the room's stored messages after `since`, then go on live
    /// (see `gateway::writer` for why the writer does it).
    Replay(Box<Replay>),
    /// From here on, show this connection the presence summaries (`Roster`)
    /// in place of the changes they sum up (see `gateway::v1`).
    PresenceSummaries,
    /// Something about one of the user's rooms (see `chat::notice`).
    Notice(Arc<Notice>),
}

// Rare entries are boxed: queues hold thousands of entries when a room is
// busy, and the enum's size is paid for each.
const _: () = assert!(std::mem::size_of::<Outbound>() <= 24);

/// What a queue entry costs besides what it points to: its slot, and the
/// heap block of a boxed one.
const ENTRY_BYTES: u64 = 32;

pub struct Replay {
    pub room: String,
    pub room_id: i64,
    pub since: i64,
    /// The connection replayed to: it stops if the connection leaves the room.
    pub conn: ConnId,
}

/// Frames and bytes, in one word: one atomic counts both, so that a push
/// checks them together with one compare-and-swap, and the counter is no
/// bigger than it was when it counted frames alone. Frames take the high
/// 24 bits, bytes the low 40 (a TiB); each saturates rather than carry into
/// the other.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Weight(u64);

impl Weight {
    const BYTE_BITS: u32 = 40;
    const MAX_BYTES: u64 = (1 << Self::BYTE_BITS) - 1;
    const MAX_FRAMES: u64 = (1 << (64 - Self::BYTE_BITS)) - 1;

    pub fn new(frames: u64, bytes: u64) -> Self {
        Self(frames.min(Self::MAX_FRAMES) << Self::BYTE_BITS | bytes.min(Self::MAX_BYTES))
    }

    /// One frame of `bytes`.
    pub fn frame(bytes: u64) -> Self {
        Self::new(1, bytes)
    }

    pub fn frames(self) -> u64 {
        self.0 >> Self::BYTE_BITS
    }

    pub fn bytes(self) -> u64 {
        self.0 & Self::MAX_BYTES
    }

    fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn plus(self, other: Self) -> Self {
        Self::new(
            self.frames().saturating_add(other.frames()),
            self.bytes().saturating_add(other.bytes()),
        )
    }

    fn minus(self, other: Self) -> Self {
        Self::new(
            self.frames().saturating_sub(other.frames()),
            self.bytes().saturating_sub(other.bytes()),
        )
    }

    fn within(self, limit: Self) -> bool {
        self.frames() <= limit.frames() && self.bytes() <= limit.bytes()
    }
}

impl Outbound {
    /// What this entry costs the queue until it is written.
    pub fn weight(&self) -> Weight {
        match self {
            Self::Event(event) => Weight::frame(ENTRY_BYTES + event.bytes()),
            Self::Events { events, from } => Self::batch_weight(events, *from),
            Self::Frame(text) => Weight::frame(ENTRY_BYTES + text.len() as u64),
            Self::Replay(replay) => Weight::frame(
                ENTRY_BYTES + (std::mem::size_of::<Replay>() + replay.room.len()) as u64,
            ),
            Self::PresenceSummaries => Weight::frame(ENTRY_BYTES),
            Self::Notice(notice) => Weight::frame(ENTRY_BYTES + notice.bytes()),
        }
    }

    /// The weight of `Events { events, from }`: for a pusher that hands one
    /// batch to many queues and weighs it once.
    pub fn batch_weight(events: &[Arc<Event>], from: u32) -> Weight {
        let part = events.get(from as usize..).unwrap_or_default();
        part.iter().fold(Weight::new(0, ENTRY_BYTES), |sum, event| {
            sum.plus(Self::event_weight(event))
        })
    }

    /// What writing one event of a batch frees: a batch is freed event by
    /// event as it is written, so that a big one in the writer's hand does
    /// not count in full until its last event is out.
    pub fn event_weight(event: &Event) -> Weight {
        Weight::frame(event.bytes())
    }

    /// What is left to free once this entry is written, besides what its
    /// events freed one by one (`event_weight`): a batch's slot, or the
    /// whole of any other entry.
    pub fn rest_weight(&self) -> Weight {
        match self {
            Self::Events { .. } => Weight::new(0, ENTRY_BYTES),
            _ => self.weight(),
        }
    }
}

/// The pushing end of a connection's queue; the hub holds one per room the
/// connection is in, the connection's reader holds one for its replies.
#[derive(Clone)]
pub struct Outbox {
    senders: Arc<Senders>,
}

struct Shared {
    items: Mutex<VecDeque<Outbound>>,
    ready: Notify,
    /// Queued or in the writer's hand, not yet written.
    queued: AtomicU64,
    /// The most `queued` may reach. Here rather than in each `Outbox`: a
    /// connection has one queue, but a handle for every room it is in.
    limit: Weight,
    senders_gone: AtomicBool,
    receiver_gone: AtomicBool,
    /// Set once when the reader fell too far behind; wakes `overflowed`.
    too_slow: AtomicBool,
    slow: Notify,
}

/// Shared by every clone of one `Outbox`; dropped with the last of them.
struct Senders {
    shared: Arc<Shared>,
}

impl Drop for Senders {
    fn drop(&mut self) {
        self.shared.senders_gone.store(true, Ordering::Release);
        self.shared.ready.notify_one();
    }
}

/// What the writer finds when it takes from its queue.
pub enum Taken {
    Items(VecDeque<Outbound>),
    /// The reader fell too far behind: close the connection.
    Overflowed,
    /// Every `Outbox` is gone and everything was taken.
    Finished,
}

/// The writer's end of the queue.
pub struct OutboxReceiver {
    shared: Arc<Shared>,
}

impl OutboxReceiver {
    /// Waits for queued entries and takes them all, in order; says instead
    /// when the queue overflowed (the reader is too slow and the connection
    /// should close so that it resumes), or when every `Outbox` is gone and
    /// nothing is left.
    pub async fn take(&self) -> Taken {
        loop {
            if self.shared.too_slow.load(Ordering::Acquire) {
                return Taken::Overflowed;
            }
            let taken = std::mem::take(&mut *self.items());
            if !taken.is_empty() {
                return Taken::Items(taken);
            }
            if self.shared.senders_gone.load(Ordering::Acquire) {
                return Taken::Finished;
            }
            // A push between the take and here leaves a permit: no lost wake-up.
            self.shared.ready.notified().await;
        }
    }

    fn items(&self) -> std::sync::MutexGuard<'_, VecDeque<Outbound>> {
        self.shared
            .items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Frees what an entry weighed once the writer has written it.
    pub fn written(&self, weight: Weight) {
        self.update(|queued| queued.minus(weight));
    }

    /// Counts what the writer holds besides queue entries (a page of a
    /// replay) until it gives it back with `written`: a push that finds the
    /// budget spent, counting that, marks the queue overflowed.
    pub fn hold(&self, weight: Weight) {
        self.update(|queued| queued.plus(weight));
    }

    fn update(&self, change: impl Fn(Weight) -> Weight) {
        // `change` never refuses: the update always succeeds.
        let _ = self
            .shared
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                Some(change(Weight(queued)).0)
            });
    }

    /// The most this queue may hold.
    pub fn limit(&self) -> Weight {
        self.shared.limit
    }

    /// Resolves once the queue overflowed, for a writer that is busy writing
    /// (an idle one learns it from `take`): a socket that stopped draining
    /// must not keep the connection open.
    pub async fn overflowed(&self) {
        loop {
            let notified = self.shared.slow.notified();
            if self.shared.too_slow.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }

    /// The writer is done: pushes fail from now on (quietly, not as too
    /// slow), and what is still queued is freed at once rather than when
    /// the connection has left its last room.
    pub fn close(&self) {
        self.shared.receiver_gone.store(true, Ordering::Release);
        let left = std::mem::take(&mut *self.items());
        drop(left);
    }
}

impl Drop for OutboxReceiver {
    fn drop(&mut self) {
        self.shared.receiver_gone.store(true, Ordering::Release);
    }
}

impl Outbox {
    /// A queue of at most `frames` frames and `bytes` bytes (see `Weight`).
    pub fn new(frames: usize, bytes: usize) -> (Self, OutboxReceiver) {
        let limit = Weight::new(frames.max(1) as u64, bytes.max(1) as u64);
        let shared = Arc::new(Shared {
            items: Mutex::new(VecDeque::new()),
            ready: Notify::new(),
            queued: AtomicU64::new(0),
            limit,
            senders_gone: AtomicBool::new(false),
            receiver_gone: AtomicBool::new(false),
            too_slow: AtomicBool::new(false),
            slow: Notify::new(),
        });
        let outbox = Self {
            senders: Arc::new(Senders {
                shared: shared.clone(),
            }),
        };
        (outbox, OutboxReceiver { shared })
    }

    /// Queues `item`; false if the connection is gone or was too slow.
    pub fn push(&self, item: Outbound) -> bool {
        let weight = item.weight();
        self.push_weighed(item, weight)
    }

    /// `push` for an entry already weighed (`Outbound::batch_weight`): the
    /// hub hands one batch to every member of a room and weighs it once.
    pub(super) fn push_weighed(&self, item: Outbound, weight: Weight) -> bool {
        debug_assert_eq!(weight, item.weight(), "weighed as it will be freed");
        let shared = &self.senders.shared;
        if shared.receiver_gone.load(Ordering::Acquire) || shared.too_slow.load(Ordering::Acquire) {
            return false;
        }
        // Too slow: this entry would take what is unwritten past the limit.
        // An empty queue takes anything, so one entry bigger than the limit
        // does not close a reader that keeps up.
        let admitted = shared
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |queued| {
                let queued = Weight(queued);
                let after = queued.plus(weight);
                (queued.is_empty() || after.within(shared.limit)).then_some(after.0)
            });
        if admitted.is_err() {
            if !shared.too_slow.swap(true, Ordering::AcqRel) {
                shared.slow.notify_waiters();
                shared.ready.notify_one();
            }
            return false;
        }
        shared
            .items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(item);
        shared.ready.notify_one();
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RoomEvent, StoredMessage, Timestamp, User};

    /// Room for plenty of frames: these tests are about the other bound.
    const FRAMES: usize = 1000;
    const BYTES: usize = 1 << 20;

    fn frame(text: &str) -> Outbound {
        Outbound::Frame(text.into())
    }

    /// What a frame of `len` bytes weighs.
    fn weighs(len: usize) -> usize {
        ENTRY_BYTES as usize + len
    }

    fn texts(taken: Taken) -> Vec<String> {
        let Taken::Items(items) = taken else {
            return Vec::new();
        };
        items
            .into_iter()
            .map(|item| match item {
                Outbound::Frame(text) => text.into(),
                _ => String::new(),
            })
            .collect()
    }

    fn message(content: &str) -> Arc<Event> {
        Arc::new(Event::new(RoomEvent::Message(StoredMessage {
            id: 1,
            seq: 1,
            room_id: 1,
            room: "general".into(),
            author: User {
                id: 1,
                username: "alice".into(),
            },
            content: content.into(),
            created_at: Timestamp(0),
            client_id: None,
            entry: crate::model::Entry::Message(None),
        })))
    }

    fn is_too_slow(outbox: &Outbox) -> bool {
        outbox.senders.shared.too_slow.load(Ordering::Acquire)
    }

    #[tokio::test]
    async fn the_writer_takes_everything_queued_in_order() {
        let (outbox, inbox) = Outbox::new(10, BYTES);
        let clone = outbox.clone();
        assert!(outbox.push(frame("a")) && clone.push(frame("b")));
        assert_eq!(texts(inbox.take().await), ["a", "b"]);
        assert!(outbox.push(frame("c")));
        assert_eq!(texts(inbox.take().await), ["c"]);
    }

    #[tokio::test]
    async fn a_waiting_writer_wakes_on_a_push_and_ends_when_all_senders_are_gone() {
        let (outbox, inbox) = Outbox::new(10, BYTES);
        let writer = tokio::spawn(async move {
            let first = texts(inbox.take().await);
            let last = inbox.take().await;
            (first, matches!(last, Taken::Finished))
        });
        tokio::task::yield_now().await;
        assert!(outbox.push(frame("x")));
        tokio::task::yield_now().await;
        drop(outbox);
        let (first, last) = writer.await.expect("writer");
        assert_eq!((first, last), (vec!["x".to_owned()], true));
    }

    #[tokio::test]
    async fn more_than_the_bound_unwritten_closes_as_too_slow() {
        let (outbox, inbox) = Outbox::new(2, BYTES);
        assert!(outbox.push(frame("1")) && outbox.push(frame("2")));
        // Taken but not yet written: still counts.
        let Taken::Items(taken) = inbox.take().await else {
            panic!("entries")
        };
        let waiting =
            tokio::time::timeout(std::time::Duration::from_millis(20), inbox.overflowed());
        assert!(waiting.await.is_err(), "not overflowed yet");
        // A writer stuck on its socket hears of it, and so does one that takes.
        let stuck = tokio::spawn({
            let (outbox, inbox) = (outbox.clone(), inbox);
            async move {
                inbox.overflowed().await;
                let overflowed = matches!(inbox.take().await, Taken::Overflowed);
                drop(outbox);
                (overflowed, inbox)
            }
        });
        tokio::task::yield_now().await;
        assert!(!outbox.push(frame("3")));
        let (overflowed, inbox) = stuck.await.expect("woken");
        assert!(overflowed);
        // Once too slow, always too slow: the connection is to be closed.
        for item in taken {
            inbox.written(item.weight());
        }
        assert!(!outbox.push(frame("4")));
    }

    #[tokio::test]
    async fn the_byte_budget_counts_what_is_unwritten_until_it_is_written() {
        // Room for three frames of 100 bytes, and frames to spare.
        let (outbox, inbox) = Outbox::new(FRAMES, 3 * weighs(100));
        let hundred = "x".repeat(100);
        assert!(outbox.push(frame(&hundred)) && outbox.push(frame(&hundred)));
        let Taken::Items(taken) = inbox.take().await else {
            panic!("entries")
        };
        // In the writer's hand: still counted. One written: freed.
        assert!(outbox.push(frame(&hundred)));
        let mut taken = taken.into_iter();
        let first = taken.next().expect("first");
        inbox.written(first.weight());
        assert!(outbox.push(frame(&hundred)), "room made by the write");
        assert!(!is_too_slow(&outbox));
        // Past the budget by a single byte: too slow.
        assert!(!outbox.push(frame("y")));
        assert!(is_too_slow(&outbox));
        assert!(matches!(inbox.take().await, Taken::Overflowed));
    }

    #[tokio::test]
    async fn every_room_pushes_into_one_budget() {
        // One connection in two rooms: the hub holds a clone per room.
        let (room_a, inbox) = Outbox::new(FRAMES, 4 * weighs(100));
        let room_b = room_a.clone();
        let hundred = "x".repeat(100);
        for _ in 0..2 {
            assert!(room_a.push(frame(&hundred)) && room_b.push(frame(&hundred)));
        }
        assert!(
            !room_b.push(frame(&hundred)),
            "the fifth, whatever the room"
        );
        assert!(!room_a.push(frame("")), "and then nothing more");
        assert!(matches!(inbox.take().await, Taken::Overflowed));
    }

    #[tokio::test]
    async fn a_shared_event_counts_in_full_for_every_connection_holding_it() {
        let event = message(&"m".repeat(1000));
        let weight = Outbound::Event(event.clone()).weight();
        // Its text twice (the message and the frame made of it) and more.
        assert!(weight.bytes() > 2000, "{weight:?}");
        // Two connections with room for exactly one such event each.
        let queues: Vec<_> = (0..2)
            .map(|_| Outbox::new(FRAMES, weight.bytes() as usize))
            .collect();
        for (outbox, _) in &queues {
            assert!(outbox.push(Outbound::Event(event.clone())));
        }
        for (outbox, _) in &queues {
            assert!(!outbox.push(frame("")), "each one's budget is spent");
        }
    }

    #[tokio::test]
    async fn a_batch_weighs_its_events_from_where_the_member_joins() {
        let events: Arc<[Arc<Event>]> = vec![
            message("one"),
            message(&"two".repeat(100)),
            message("three"),
        ]
        .into();
        let whole = Outbound::batch_weight(&events, 0);
        let tail = Outbound::batch_weight(&events, 2);
        let each: u64 = events.iter().map(|e| e.bytes()).sum();
        assert_eq!(whole, Weight::new(3, ENTRY_BYTES + each));
        assert_eq!(tail, Weight::new(1, ENTRY_BYTES + events[2].bytes()));
        assert_eq!(Outbound::batch_weight(&events, 3).frames(), 0);
        let item = Outbound::Events {
            events: events.clone(),
            from: 2,
        };
        assert_eq!(item.weight(), tail);
        let (outbox, inbox) = Outbox::new(FRAMES, BYTES);
        assert!(outbox.push_weighed(item, tail));
        let Taken::Items(taken) = inbox.take().await else {
            panic!("entries")
        };
        // Freed as the writer frees it: event by event, then the rest.
        for item in taken {
            if let Outbound::Events { events, from } = &item {
                for event in &events[*from as usize..] {
                    inbox.written(Outbound::event_weight(event));
                }
            }
            inbox.written(item.rest_weight());
        }
        assert_eq!(
            Weight(outbox.senders.shared.queued.load(Ordering::Acquire)),
            Weight::default()
        );
    }

    #[tokio::test]
    async fn an_empty_queue_takes_one_entry_bigger_than_the_budget() {
        let (outbox, inbox) = Outbox::new(FRAMES, weighs(10));
        let big = "b".repeat(1000);
        assert!(outbox.push(frame(&big)), "a reader that keeps up gets it");
        let Taken::Items(taken) = inbox.take().await else {
            panic!("entries")
        };
        for item in taken {
            inbox.written(item.weight());
        }
        assert!(
            outbox.push(frame(&big)),
            "and the next, once it wrote the first"
        );
        // Not written yet: the next one finds the budget spent.
        assert!(!outbox.push(frame("")));
        assert!(is_too_slow(&outbox));
    }

    #[tokio::test]
    async fn what_the_writer_holds_counts_until_it_gives_it_back() {
        let (outbox, inbox) = Outbox::new(FRAMES, weighs(100));
        let page = Weight::new(0, 100);
        inbox.hold(page);
        inbox.written(page);
        assert!(outbox.push(frame("0123456789")), "given back: room again");
        // A replay page in the writer's hand, with a frame already queued.
        inbox.hold(page);
        assert!(!outbox.push(frame("")), "the page spent the budget");
        assert!(is_too_slow(&outbox));
    }

    #[tokio::test]
    async fn the_frame_bound_still_holds_when_bytes_are_plenty() {
        let (outbox, _inbox) = Outbox::new(3, BYTES);
        for n in 0..3 {
            assert!(outbox.push(frame(&n.to_string())));
        }
        assert!(!outbox.push(frame("3")));
        assert!(is_too_slow(&outbox));
    }

    #[tokio::test]
    async fn a_closed_queue_frees_its_entries_and_refuses_quietly() {
        let (outbox, inbox) = Outbox::new(FRAMES, BYTES);
        let event = message("held");
        assert!(outbox.push(Outbound::Event(event.clone())));
        assert_eq!(Arc::strong_count(&event), 2);
        inbox.close();
        assert_eq!(Arc::strong_count(&event), 1, "freed at once");
        assert!(!outbox.push(frame("late")));
        assert!(!is_too_slow(&outbox), "not counted as too slow");
    }

    #[test]
    fn a_weight_saturates_rather_than_carry_into_the_other_count() {
        let most = Weight::new(u64::MAX, u64::MAX);
        assert_eq!(
            (most.frames(), most.bytes()),
            ((1 << 24) - 1, (1 << 40) - 1)
        );
        let more = most.plus(Weight::frame(1));
        assert_eq!(more, most);
        assert_eq!(Weight::frame(5).minus(Weight::new(2, 9)), Weight::new(0, 0));
        assert!(Weight::new(2, 10).within(Weight::new(2, 10)));
        assert!(!Weight::new(3, 10).within(Weight::new(2, 10)));
        assert!(!Weight::new(2, 11).within(Weight::new(2, 10)));
    }

    #[tokio::test]
    async fn pushing_to_a_finished_writer_fails_quietly() {
        let (outbox, inbox) = Outbox::new(2, BYTES);
        let shared = outbox.senders.shared.clone();
        drop(inbox);
        assert!(!outbox.push(frame("late")));
        assert!(
            !shared.too_slow.load(Ordering::Acquire),
            "not counted as too slow"
        );
    }
}
