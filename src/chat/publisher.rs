//! The publish path: persist, then deliver.
//!
//! One task owns all message writes. It takes every message waiting in its
//! queue, stores them in one transaction (group commit: one fsync for many
//! messages), and only then delivers them (here and to the other nodes) and acknowledges them.
//! Because one writer assigns ids and publishes in id order, every member of a
//! room sees the room's messages in the same order, the order of their ids.

use super::delivery::Fanout;
use super::event::Event;
use crate::model::{RoomEvent, StoredMessage};
use crate::store::{Appended, NewMessage, Refusal, Store, StoreError};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// The most messages committed in one transaction. Under load batches grow
/// towards it by themselves: what arrives during a commit goes in the next.
const BATCH_MAX: usize = 2048;
/// Messages waiting to be written; senders wait when it is full.
const QUEUE: usize = 8192;

#[derive(Debug, thiserror::Error)]
pub enum PostError {
    #[error("message could not be stored: {0}")]
    Store(#[source] StoreError),
    #[error("server is shutting down")]
    ShuttingDown,
}

/// What became of a message (or a change to one) given to the writer.
#[derive(Debug, Clone)]
pub enum Posted {
    /// Durable. `duplicate`: a resend of an entry stored earlier under the
    /// same client id, which is what `message` is.
    Stored {
        message: StoredMessage,
        duplicate: bool,
    },
    /// A change that would change nothing (a reaction already there):
    /// nothing stored, nothing told. `count`: for a reaction, how many have it.
    Unchanged { count: i64 },
    /// The rules said no when it was to be stored (the message is gone,
    /// not the author's, too old to edit).
    Refused(Refusal),
}

pub type PostReply = oneshot::Receiver<Result<Posted, PostError>>;

struct PostRequest {
    message: NewMessage,
    reply: oneshot::Sender<Result<Posted, PostError>>,
}

#[derive(Clone)]
pub struct Publisher {
    tx: mpsc::Sender<PostRequest>,
    health: Arc<StoreHealth>,
}

/// Whether the store took the last message the writer gave it. Only a write
/// shows whether writes work (a full disk still answers reads), so this is
/// the writer's own record, not a probe: it turns to failing with the first
/// message not stored and back with the first one stored.
#[derive(Debug, Default)]
struct StoreHealth {
    failing: AtomicBool,
}

impl StoreHealth {
    fn record(&self, stored: bool) {
        let was_failing = self.failing.swap(!stored, Ordering::Relaxed);
        if was_failing && stored {
            tracing::info!("messages are being stored again");
        }
    }
}

impl Publisher {
    /// Starts the writer task. It ends once every `Publisher` is dropped and
    /// the queue is drained, so shutting down loses no accepted message.
    pub fn start(store: Arc<dyn Store>, fanout: Fanout) -> (Self, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let health = Arc::new(StoreHealth::default());
        let task = tokio::spawn(write_loop(rx, store, fanout, health.clone(), BATCH_MAX));
        (Self { tx, health }, task)
    }

    /// True while the last message given to the store was not stored.
    pub fn store_failing(&self) -> bool {
        self.health.failing.load(Ordering::Relaxed)
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

type Reply = oneshot::Sender<Result<Posted, PostError>>;

/// Commits batches; a second task publishes and acknowledges them, so the
/// next commit starts while the last one is being delivered. One channel
/// between the two keeps the order.
async fn write_loop(
    mut rx: mpsc::Receiver<PostRequest>,
    store: Arc<dyn Store>,
    fanout: Fanout,
    health: Arc<StoreHealth>,
    batch_max: usize,
) {
    let (committed, to_finish) = mpsc::channel::<Vec<(Reply, Appended)>>(4);
    let finisher = tokio::spawn(finish_loop(to_finish, fanout));
    let mut batch = Vec::with_capacity(batch_max);
    while rx.recv_many(&mut batch, batch_max).await > 0 {
        let (messages, replies): (Vec<NewMessage>, Vec<Reply>) = batch
            .drain(..)
            .map(|r: PostRequest| (r.message, r.reply))
            .unzip();
        let done = match store.append(&messages).await {
            Ok(results) => {
                health.record(true);
                replies.into_iter().zip(results).collect()
            }
            Err(err) => {
                // One bad message must not sink its neighbours: retry alone.
                tracing::warn!(error = %err, size = messages.len(), "batch append failed; retrying one by one");
                let mut done = Vec::new();
                for (message, reply) in messages.iter().zip(replies) {
                    let appended = store.append(std::slice::from_ref(message)).await;
                    health.record(appended.is_ok());
                    match appended {
                        Ok(mut results) => match results.pop() {
                            Some(result) => done.push((reply, result)),
                            None => {
                                let _ = reply.send(Err(PostError::ShuttingDown));
                            }
                        },
                        Err(err) => {
                            tracing::error!(error = %err, room = %message.room, "message not stored");
                            let _ = reply.send(Err(PostError::Store(err)));
                        }
                    }
                }
                done
            }
        };
        if committed.send(done).await.is_err() {
            break;
        }
    }
    drop(committed);
    if let Err(err) = finisher.await {
        tracing::error!(error = %err, "publishing task failed");
    }
}

async fn finish_loop(mut rx: mpsc::Receiver<Vec<(Reply, Appended)>>, fanout: Fanout) {
    while let Some(done) = rx.recv().await {
        finish(done, &fanout).await;
    }
}

/// Publishes what is new, then acknowledges everything.
async fn finish(done: Vec<(Reply, Appended)>, fanout: &Fanout) {
    let mut events = Vec::new();
    let mut replies = Vec::with_capacity(done.len());
    for (reply, appended) in done {
        let posted = match appended {
            Appended::New(message) => {
                events.push(Arc::new(Event::new(RoomEvent::Message(message.clone()))));
                Posted::Stored {
                    message,
                    duplicate: false,
                }
            }
            Appended::Duplicate(message) => Posted::Stored {
                message,
                duplicate: true,
            },
            Appended::Unchanged { count } => Posted::Unchanged { count },
            Appended::Refused(refusal) => Posted::Refused(refusal),
        };
        replies.push((reply, posted));
    }
    fanout.publish(events).await;
    for (reply, posted) in replies {
        let _ = reply.send(Ok(posted));
    }
}
