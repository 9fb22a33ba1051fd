//! Delivery in room order when messages arrive from a bus shared by several
//! nodes: two nodes commit to the same room one after the other, but their
//! publishes may cross on the way. Every stored message carries its room's
//! gap-free `seq`; this task hands a room's messages to the hub strictly in
//! `seq` order, holds back what arrives early, and fetches from the store
//! what the bus lost (a dropped connection, a restarted Redis).

use super::event::{Event, EventKind};
use super::hub::Hub;
use crate::store::{Page, Store};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How long an early message waits for the ones before it to arrive over
/// the bus before they are fetched from the store.
const GAP_WAIT: Duration = Duration::from_millis(250);

pub enum Input {
    /// Events as published (local) or received (remote), in arrival order.
    Events(Vec<Arc<Event>>),
    /// The bus connection was re-established: anything may have been missed.
    Resync,
}

#[derive(Default)]
struct RoomOrder {
    room_id: Option<i64>,
    /// The next seq to deliver; None until the first message of the room is seen.
    next: Option<i64>,
    early: BTreeMap<i64, Arc<Event>>,
    waiting_since: Option<Instant>,
}

pub struct Sequencer {
    hub: Arc<Hub>,
    store: Arc<dyn Store>,
    rooms: HashMap<String, RoomOrder>,
}

impl Sequencer {
    pub fn start(hub: Arc<Hub>, store: Arc<dyn Store>) -> mpsc::UnboundedSender<Input> {
        let (tx, rx) = mpsc::unbounded_channel();
        let sequencer = Self {
            hub,
            store,
            rooms: HashMap::new(),
        };
        tokio::spawn(sequencer.run(rx));
        tx
    }

    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Input>) {
        let mut tick = tokio::time::interval(GAP_WAIT / 2);
        loop {
            tokio::select! {
                input = rx.recv() => match input {
                    Some(Input::Events(events)) => {
                        for event in events {
                            self.accept(event);
                        }
                    }
                    Some(Input::Resync) => self.resync().await,
                    None => return,
                },
                _ = tick.tick() => self.fill_overdue_gaps().await,
            }
        }
    }

    fn accept(&mut self, event: Arc<Event>) {
        let EventKind::Message(message) = &event.kind else {
            self.hub.deliver(event);
            return;
        };
        let order = self.rooms.entry(message.room.clone()).or_default();
        order.room_id.get_or_insert(message.room_id);
        let next = *order.next.get_or_insert(message.seq);
        if message.seq < next {
            return; // seen already (our own echo, or filled from the store)
        }
        if message.seq > next {
            order.early.insert(message.seq, event);
            order.waiting_since.get_or_insert_with(Instant::now);
            return;
        }
        self.hub.deliver(event);
        order.next = Some(next + 1);
        Self::release(&self.hub, order);
    }

    /// Delivers held-back messages that are now next in line.
    fn release(hub: &Hub, order: &mut RoomOrder) {
        while let Some(next) = order.next {
            let Some(event) = order.early.remove(&next) else {
                break;
            };
            hub.deliver(event);
            order.next = Some(next + 1);
        }
        if order.early.is_empty() {
            order.waiting_since = None;
        }
    }

    async fn fill_overdue_gaps(&mut self) {
        let overdue: Vec<String> = self
            .rooms
            .iter()
            .filter(|(_, o)| o.waiting_since.is_some_and(|t| t.elapsed() >= GAP_WAIT))
            .map(|(room, _)| room.clone())
            .collect();
        for room in overdue {
            let upto = self
                .rooms
                .get(&room)
                .and_then(|o| o.early.keys().next().copied());
            if let Some(upto) = upto {
                self.fill(&room, upto - 1).await;
            }
        }
    }

    /// After a reconnect: fetch everything after what each room last delivered.
    async fn resync(&mut self) {
        let rooms: Vec<String> = self.rooms.keys().cloned().collect();
        for room in rooms {
            self.fill(&room, i64::MAX).await;
        }
    }

    /// Delivers `next..=upto` of `room` from the store, then what was held back.
    async fn fill(&mut self, room: &str, upto: i64) {
        let Some(order) = self.rooms.get_mut(room) else {
            return;
        };
        let (Some(room_id), Some(from)) = (order.room_id, order.next) else {
            return;
        };
        if upto < from {
            return;
        }
        match self
            .store
            .messages(room_id, Page::Seqs { from, to: upto })
            .await
        {
            Ok(found) => {
                for message in found {
                    if order.next.is_some_and(|n| message.seq >= n) {
                        order.next = Some(message.seq + 1);
                        self.hub
                            .deliver(Arc::new(Event::new(EventKind::Message(message))));
                    }
                }
                // A seq the store does not have is not coming: skip past it.
                if order
                    .early
                    .keys()
                    .next()
                    .is_some_and(|&first| order.next.is_some_and(|n| n < first))
                    && upto != i64::MAX
                {
                    order.next = order.early.keys().next().copied();
                }
                Self::release(&self.hub, order);
                tracing::info!(room, from, upto, "filled a gap in the bus from the store");
            }
            Err(err) => {
                tracing::warn!(room, error = %err, "could not fill a gap from the store; will retry")
            }
        }
    }
}
