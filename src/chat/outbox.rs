//! A connection's bounded outbound queue, as the rest of the server sees it.
//!
//! Pushing never waits: a recipient that does not keep up must not slow the
//! room. The bound counts frames (a batch of events counts as its length), so
//! it bounds what a slow reader can pin in memory: a reader that still has
//! more than the bound unwritten when more arrives is told to close with
//! `CLOSE_SLOW_CONSUMER`; the client reconnects and resumes from its last id.

use super::event::Event;
use axum::extract::ws::Message;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use tokio::sync::{Notify, mpsc};

/// Close code for a connection whose outbound queue overflowed.
pub const CLOSE_SLOW_CONSUMER: u16 = 4000;

pub enum Outbound {
    /// A room event shared with every other recipient.
    Event(Arc<Event>),
    /// Several events of one room, in order (one commit's worth, or the
    /// joins and leaves of a presence tick), from index `from` on: one queue
    /// entry and one wake-up for the lot.
    Events {
        events: Arc<[Arc<Event>]>,
        from: usize,
    },
    /// A frame for this connection alone (ack, error, pong, ...).
    Frame(Box<Message>),
    /// Replay the room's stored messages after `since`, then go on live
    /// (see `gateway::session` for why the writer does it).
    Replay(Box<Replay>),
}

/// Rare entries are boxed: every connection's queue allocates its slots up
/// front, so the enum's size is paid per connection.
pub struct Replay {
    pub room: String,
    pub room_id: i64,
    pub since: i64,
}

impl Outbound {
    /// How many frames this entry stands for, against the queue's bound.
    pub fn weight(&self) -> usize {
        match self {
            Self::Events { events, from } => events.len().saturating_sub(*from),
            _ => 1,
        }
    }
}

#[derive(Clone)]
pub struct Outbox {
    tx: mpsc::Sender<Outbound>,
    closer: Arc<Closer>,
    queued: Arc<AtomicUsize>,
    limit: usize,
}

/// The writer's end of the queue.
pub struct Inbox {
    rx: mpsc::Receiver<Outbound>,
    queued: Arc<AtomicUsize>,
}

impl Inbox {
    pub async fn recv_many(&mut self, buffer: &mut Vec<Outbound>, limit: usize) -> usize {
        self.rx.recv_many(buffer, limit).await
    }

    /// Frees `weight` frames of room once the writer has written them.
    pub fn written(&self, weight: usize) {
        self.queued.fetch_sub(weight, Ordering::AcqRel);
    }
}

/// Asks the connection's writer to close, once, with a code and a reason.
#[derive(Default)]
pub struct Closer {
    code: AtomicU16,
    reason: OnceLock<&'static str>,
    notify: Notify,
}

impl Closer {
    /// The first call wins; later ones are ignored.
    pub fn close(&self, code: u16, reason: &'static str) {
        if self.reason.set(reason).is_ok() {
            self.code.store(code, Ordering::Release);
            self.notify.notify_one();
        }
    }

    /// Waits until `close` was called and returns its code and reason.
    pub async fn closed(&self) -> (u16, &'static str) {
        loop {
            let code = self.code.load(Ordering::Acquire);
            if code != 0 {
                return (code, self.reason.get().copied().unwrap_or_default());
            }
            self.notify.notified().await;
        }
    }
}

impl Outbox {
    /// A queue of at most `limit` frames.
    pub fn new(limit: usize) -> (Self, Inbox, Arc<Closer>) {
        let limit = limit.max(1);
        let (tx, rx) = mpsc::channel(limit);
        let closer = Arc::new(Closer::default());
        let queued = Arc::new(AtomicUsize::new(0));
        (
            Self {
                tx,
                closer: closer.clone(),
                queued: queued.clone(),
                limit,
            },
            Inbox { rx, queued },
            closer,
        )
    }

    /// Queues `item`; false if the connection is gone or was too slow.
    pub fn push(&self, item: Outbound) -> bool {
        let weight = item.weight();
        let before = self.queued.fetch_add(weight, Ordering::AcqRel);
        // Too slow: still more than `limit` frames unwritten when more come.
        // (So a queue holds at most `limit` plus one commit's burst.)
        let over = before >= self.limit;
        if !over && self.tx.try_send(item).is_ok() {
            return true;
        }
        self.queued.fetch_sub(weight, Ordering::AcqRel);
        if !self.tx.is_closed() {
            self.closer.close(
                CLOSE_SLOW_CONSUMER,
                "too slow: outbound queue overflowed, reconnect and resume",
            );
        }
        false
    }
}
