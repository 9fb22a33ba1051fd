//! A connection's bounded outbound queue, as the rest of the server sees it.
//!
//! Pushing never waits: a recipient that does not keep up must not slow the
//! room. When its queue is full the connection is told to close with
//! `CLOSE_SLOW_CONSUMER`; the client reconnects and resumes from its last id.

use super::event::Event;
use axum::extract::ws::Message;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU16, Ordering};
use tokio::sync::{Notify, mpsc};

/// Close code for a connection whose outbound queue overflowed.
pub const CLOSE_SLOW_CONSUMER: u16 = 4000;

pub enum Outbound {
    /// A room event shared with every other recipient.
    Event(Arc<Event>),
    /// A frame for this connection alone (ack, error, pong, ...).
    Frame(Message),
    /// Replay the room's stored messages after `since`, then go on live
    /// (see `gateway::session` for why the writer does it).
    Replay {
        room: String,
        room_id: i64,
        since: i64,
    },
}

#[derive(Clone)]
pub struct Outbox {
    tx: mpsc::Sender<Outbound>,
    closer: Arc<Closer>,
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
    pub fn new(capacity: usize) -> (Self, mpsc::Receiver<Outbound>, Arc<Closer>) {
        let (tx, rx) = mpsc::channel(capacity);
        let closer = Arc::new(Closer::default());
        (
            Self {
                tx,
                closer: closer.clone(),
            },
            rx,
            closer,
        )
    }

    /// Queues `item`; false if the connection is gone or was too slow.
    pub fn push(&self, item: Outbound) -> bool {
        match self.tx.try_send(item) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.closer.close(
                    CLOSE_SLOW_CONSUMER,
                    "too slow: outbound queue overflowed, reconnect and resume",
                );
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }
}
