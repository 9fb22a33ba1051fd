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

pub mod changes;
mod delivery;
pub mod event;
mod hub;
pub mod notice;
pub mod outbox;
mod presence;
pub mod publisher;
pub mod rooms;
mod sequencer;
pub mod sockets;

use crate::bus::{Bus, InboundStream, MembershipChange};
use crate::model::{
    AccessChange, ConnId, MessageText, Removal, Room, RoomEvent, RoomName, StoredMessage,
    Timestamp, User, Username, Visibility,
};
use crate::store::{NewMessage, Page, Store, StoreError};
use delivery::{BusNews, Delivery, Fanout};
use event::Event;
pub use hub::Silenced;
use hub::{Evicted, Hub, Joining, Member};
use outbox::{Outbound, Outbox};
use publisher::{PostError, PostReply, Publisher};
use rooms::{Actor, Policy, RoomError};
use sockets::{LiveSockets, SessionEnd, Watch};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How often this node asks the store whether sessions of its sockets
/// ended without its hearing of it: by an admin command run beside the
/// server, or on another node while the bus was cut off.
const SESSION_SWEEP: Duration = Duration::from_secs(5);

/// How many times a join reads its access again when access changes race
/// with it, before it gives up (the client may subscribe again).
const JOIN_TRIES: usize = 4;

/// Closes this node's connections of sessions that ended while nobody told
/// this node.
async fn sweep_sessions(store: Arc<dyn Store>, live: Arc<LiveSockets>) {
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
                "closed sockets of sessions ended without this node being told"
            );
        }
        Ok(_) => {}
        Err(err) => {
            tracing::warn!(error = %err, "cannot check for ended sessions");
        }
    }
}

/// With a bus that was cut off: removes this node's connections from rooms
/// their users lost access to meanwhile (the changes the bus lost).
async fn sweep_access(store: Arc<dyn Store>, hub: Arc<Hub>, bus: Arc<dyn Bus>) {
    let occupancies = hub.occupancies();
    if occupancies.is_empty() {
        return;
    }
    let pairs: Vec<(i64, i64)> = occupancies.iter().map(|o| (o.room_id, o.user_id)).collect();
    let refused = match store.refused_among(&pairs, Timestamp::now()).await {
        Ok(refused) => refused,
        Err(err) => {
            tracing::warn!(error = %err, "cannot check access missed while the bus was down");
            return;
        }
    };
    let mut removed = Vec::new();
    for o in occupancies
        .iter()
        .filter(|o| refused.contains(&(o.room_id, o.user_id)))
    {
        // The store's answer is about members; an admin reads a private
        // room without being one.
        match admin_in_private_room(store.as_ref(), o).await {
            Ok(true) => {}
            Ok(false) => removed.push(o),
            Err(err) => {
                tracing::warn!(error = %err, "cannot check access missed while the bus was down");
                return;
            }
        }
    }
    let events: Vec<Arc<Event>> = removed
        .into_iter()
        .map(|o| {
            Arc::new(Event::new(RoomEvent::Access {
                room: o.room.clone(),
                change: AccessChange::Removed {
                    user_id: o.user_id,
                    why: Removal::Kicked,
                    reason: None,
                },
            }))
        })
        .collect();
    if !events.is_empty() {
        tracing::info!(
            removed = events.len(),
            "applied access changes the bus lost"
        );
        announce_evicted(&bus, hub.deliver_all(events));
    }
}

/// Whether the user of `o` is a server admin and its room a private one
/// (rare: asked only of refusals after a reconnect).
async fn admin_in_private_room(store: &dyn Store, o: &hub::Occupancy) -> Result<bool, StoreError> {
    let Some(user) = store.user(o.user_id).await? else {
        return Ok(false);
    };
    let (Ok(name), Ok(room)) = (Username::parse(&user.username), RoomName::parse(&o.room)) else {
        return Ok(false);
    };
    let admin = store.account(&name).await?.is_some_and(|a| a.admin);
    let private = store
        .room(&room)
        .await?
        .is_some_and(|r| r.visibility == Visibility::Private);
    Ok(admin && private)
}

/// Tells the other nodes that connections left rooms here (for presence).
fn announce_evicted(bus: &Arc<dyn Bus>, evicted: Vec<Evicted>) {
    if evicted.is_empty() || !bus.is_shared() {
        return;
    }
    let bus = bus.clone();
    tokio::spawn(async move {
        for Evicted {
            room,
            member,
            change,
        } in evicted
        {
            bus.announce(MembershipChange {
                room,
                user: member.username,
                user_id: member.user_id,
                joined: false,
                connections_here: change.connections_here,
            })
            .await;
        }
    });
}

/// How often, with several nodes, who is online elsewhere is read again.
const PRESENCE_POLL: Duration = Duration::from_secs(1);

pub struct Chat {
    hub: Arc<Hub>,
    store: Arc<dyn Store>,
    publisher: Publisher,
    fanout: Fanout,
    sockets: Arc<LiveSockets>,
    policy: Policy,
}

/// The core's tasks that shutdown waits for.
pub struct Tasks {
    /// The message writer: it ends once every `Chat` handle is gone and
    /// what it was given is stored.
    pub writer: JoinHandle<()>,
}

impl Chat {
    /// Starts the core: the message writer, the delivery task reading
    /// `inbound` (what other nodes publish), the session sweep, and with a
    /// shared bus the presence poll; those stop when `shutdown` is cancelled.
    pub fn start(
        store: Arc<dyn Store>,
        bus: Arc<dyn Bus>,
        inbound: InboundStream,
        presence_tick: Duration,
        policy: Policy,
        shutdown: CancellationToken,
    ) -> (Self, Tasks) {
        let hub = Arc::new(Hub::new(presence_tick));
        let (to_hub, evictions) = (hub.clone(), bus.clone());
        let sockets = Arc::new(LiveSockets::default());
        let (live, sweep_store, sweep_hub, sweep_bus) =
            (sockets.clone(), store.clone(), hub.clone(), bus.clone());
        let (delivery, _) = Delivery::start(
            store.clone(),
            inbound,
            move |events| announce_evicted(&evictions, to_hub.deliver_all(events)),
            move |news| match news {
                BusNews::SessionsEnded(ended) => {
                    live.end(&ended);
                }
                BusNews::Told { users, notice } => {
                    live.tell(&users, &Arc::new(notice));
                }
                // What was ended or changed elsewhere meanwhile was told to
                // nobody here: the store knows.
                BusNews::Reconnected => {
                    tokio::spawn(sweep_sessions(sweep_store.clone(), live.clone()));
                    tokio::spawn(sweep_access(
                        sweep_store.clone(),
                        sweep_hub.clone(),
                        sweep_bus.clone(),
                    ));
                }
            },
        );
        let fanout = Fanout { delivery, bus };
        if fanout.bus.is_shared() {
            tokio::spawn(poll_presence(
                hub.clone(),
                fanout.bus.clone(),
                shutdown.clone(),
            ));
        }
        tokio::spawn(sweep_sessions_every(
            SESSION_SWEEP,
            store.clone(),
            sockets.clone(),
            shutdown,
        ));
        let (publisher, writer) = Publisher::start(store.clone(), fanout.clone());
        let chat = Self {
            hub,
            store,
            publisher,
            fanout,
            sockets,
            policy,
        };
        (chat, Tasks { writer })
    }

    /// Registers a connection: when its session ends, here or on another
    /// node, its `end` is told; its user's notices go to its `notices`.
    pub fn watch_socket(&self, watch: Watch) {
        self.sockets.watch(watch);
    }

    /// Forgets the connection of `user` that registered `end`: it closed.
    pub fn unwatch_socket(&self, user: i64, end: &std::sync::Weak<dyn SessionEnd>) {
        self.sockets.unwatch(user, end);
    }

    /// Closes the connections of `sessions` (already ended in the store) on
    /// every node.
    pub async fn end_sessions(&self, sessions: &[i64]) {
        if sessions.is_empty() {
            return;
        }
        let here = self.sockets.end(sessions);
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

    /// Adds connection `conn` of `actor` to room `name`, if they may read
    /// it: from now on the room's events reach `outbox`. `greeting`, given
    /// the room and who is online (the joiner included), is queued to the
    /// joiner before any event of the room. Joining a public room makes
    /// them a member.
    pub async fn enter<G>(
        &self,
        actor: Actor<'_>,
        name: &str,
        conn: ConnId,
        outbox: &Outbox,
        greeting: G,
    ) -> Result<Room, RoomError>
    where
        G: Fn(&Room, Vec<String>) -> Vec<Outbound>,
    {
        for _ in 0..JOIN_TRIES {
            let checked = self.hub.access_epoch();
            let standing = self.readable(actor, name).await?;
            self.record_member(actor, &standing).await?;
            let room = standing.access.room;
            let joining = Joining {
                id: room.id,
                name: room.name.clone(),
                checked,
                muted: standing.access.muted,
            };
            let greet = |presence| greeting(&room, presence);
            if self.join(&joining, conn, actor.user, outbox, greet).await {
                return Ok(room);
            }
        }
        Err(RoomError::Conflict(
            "the room's members are changing; subscribe again",
        ))
    }

    /// False if the room's access changed since the joiner's was read.
    async fn join<G>(
        &self,
        room: &Joining,
        conn: ConnId,
        user: &User,
        outbox: &Outbox,
        greeting: G,
    ) -> bool
    where
        G: FnOnce(Vec<String>) -> Vec<Outbound>,
    {
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
        let Ok(joined) = self.hub.join(room, conn, member, greeting) else {
            return false;
        };
        if let Some(change) = joined {
            bus.announce(MembershipChange {
                room: room.name.clone(),
                user: user.username.clone(),
                user_id: user.id,
                joined: true,
                connections_here: change.connections_here,
            })
            .await;
        }
        true
    }

    /// Whether connection `conn` is (still) in `room`: a moderator may have
    /// removed it.
    pub fn holds(&self, room: &str, conn: ConnId) -> bool {
        self.hub.holds(room, conn)
    }

    /// Whether connection `conn` of `user` may send or type in `room` now.
    pub fn may_speak(&self, room: &str, conn: ConnId, user: &User) -> Result<(), Silenced> {
        self.hub.may_speak(room, conn, user.id, Timestamp::now())
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

    /// Queues `text` from `author` for the room (its id and name), as a
    /// reply to message `reply_to` if given; the reply resolves once the
    /// message is stored and delivered to this node's members (or refused:
    /// `reply_to` is not a message of this room).
    pub async fn post(
        &self,
        (room_id, room): (i64, &str),
        author: &User,
        text: MessageText,
        client_id: Option<String>,
        reply_to: Option<i64>,
    ) -> Result<PostReply, PostError> {
        self.publisher
            .submit(NewMessage {
                room_id,
                room: room.to_owned(),
                author: author.clone(),
                content: text.into_string(),
                created_at: Timestamp::now(),
                client_id,
                reply_to,
                change: None,
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
/// Every `period`: closes the sockets of sessions that ended unannounced.
async fn sweep_sessions_every(
    period: Duration,
    store: Arc<dyn Store>,
    live: Arc<LiveSockets>,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => sweep_sessions(store.clone(), live.clone()).await,
        }
    }
}

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
