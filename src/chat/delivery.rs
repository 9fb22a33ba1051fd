//! The one way events reach this node's connections, whether they were
//! published here or on another node: in room order (`sequencer`), with gaps
//! filled from the store, then to the hub. One task does it, so the order it
//! sees is the order every member gets.
//!
//! What this node publishes comes in from the publisher (or a typing
//! notice) with a `delivered` signal, fired once the hub has it, so that a
//! sender's acknowledgement never overtakes the message itself. What other
//! nodes publish comes from the bus's inbound stream.

use super::event::Event;
use super::notice::Notice;
use super::sequencer::{GAP_WAIT, Gap, Sequencer};
use crate::bus::{Bus, Inbound, InboundStream};
use crate::store::{Page, Store};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Batches of this node's own events that may wait for the delivery task;
/// the publisher waits when it is full (it is a burst of commits, bounded).
const LOCAL_QUEUE: usize = 64;

/// What the bus tells besides room events.
pub enum BusNews {
    /// Other nodes ended these login sessions.
    SessionsEnded(Vec<i64>),
    /// Something for these users' sockets here.
    Told { users: Vec<i64>, notice: Notice },
    /// The bus was cut off and is back: what it carried meanwhile is lost.
    Reconnected,
}

struct Local {
    events: Vec<Arc<Event>>,
    delivered: Option<oneshot::Sender<()>>,
}

/// Hands this node's own events to the delivery task.
#[derive(Clone)]
pub struct Delivery {
    tx: mpsc::Sender<Local>,
}

impl Delivery {
    /// Starts the delivery task; it hands what it lets through to `sink`,
    /// and what the bus says besides events to `bus_news`, and ends once
    /// every `Delivery` is dropped.
    pub fn start(
        store: Arc<dyn Store>,
        inbound: InboundStream,
        sink: impl FnMut(Vec<Arc<Event>>) + Send + 'static,
        bus_news: impl FnMut(BusNews) + Send + 'static,
    ) -> (Self, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(LOCAL_QUEUE);
        let task = tokio::spawn(run(store, rx, inbound, sink, bus_news));
        (Self { tx }, task)
    }

    /// Delivers `events` and resolves once the hub has them (or the task is gone).
    pub async fn deliver(&self, events: Vec<Arc<Event>>) {
        let (delivered, done) = oneshot::channel();
        let local = Local {
            events,
            delivered: Some(delivered),
        };
        if self.tx.send(local).await.is_ok() {
            let _ = done.await;
        }
    }

    /// Delivers `events` without waiting for them to be handed out.
    pub async fn send(&self, events: Vec<Arc<Event>>) {
        let local = Local {
            events,
            delivered: None,
        };
        let _ = self.tx.send(local).await;
    }
}

/// Where a node's own events go: to its own members through the delivery
/// task, and to the other nodes through the bus.
#[derive(Clone)]
pub struct Fanout {
    pub delivery: Delivery,
    pub bus: Arc<dyn Bus>,
}

impl Fanout {
    /// Publishes `events` everywhere; returns once this node's members have
    /// them (the other nodes' copies are on the bus by then).
    pub async fn publish(&self, events: Vec<Arc<Event>>) {
        if events.is_empty() {
            return;
        }
        let kinds: Vec<&crate::model::RoomEvent> = events.iter().map(|e| &e.kind).collect();
        let (_, published) = tokio::join!(
            self.delivery.deliver(events.clone()),
            self.bus.publish(&kinds)
        );
        if let Err(err) = published {
            // Delivered here and stored: the other nodes' members get it
            // from history and on resume, so acknowledgements stay true.
            tracing::error!(error = %err, "publishing to the other nodes failed");
        }
    }

    /// Like `publish`, for what needs no acknowledgement (typing).
    pub async fn notify(&self, events: Vec<Arc<Event>>) {
        let kinds: Vec<&crate::model::RoomEvent> = events.iter().map(|e| &e.kind).collect();
        let (_, published) =
            tokio::join!(self.delivery.send(events.clone()), self.bus.publish(&kinds));
        if let Err(err) = published {
            tracing::debug!(error = %err, "notice not told to the other nodes");
        }
    }
}

async fn run(
    store: Arc<dyn Store>,
    mut local: mpsc::Receiver<Local>,
    mut inbound: InboundStream,
    mut sink: impl FnMut(Vec<Arc<Event>>),
    mut bus_news: impl FnMut(BusNews),
) {
    let mut sequencer = Sequencer::default();
    let mut tick = tokio::time::interval(GAP_WAIT / 2);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut bus_open = true;
    loop {
        let mut out = Vec::new();
        tokio::select! {
            batch = local.recv() => {
                let Some(Local { events, delivered }) = batch else { return };
                for event in events {
                    sequencer.accept(event, &mut out);
                }
                sink(out);
                if let Some(delivered) = delivered {
                    let _ = delivered.send(());
                }
                continue;
            }
            input = inbound.recv(), if bus_open => match input {
                Some(Inbound::Events(events)) => {
                    for event in events {
                        sequencer.accept(Arc::new(Event::new(event)), &mut out);
                    }
                }
                Some(Inbound::SessionsEnded(sessions)) => bus_news(BusNews::SessionsEnded(sessions)),
                Some(Inbound::Added { users, entry }) => bus_news(BusNews::Told {
                    users,
                    notice: Notice::RoomAdded(entry),
                }),
                Some(Inbound::Reconnected) => {
                    bus_news(BusNews::Reconnected);
                    for gap in sequencer.everything_missed() {
                        fill(&mut sequencer, store.as_ref(), &gap, &mut out).await;
                    }
                }
                None => bus_open = false,
            },
            _ = tick.tick() => {
                for gap in sequencer.overdue(Instant::now()) {
                    fill(&mut sequencer, store.as_ref(), &gap, &mut out).await;
                }
            }
        }
        if !out.is_empty() {
            sink(out);
        }
    }
}

/// Reads `gap` from the store; on failure the gap stays and is asked again
/// at the next tick (or the next reconnect).
async fn fill(sequencer: &mut Sequencer, store: &dyn Store, gap: &Gap, out: &mut Vec<Arc<Event>>) {
    let page = Page::Seqs {
        from: gap.from,
        to: gap.upto,
    };
    match store.messages(gap.room_id, page).await {
        Ok(found) => {
            tracing::info!(room = %gap.room, from = gap.from, upto = gap.upto, found = found.len(), "filled a gap in the bus from the store");
            sequencer.filled(gap, found, out);
        }
        Err(err) => {
            tracing::warn!(room = %gap.room, error = %err, "could not fill a gap from the store; will retry");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RoomEvent, RoomName, StoredMessage, Timestamp, Username};
    use crate::store::{Appended, NewMessage, SqliteStore};
    use std::time::Duration;

    /// A real store with `n` messages in one room, and what it stored.
    async fn store_with(n: usize) -> (Arc<dyn Store>, Vec<StoredMessage>, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = SqliteStore::open(&url).await.expect("store opens");
        let name = Username::parse("ann").expect("a name");
        let author = store.create_user(&name, "x").await.expect("user");
        let room = RoomName::parse("r").expect("a room name");
        let room = store
            .create_room(&crate::store::NewRoom {
                name: &room,
                topic: "",
                visibility: crate::model::Visibility::Public,
                owner: None,
            })
            .await
            .expect("room");
        let batch: Vec<NewMessage> = (0..n)
            .map(|i| NewMessage {
                room_id: room.id,
                room: room.name.clone(),
                author: author.clone(),
                content: format!("m{i}"),
                created_at: Timestamp::now(),
                client_id: None,
                reply_to: None,
                change: None,
            })
            .collect();
        let stored = store
            .append(&batch)
            .await
            .expect("appended")
            .into_iter()
            .map(|a| match a {
                Appended::New(m) | Appended::Duplicate(m) => m,
                other => panic!("a plain message came to {other:?}"),
            })
            .collect();
        (Arc::new(store), stored, dir)
    }

    struct Harness {
        bus: mpsc::Sender<Inbound>,
        delivered: mpsc::UnboundedReceiver<i64>,
        delivery: Delivery,
    }

    fn harness(store: Arc<dyn Store>) -> Harness {
        let (bus, inbound) = mpsc::channel(16);
        let (seen, delivered) = mpsc::unbounded_channel();
        let (delivery, _) = Delivery::start(
            store,
            inbound,
            move |events| {
                for event in events {
                    if let RoomEvent::Message(m) = &event.kind {
                        let _ = seen.send(m.seq);
                    }
                }
            },
            |_| {},
        );
        Harness {
            bus,
            delivered,
            delivery,
        }
    }

    impl Harness {
        async fn over_the_bus(&self, messages: &[&StoredMessage]) {
            let events = messages
                .iter()
                .map(|m| RoomEvent::Message((*m).clone()))
                .collect();
            self.bus
                .send(Inbound::Events(events))
                .await
                .expect("task runs");
        }

        /// The next `n` seqs delivered, waiting for each (a bounded while).
        async fn next(&mut self, n: usize) -> Vec<i64> {
            let mut seqs = Vec::new();
            for _ in 0..n {
                let seq = tokio::time::timeout(Duration::from_secs(5), self.delivered.recv())
                    .await
                    .expect("delivered in time")
                    .expect("task runs");
                seqs.push(seq);
            }
            seqs
        }
    }

    #[tokio::test]
    async fn a_gap_the_bus_left_is_filled_from_the_store() {
        let (store, stored, _dir) = store_with(4).await;
        let mut h = harness(store);
        h.over_the_bus(&[&stored[0], &stored[3]]).await;
        assert_eq!(h.next(1).await, [1]);
        // 2 and 3 never come over the bus: after the gap wait they are read.
        assert_eq!(h.next(3).await, [2, 3, 4]);
    }

    #[tokio::test]
    async fn a_seq_that_never_comes_is_skipped() {
        let (store, stored, _dir) = store_with(2).await;
        let mut h = harness(store);
        // Seq 3 was never stored (say its transaction rolled back); 4 was.
        let mut fourth = stored[1].clone();
        (fourth.seq, fourth.id) = (4, fourth.id + 2);
        h.over_the_bus(&[&stored[0], &fourth]).await;
        assert_eq!(h.next(3).await, [1, 2, 4]);
    }

    #[tokio::test]
    async fn after_a_reconnect_everything_missed_is_read() {
        let (store, stored, _dir) = store_with(3).await;
        let mut h = harness(store);
        h.over_the_bus(&[&stored[0]]).await;
        assert_eq!(h.next(1).await, [1]);
        h.bus.send(Inbound::Reconnected).await.expect("task runs");
        assert_eq!(h.next(2).await, [2, 3]);
        // What the bus brings late after that is not delivered twice.
        h.over_the_bus(&[&stored[1], &stored[2]]).await;
        let late = tokio::time::timeout(Duration::from_millis(100), h.delivered.recv()).await;
        assert!(late.is_err(), "nothing more was delivered: {late:?}");
    }

    #[tokio::test]
    async fn own_events_are_acknowledged_only_once_handed_out() {
        let (store, stored, _dir) = store_with(1).await;
        let mut h = harness(store);
        let event = Arc::new(Event::new(RoomEvent::Message(stored[0].clone())));
        h.delivery.deliver(vec![event]).await;
        // The sink ran before `deliver` returned.
        assert_eq!(h.delivered.try_recv().ok(), Some(1));
    }
}
