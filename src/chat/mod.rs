//! The core: what happens to a message, and who is in which room. Gateways
//! and HTTP handlers call `Chat` and nothing below it; the core calls the
//! store and the bus, and knows nothing of wire formats: it hands gateways
//! `Event`s through each connection's `Outbox` and lets them pick the bytes.
//!
//! The way of an event: `post` → `publisher` (store, group commit) →
//! `delivery::Fanout` (the bus for other nodes; the delivery task here) →
//! `sequencer` (room order, gaps filled from the store) → `hub` → outboxes.
//! Events from other nodes enter at the delivery task, from the bus's
//! inbound stream, and take the same path from there.

mod delivery;
pub mod event;
mod hub;
pub mod outbox;
mod presence;
pub mod publisher;
mod sequencer;
pub mod sessions;

use crate::bus::{Bus, InboundStream, MembershipChange};
use crate::model::{
    ConnId, MessageText, Room, RoomEvent, RoomName, StoredMessage, Timestamp, User, Visibility,
};
use crate::store::{NewMessage, NewRoom, Page, Store, StoreError};
use delivery::{BusNews, Delivery, Fanout};
use event::Event;
use hub::{Hub, Member};
use outbox::{Outbound, Outbox};
use publisher::{PostError, PostReply, Publisher};
use sessions::{LiveSessions, SessionEnd};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Closes this node's connections of sessions that ended while the bus was
/// cut off.
async fn sweep_sessions(store: Arc<dyn Store>, live: Arc<LiveSessions>) {
    let watched = live.watched();
    if watched.is_empty() {
        return;
    }
    match store.ended_among(&watched).await {
        Ok(ended) if !ended.is_empty() => {
            let closed = live.end(&ended);
            tracing::info!(
                sessions = ended.len(),
                connections = closed,
                "closed sockets of sessions ended while the bus was down"
            );
        }
        Ok(_) => {}
        Err(err) => {
            tracing::warn!(error = %err, "cannot check for sessions ended while the bus was down");
        }
    }
}

/// How often, with several nodes, who is online elsewhere is read again.
const PRESENCE_POLL: Duration = Duration::from_secs(1);

pub struct Chat {
    hub: Arc<Hub>,
    store: Arc<dyn Store>,
    publisher: Publisher,
    fanout: Fanout,
    sessions: Arc<LiveSessions>,
}

/// The core's tasks that shutdown waits for.
pub struct Tasks {
    /// The message writer: it ends once every `Chat` handle is gone and
    /// what it was given is stored.
    pub writer: JoinHandle<()>,
}

impl Chat {
    /// Starts the core: the message writer, the delivery task reading
    /// `inbound` (what other nodes publish), and with a shared bus the
    /// presence poll, which stops when `shutdown` is cancelled.
    pub fn start(
        store: Arc<dyn Store>,
        bus: Arc<dyn Bus>,
        inbound: InboundStream,
        presence_tick: Duration,
        shutdown: CancellationToken,
    ) -> (Self, Tasks) {
        let hub = Arc::new(Hub::new(presence_tick));
        let to_hub = hub.clone();
        let sessions = Arc::new(LiveSessions::default());
        let (live, sweep_store) = (sessions.clone(), store.clone());
        let (delivery, _) = Delivery::start(
            store.clone(),
            inbound,
            move |events| to_hub.deliver_all(events),
            move |news| match news {
                BusNews::SessionsEnded(ended) => {
                    live.end(&ended);
                }
                // Sessions ended elsewhere meanwhile were told to nobody
                // here: the store knows.
                BusNews::Reconnected => {
                    tokio::spawn(sweep_sessions(sweep_store.clone(), live.clone()));
                }
            },
        );
        let fanout = Fanout { delivery, bus };
        if fanout.bus.is_shared() {
            tokio::spawn(poll_presence(hub.clone(), fanout.bus.clone(), shutdown));
        }
        let (publisher, writer) = Publisher::start(store.clone(), fanout.clone());
        let chat = Self {
            hub,
            store,
            publisher,
            fanout,
            sessions,
        };
        (chat, Tasks { writer })
    }

    /// Registers connection `conn` of login `session`: when the session
    /// ends, here or on another node, `end` is told.
    pub fn watch_session(&self, session: i64, conn: ConnId, end: Weak<dyn SessionEnd>) {
        self.sessions.watch(session, conn, end);
    }

    /// Forgets connection `conn` of `session`, which closed.
    pub fn unwatch_session(&self, session: i64, conn: ConnId) {
        self.sessions.unwatch(session, conn);
    }

    /// Closes the connections of `sessions` (already ended in the store) on
    /// every node.
    pub async fn end_sessions(&self, sessions: &[i64]) {
        if sessions.is_empty() {
            return;
        }
        let here = self.sessions.end(sessions);
        tracing::debug!(?sessions, connections = here, "sessions ended");
        if let Err(err) = self.fanout.bus.end_sessions(sessions).await {
            // Their tokens are refused everywhere already; only the other
            // nodes' open sockets are left, until their tokens expire.
            tracing::error!(error = %err, "ended sessions not told to the other nodes");
        }
    }

    pub async fn rooms(&self) -> Result<Vec<Room>, StoreError> {
        self.store.rooms().await
    }

    /// The room called `name`, if it exists (an invalid name never does).
    pub async fn room(&self, name: &str) -> Result<Option<Room>, StoreError> {
        match RoomName::parse(name) {
            Ok(name) => self.store.room(&name).await,
            Err(_) => Ok(None),
        }
    }

    pub async fn create_room(&self, name: &RoomName, topic: &str) -> Result<Room, StoreError> {
        self.store
            .create_room(&NewRoom {
                name,
                topic,
                visibility: Visibility::Public,
                owner: None,
            })
            .await
    }

    /// A page of `room`'s stored messages.
    pub async fn history(
        &self,
        room_id: i64,
        page: Page,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        self.store.messages(room_id, page).await
    }

    /// How many are online in `room` as this node knows it now (cheap: no
    /// round trip to the other nodes).
    pub fn online_count(&self, room: &str) -> usize {
        self.hub.online_count(room)
    }

    /// Who is online in `room`, here and on the other nodes, sorted.
    pub async fn online(&self, room: &str) -> Vec<String> {
        let mut online = self.hub.presence(room);
        match self.fanout.bus.others_online(room).await {
            Ok(elsewhere) => online.extend(elsewhere),
            Err(err) => tracing::warn!(error = %err, "who is online elsewhere is unknown"),
        }
        online.sort_unstable();
        online.dedup();
        online
    }

    /// Adds connection `conn` of `user` to `room`: from now on the room's
    /// events reach `outbox`. `greeting`, given who is online (the joiner
    /// included), is queued to the joiner before any event of the room.
    pub async fn join(
        &self,
        room: &Room,
        conn: ConnId,
        user: &User,
        outbox: &Outbox,
        greeting: impl FnOnce(Vec<String>) -> Vec<Outbound>,
    ) {
        let bus = &self.fanout.bus;
        if bus.is_shared() {
            // The greeting's snapshot must include who is on the other nodes.
            match bus.others_online(&room.name).await {
                Ok(remote) => self
                    .hub
                    .set_remote_presence(&room.name, remote.into_iter().collect()),
                Err(err) => tracing::warn!(error = %err, "who is online elsewhere is unknown"),
            }
        }
        let member = Member {
            user_id: user.id,
            username: user.username.clone(),
            outbox: outbox.clone(),
        };
        if let Some(change) = self.hub.join(&room.name, conn, member, greeting) {
            bus.announce(MembershipChange {
                room: room.name.clone(),
                user: user.username.clone(),
                user_id: user.id,
                joined: true,
                connections_here: change.connections_here,
            })
            .await;
        }
    }

    /// Takes connection `conn` out of `room`.
    pub async fn leave(&self, room: &str, conn: ConnId) {
        if let Some((change, member)) = self.hub.leave(room, conn) {
            self.fanout
                .bus
                .announce(MembershipChange {
                    room: room.to_owned(),
                    user: member.username,
                    user_id: member.user_id,
                    joined: false,
                    connections_here: change.connections_here,
                })
                .await;
        }
    }

    /// Queues `text` from `author` for `room`; the reply resolves once the
    /// message is stored and delivered to this node's members.
    pub async fn post(
        &self,
        room: &Room,
        author: &User,
        text: MessageText,
        client_id: Option<String>,
    ) -> Result<PostReply, PostError> {
        self.publisher
            .submit(NewMessage {
                room_id: room.id,
                room: room.name.clone(),
                author: author.clone(),
                content: text.into_string(),
                created_at: Timestamp::now(),
                client_id,
            })
            .await
    }

    /// False while messages cannot be stored (a full disk, a lost database):
    /// the writer's last message was refused. Turns true again with the
    /// first message stored.
    pub fn store_ready(&self) -> bool {
        !self.publisher.store_failing()
    }

    /// Tells the room that `user` is typing; never stored.
    pub async fn typing(&self, room: &str, user: &User) {
        let event = Arc::new(Event::new(RoomEvent::Typing {
            room: room.to_owned(),
            user: user.username.clone(),
            user_id: user.id,
        }));
        self.fanout.notify(vec![event]).await;
    }
}

/// With several nodes: reads who is online elsewhere in the rooms this node
/// has members in, and lets the hub tell its members who came and went.
async fn poll_presence(hub: Arc<Hub>, bus: Arc<dyn Bus>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(PRESENCE_POLL);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        for room in hub.occupied_rooms() {
            match bus.others_online(&room).await {
                Ok(online) => hub.set_remote_presence(&room, online.into_iter().collect()),
                Err(err) => tracing::debug!(error = %err, "presence poll failed"),
            }
        }
    }
}
