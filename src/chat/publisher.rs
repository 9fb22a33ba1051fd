//! The publish path: persist, then deliver.
//!
//! One task owns all message writes. It takes every message waiting in its
//! queue, stores them in one transaction (group commit: one fsync for many
//! messages), and only then publishes them on the bus and acknowledges them.
//! Because one writer assigns ids and publishes in id order, every member of a
//! room sees the room's messages in the same order, the order of their ids.

use super::event::{Event, EventKind};
use super::model::StoredMessage;
use crate::bus::Bus;
use crate::store::{Appended, NewMessage, Store, StoreError};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// The most messages committed in one transaction. A commit reaches each
/// member as one queue entry per room (`Outbound::Events`), so its size does
/// not count against a reader's outbound queue.
const BATCH_MAX: usize = 512;
/// Messages waiting to be written; senders wait when it is full.
const QUEUE: usize = 8192;

#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error("message could not be stored: {0}")]
    Store(#[from] StoreError),
    #[error("server is shutting down")]
    ShuttingDown,
}

/// A message once it is durable.
#[derive(Debug, Clone)]
pub struct Posted {
    pub message: StoredMessage,
    /// True when this was a resend of a message already stored.
    pub duplicate: bool,
}

pub type PostReply = oneshot::Receiver<Result<Posted, PostError>>;

struct PostRequest {
    message: NewMessage,
    reply: oneshot::Sender<Result<Posted, PostError>>,
}

#[derive(Clone)]
pub struct Publisher {
    tx: mpsc::Sender<PostRequest>,
}

impl Publisher {
    /// Starts the writer task. It ends once every `Publisher` is dropped and
    /// the queue is drained, so shutting down loses no accepted message.
    pub fn start(store: Arc<dyn Store>, bus: Arc<dyn Bus>) -> (Self, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let task = tokio::spawn(write_loop(rx, store, bus, BATCH_MAX));
        (Self { tx }, task)
    }

    /// Queues a message. Messages queued by one caller are stored in the
    /// order queued; the returned receiver resolves once it is durable.
    pub async fn submit(&self, message: NewMessage) -> Result<PostReply, PostError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(PostRequest { message, reply })
            .await
            .map_err(|_| PostError::ShuttingDown)?;
        Ok(rx)
    }
}

async fn write_loop(
    mut rx: mpsc::Receiver<PostRequest>,
    store: Arc<dyn Store>,
    bus: Arc<dyn Bus>,
    batch_max: usize,
) {
    let mut batch = Vec::with_capacity(batch_max);
    let mut messages = Vec::with_capacity(batch_max);
    while rx.recv_many(&mut batch, batch_max).await > 0 {
        messages.clear();
        messages.extend(batch.iter().map(|r: &PostRequest| r.message.clone()));
        match store.append(&messages).await {
            Ok(results) => finish(batch.drain(..).zip(results), bus.as_ref()).await,
            Err(err) => {
                // One bad message must not sink its neighbours: retry alone.
                tracing::warn!(error = %err, size = batch.len(), "batch append failed; retrying one by one");
                for request in batch.drain(..) {
                    match store.append(std::slice::from_ref(&request.message)).await {
                        Ok(mut results) => match results.pop() {
                            Some(result) => {
                                finish(std::iter::once((request, result)), bus.as_ref()).await
                            }
                            None => {
                                let _ = request.reply.send(Err(PostError::ShuttingDown));
                            }
                        },
                        Err(err) => {
                            tracing::error!(error = %err, room = %request.message.room, "message not stored");
                            let _ = request.reply.send(Err(err.into()));
                        }
                    }
                }
            }
        }
    }
}

/// Publishes what is new, then acknowledges everything.
async fn finish(done: impl Iterator<Item = (PostRequest, Appended)>, bus: &dyn Bus) {
    let mut events = Vec::new();
    let mut replies = Vec::new();
    for (request, appended) in done {
        let posted = match appended {
            Appended::New(message) => {
                events.push(Arc::new(Event::new(EventKind::Message(message.clone()))));
                Posted {
                    message,
                    duplicate: false,
                }
            }
            Appended::Duplicate(message) => Posted {
                message,
                duplicate: true,
            },
        };
        replies.push((request.reply, posted));
    }
    if let Err(err) = bus.publish(events).await {
        // Stored but not delivered live: members still get it from history
        // and on resume, so the sender's ack stays true.
        tracing::error!(error = %err, "publishing stored messages failed");
    }
    for (reply, posted) in replies {
        let _ = reply.send(Ok(posted));
    }
}
