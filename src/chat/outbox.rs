//! A connection's bounded outbound queue, as the rest of the server sees it.
//!
//! Pushing never waits: a recipient that does not keep up must not slow the
//! room. The bound counts frames (a batch of events counts as its length), so
//! it bounds what a slow reader can pin in memory: once a reader still has
//! more than the bound unwritten when more arrives, the queue is marked
//! overflowed and refuses more; the connection's writer sees that and closes
//! (the gateway picks the close code); the client reconnects and resumes.
//!
//! The queue is a `VecDeque` under a lock that nobody holds for more than a
//! push or a swap, rather than a channel: a channel allocates its first block
//! of slots (and keeps it) for every connection, and most connections are idle.
//! The writer takes the whole queue at once and frees it once written.

use super::event::Event;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
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
}

// Rare entries are boxed: queues hold thousands of entries when a room is
// busy, and the enum's size is paid for each.
const _: () = assert!(std::mem::size_of::<Outbound>() <= 24);

pub struct Replay {
    pub room: String,
    pub room_id: i64,
    pub since: i64,
}

impl Outbound {
    /// How many frames this entry stands for, against the queue's bound.
    pub fn weight(&self) -> usize {
        match self {
            Self::Events { events, from } => events.len().saturating_sub(*from as usize),
            _ => 1,
        }
    }
}

/// The pushing end of a connection's queue; the hub holds one per room the
/// connection is in, the connection's reader holds one for its replies.
#[derive(Clone)]
pub struct Outbox {
    senders: Arc<Senders>,
    limit: usize,
}

struct Shared {
    items: Mutex<VecDeque<Outbound>>,
    ready: Notify,
    /// Frames queued or in the writer's hand, not yet written.
    queued: AtomicUsize,
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
            let taken = std::mem::take(
                &mut *self
                    .shared
                    .items
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner),
            );
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

    /// Frees `weight` frames once the writer has written them.
    pub fn written(&self, weight: usize) {
        self.shared.queued.fetch_sub(weight, Ordering::AcqRel);
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
}

impl Drop for OutboxReceiver {
    fn drop(&mut self) {
        self.shared.receiver_gone.store(true, Ordering::Release);
    }
}

impl Outbox {
    /// A queue of at most `limit` frames.
    pub fn new(limit: usize) -> (Self, OutboxReceiver) {
        let shared = Arc::new(Shared {
            items: Mutex::new(VecDeque::new()),
            ready: Notify::new(),
            queued: AtomicUsize::new(0),
            senders_gone: AtomicBool::new(false),
            receiver_gone: AtomicBool::new(false),
            too_slow: AtomicBool::new(false),
            slow: Notify::new(),
        });
        let outbox = Self {
            senders: Arc::new(Senders {
                shared: shared.clone(),
            }),
            limit: limit.max(1),
        };
        (outbox, OutboxReceiver { shared })
    }

    /// Queues `item`; false if the connection is gone or was too slow.
    pub fn push(&self, item: Outbound) -> bool {
        let shared = &self.senders.shared;
        if shared.receiver_gone.load(Ordering::Acquire) || shared.too_slow.load(Ordering::Acquire) {
            return false;
        }
        let weight = item.weight();
        let before = shared.queued.fetch_add(weight, Ordering::AcqRel);
        // Too slow: still more than `limit` frames unwritten when more come.
        // (So a queue holds at most `limit` plus one commit's burst.)
        if before >= self.limit {
            shared.queued.fetch_sub(weight, Ordering::AcqRel);
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

    fn frame(text: &str) -> Outbound {
        Outbound::Frame(text.into())
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

    #[tokio::test]
    async fn the_writer_takes_everything_queued_in_order() {
        let (outbox, inbox) = Outbox::new(10);
        let clone = outbox.clone();
        assert!(outbox.push(frame("a")) && clone.push(frame("b")));
        assert_eq!(texts(inbox.take().await), ["a", "b"]);
        assert!(outbox.push(frame("c")));
        assert_eq!(texts(inbox.take().await), ["c"]);
    }

    #[tokio::test]
    async fn a_waiting_writer_wakes_on_a_push_and_ends_when_all_senders_are_gone() {
        let (outbox, inbox) = Outbox::new(10);
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
        let (outbox, inbox) = Outbox::new(2);
        assert!(outbox.push(frame("1")) && outbox.push(frame("2")));
        // Taken but not yet written: still counts.
        let taken = texts(inbox.take().await).len();
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
        inbox.written(taken);
        assert!(!outbox.push(frame("4")));
    }

    #[tokio::test]
    async fn pushing_to_a_finished_writer_fails_quietly() {
        let (outbox, inbox) = Outbox::new(2);
        let shared = outbox.senders.shared.clone();
        drop(inbox);
        assert!(!outbox.push(frame("late")));
        assert!(
            !shared.too_slow.load(Ordering::Acquire),
            "not counted as too slow"
        );
    }
}
