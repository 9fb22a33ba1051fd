//! Several nodes as one chat, through Redis.
//!
//! - Fan-out: a node PUBLISHes what it stored (and typing, joins, leaves)
//!   on one channel; every other node's subscriber puts what arrives on its
//!   inbound stream. Ordering and gap filling are the chat core's job
//!   (`chat::sequencer`); after the subscription was lost and is back, the
//!   stream says `Reconnected` so that the core reads what it missed.
//! - Presence: each node keeps, per room, a hash field `<node>|<user>` with
//!   its connection count, and a heartbeat key that expires after
//!   `node_ttl`. A node counts a user online elsewhere only while that
//!   node's heartbeat lives, so a killed node's users drop out within
//!   `node_ttl` plus one poll.

mod wire;

use super::{Bus, BusError, INBOUND_QUEUE, Inbound, InboundStream, MembershipChange};
use crate::model::{RoomEntry, RoomEvent};
use async_trait::async_trait;
use futures_util::StreamExt;
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use wire::{Envelope, WireAccess, WireAdded, WireEvent};

#[derive(Debug, Clone)]
pub struct RedisSettings {
    pub url: String,
    /// Prefix of every key and channel: nodes with the same one are one chat.
    pub cluster: String,
    /// A node whose heartbeat is older than this counts as gone.
    pub node_ttl: Duration,
}

pub struct RedisBus {
    node: String,
    settings: RedisSettings,
    conn: MultiplexedConnection,
    /// This node's connections per (room, user), as announced: the
    /// heartbeat writes them again in case Redis restarted and lost them.
    here: Mutex<HashMap<(String, String), usize>>,
}

fn unavailable(err: redis::RedisError) -> BusError {
    BusError::Unavailable(err.to_string())
}

impl RedisBus {
    /// Connects, and starts the subscriber and heartbeat tasks; they stop
    /// when `shutdown` is cancelled.
    pub async fn start(
        settings: RedisSettings,
        shutdown: CancellationToken,
    ) -> Result<(Arc<Self>, InboundStream), BusError> {
        let client = redis::Client::open(settings.url.as_str()).map_err(unavailable)?;
        let conn = client
            .get_multiplexed_async_connection()
            .await
            .map_err(unavailable)?;
        let node = format!("{:016x}", rand::random::<u64>());
        let bus = Arc::new(Self {
            node,
            settings,
            conn,
            here: Mutex::default(),
        });
        bus.heartbeat().await.map_err(unavailable)?;
        let (inbound, stream) = mpsc::channel(INBOUND_QUEUE);
        tokio::spawn(
            bus.clone()
                .subscribe_loop(client, inbound, shutdown.clone()),
        );
        tokio::spawn(bus.clone().heartbeat_loop(shutdown));
        tracing::info!(node = %bus.node, cluster = %bus.settings.cluster, "joined the cluster through Redis");
        Ok((bus, stream))
    }

    fn channel(&self) -> String {
        format!("{}:events", self.settings.cluster)
    }

    fn node_key(&self, node: &str) -> String {
        format!("{}:node:{node}", self.settings.cluster)
    }

    fn presence_key(&self, room: &str) -> String {
        format!("{}:presence:{room}", self.settings.cluster)
    }

    async fn heartbeat(&self) -> redis::RedisResult<()> {
        let mut conn = self.conn.clone();
        conn.set_ex::<_, _, ()>(
            self.node_key(&self.node),
            1,
            self.settings.node_ttl.as_secs().max(1),
        )
        .await
    }

    /// Receives the other nodes' events. After any interruption it tells the
    /// core, which reads what it missed from the store.
    async fn subscribe_loop(
        self: Arc<Self>,
        client: redis::Client,
        inbound: mpsc::Sender<Inbound>,
        shutdown: CancellationToken,
    ) {
        let mut backoff = Duration::from_millis(100);
        let mut first = true;
        loop {
            let pubsub = async {
                let mut pubsub = client.get_async_pubsub().await?;
                pubsub.subscribe(self.channel()).await?;
                redis::RedisResult::Ok(pubsub)
            };
            let pubsub = tokio::select! {
                _ = shutdown.cancelled() => return,
                p = pubsub => p,
            };
            match pubsub {
                Ok(mut pubsub) => {
                    backoff = Duration::from_millis(100);
                    if !first {
                        tracing::warn!(
                            "bus reconnected; the core fills what was missed from the store"
                        );
                        if inbound.send(Inbound::Reconnected).await.is_err() {
                            return;
                        }
                    }
                    first = false;
                    let mut messages = pubsub.on_message();
                    loop {
                        let msg = tokio::select! {
                            _ = shutdown.cancelled() => return,
                            msg = messages.next() => msg,
                        };
                        let Some(msg) = msg else { break };
                        for item in self.decode(msg.get_payload_bytes()) {
                            if inbound.send(item).await.is_err() {
                                return;
                            }
                        }
                    }
                    tracing::warn!("bus subscription lost; reconnecting");
                }
                Err(err) => tracing::warn!(error = %err, "cannot subscribe to the bus; retrying"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(Duration::from_secs(5));
        }
    }

    /// What another node published; nothing for this node's own envelopes
    /// and for garbage.
    fn decode(&self, payload: &[u8]) -> Vec<Inbound> {
        let envelope: Envelope = match serde_json::from_slice(payload) {
            Ok(e) => e,
            Err(err) => {
                tracing::warn!(error = %err, "unreadable bus message ignored");
                return Vec::new();
            }
        };
        if envelope.origin == self.node {
            return Vec::new();
        }
        let mut inbound = Vec::new();
        if !envelope.events.is_empty() {
            inbound.push(Inbound::Events(
                envelope
                    .events
                    .into_iter()
                    .map(WireEvent::into_event)
                    .collect(),
            ));
        }
        let access: Vec<RoomEvent> = envelope
            .access
            .into_iter()
            .filter_map(WireAccess::into_event)
            .collect();
        if !access.is_empty() {
            inbound.push(Inbound::Events(access));
        }
        if !envelope.ended_sessions.is_empty() {
            inbound.push(Inbound::SessionsEnded(envelope.ended_sessions));
        }
        for added in envelope.added {
            let (users, entry) = added.into_entry();
            inbound.push(Inbound::Added { users, entry });
        }
        inbound
    }

    /// Keeps this node's heartbeat alive and rewrites its presence entries
    /// (Redis may have restarted and lost them).
    async fn heartbeat_loop(self: Arc<Self>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(self.settings.node_ttl / 3);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            if let Err(err) = self.heartbeat().await {
                tracing::warn!(error = %err, "heartbeat failed");
                continue;
            }
            let here: Vec<((String, String), usize)> = self
                .here
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect();
            let mut conn = self.conn.clone();
            for ((room, user), count) in here {
                let field = format!("{}|{user}", self.node);
                let _: redis::RedisResult<()> =
                    conn.hset(self.presence_key(&room), field, count).await;
            }
        }
        // Leaving politely: the others see this node's users go at once.
        let mut conn = self.conn.clone();
        let _: redis::RedisResult<()> = conn.del(self.node_key(&self.node)).await;
    }

    async fn send(&self, events: Vec<WireEvent>) -> Result<(), BusError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut envelope = Envelope::new(&self.node);
        envelope.events = events;
        self.send_envelope(&envelope).await
    }

    async fn send_envelope(&self, envelope: &Envelope) -> Result<(), BusError> {
        let payload =
            serde_json::to_vec(envelope).map_err(|e| BusError::Unavailable(e.to_string()))?;
        let mut conn = self.conn.clone();
        conn.publish::<_, _, ()>(self.channel(), payload)
            .await
            .map_err(unavailable)
    }

    /// Users with a connection in `room` on another node whose heartbeat lives.
    async fn live_elsewhere(&self, room: &str) -> redis::RedisResult<HashSet<String>> {
        let mut conn = self.conn.clone();
        let entries: HashMap<String, i64> = conn.hgetall(self.presence_key(room)).await?;
        let mut by_node: HashMap<&str, Vec<&str>> = HashMap::new();
        for (field, count) in &entries {
            if let Some((node, user)) = field.split_once('|')
                && *count > 0
                && node != self.node
            {
                by_node.entry(node).or_default().push(user);
            }
        }
        if by_node.is_empty() {
            return Ok(HashSet::new());
        }
        let nodes: Vec<&str> = by_node.keys().copied().collect();
        let keys: Vec<String> = nodes.iter().map(|n| self.node_key(n)).collect();
        let alive: Vec<Option<i64>> = redis::cmd("MGET").arg(&keys).query_async(&mut conn).await?;
        Ok(nodes
            .iter()
            .zip(alive)
            .filter(|(_, a)| a.is_some())
            .flat_map(|(n, _)| by_node[n].iter().map(|u| (*u).to_owned()))
            .collect())
    }
}

#[async_trait]
impl Bus for RedisBus {
    async fn publish(&self, events: &[&RoomEvent]) -> Result<(), BusError> {
        // Access changes go in their own envelopes, so that they keep their
        // place among the events around them.
        for run in events.chunk_by(|a, b| is_access(a) == is_access(b)) {
            match run.first() {
                Some(first) if is_access(first) => {
                    let mut envelope = Envelope::new(&self.node);
                    envelope.access = run
                        .iter()
                        .filter_map(|e| match e {
                            RoomEvent::Access { room, change } => {
                                Some(WireAccess::new(room, change))
                            }
                            _ => None,
                        })
                        .collect();
                    self.send_envelope(&envelope).await?;
                }
                _ => {
                    self.send(
                        run.iter()
                            .filter_map(|e| WireEvent::from_event(e))
                            .collect(),
                    )
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn end_sessions(&self, sessions: &[i64]) -> Result<(), BusError> {
        let mut envelope = Envelope::new(&self.node);
        envelope.ended_sessions = sessions.to_vec();
        self.send_envelope(&envelope).await
    }

    async fn tell_added(&self, users: &[i64], entry: &RoomEntry) -> Result<(), BusError> {
        let mut envelope = Envelope::new(&self.node);
        envelope.added = vec![WireAdded::new(users, entry)];
        self.send_envelope(&envelope).await
    }

    async fn announce(&self, change: MembershipChange) {
        let MembershipChange {
            room,
            user,
            user_id,
            joined,
            connections_here,
        } = change;
        {
            let mut here = self.here.lock().unwrap_or_else(PoisonError::into_inner);
            let key = (room.clone(), user.clone());
            if connections_here > 0 {
                here.insert(key, connections_here);
            } else {
                here.remove(&key);
            }
        }
        let mut conn = self.conn.clone();
        let field = format!("{}|{user}", self.node);
        let key = self.presence_key(&room);
        let written: redis::RedisResult<()> = if connections_here > 0 {
            conn.hset(key, field, connections_here).await
        } else {
            conn.hdel(key, field).await
        };
        if let Err(err) = written {
            tracing::warn!(error = %err, "presence update failed; the heartbeat will repair it");
        }
        let event = if joined {
            WireEvent::Joined {
                room,
                user,
                user_id,
            }
        } else {
            WireEvent::Left {
                room,
                user,
                user_id,
            }
        };
        if let Err(err) = self.send(vec![event]).await {
            tracing::debug!(error = %err, "membership change not told to the other nodes");
        }
    }

    fn is_shared(&self) -> bool {
        true
    }

    async fn others_online(&self, room: &str) -> Result<Vec<String>, BusError> {
        let mut users: Vec<String> = self
            .live_elsewhere(room)
            .await
            .map_err(unavailable)?
            .into_iter()
            .collect();
        users.sort_unstable();
        Ok(users)
    }
}

fn is_access(event: &&RoomEvent) -> bool {
    matches!(event, RoomEvent::Access { .. })
}
