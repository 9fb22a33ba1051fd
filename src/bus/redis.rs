//! Several nodes as one chat, through Redis.
//!
//! - Fan-out: a node that stored a batch delivers it to its own members at
//!   once (through the sequencer) and PUBLISHes it on one channel; every
//!   other node receives it and hands it to its sequencer, which delivers
//!   each room's messages in `seq` order and fetches from the store whatever
//!   the bus lost.
//! - Presence: each node keeps, per room, a hash field `<node>|<user>` with
//!   its connection count, and a heartbeat key that expires after
//!   `node_ttl`. A node counts a user online elsewhere only while that
//!   node's heartbeat lives, so a killed node's users drop out within
//!   `node_ttl` plus one poll.

use super::{Bus, BusError};
use crate::chat::event::{Event, EventKind};
use crate::chat::hub::Hub;
use crate::chat::model::{StoredMessage, Timestamp, User};
use crate::chat::order::{Input, Sequencer};
use crate::store::Store;
use async_trait::async_trait;
use futures_util::StreamExt;
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// How often a node reads the presence of the rooms its members are in.
const PRESENCE_POLL: Duration = Duration::from_secs(1);

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
    sequencer: mpsc::UnboundedSender<Input>,
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    origin: String,
    events: Vec<WireEvent>,
}

/// Events as they cross between nodes.
#[derive(Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
enum WireEvent {
    Message {
        id: i64,
        seq: i64,
        room_id: i64,
        room: String,
        author_id: i64,
        author: String,
        content: String,
        ts: i64,
        client_id: Option<String>,
    },
    Joined {
        room: String,
        user: String,
        user_id: i64,
    },
    Left {
        room: String,
        user: String,
        user_id: i64,
    },
    Typing {
        room: String,
        user: String,
        user_id: i64,
    },
}

impl WireEvent {
    fn from_event(event: &Event) -> Option<Self> {
        Some(match &event.kind {
            EventKind::Message(m) => Self::Message {
                id: m.id,
                seq: m.seq,
                room_id: m.room_id,
                room: m.room.clone(),
                author_id: m.author.id,
                author: m.author.username.clone(),
                content: m.content.clone(),
                ts: m.created_at.0,
                client_id: m.client_id.clone(),
            },
            EventKind::Joined {
                room,
                user,
                user_id,
                ..
            } => Self::Joined {
                room: room.clone(),
                user: user.clone(),
                user_id: *user_id,
            },
            EventKind::Left {
                room,
                user,
                user_id,
                ..
            } => Self::Left {
                room: room.clone(),
                user: user.clone(),
                user_id: *user_id,
            },
            EventKind::Typing {
                room,
                user,
                user_id,
            } => Self::Typing {
                room: room.clone(),
                user: user.clone(),
                user_id: *user_id,
            },
            EventKind::Presence { .. } | EventKind::Roster { .. } => return None,
        })
    }

    /// Remote joins and leaves are per connection (the chapter's lines);
    /// per-user presence comes from the presence poll, so `first`/`last`
    /// stay false here.
    fn into_event(self) -> Event {
        Event::new(match self {
            Self::Message {
                id,
                seq,
                room_id,
                room,
                author_id,
                author,
                content,
                ts,
                client_id,
            } => EventKind::Message(StoredMessage {
                id,
                seq,
                room_id,
                room,
                author: User {
                    id: author_id,
                    username: author,
                },
                content,
                created_at: Timestamp(ts),
                client_id,
            }),
            Self::Joined {
                room,
                user,
                user_id,
            } => EventKind::Joined {
                room,
                user,
                user_id,
                conn: 0,
                first: false,
            },
            Self::Left {
                room,
                user,
                user_id,
            } => EventKind::Left {
                room,
                user,
                user_id,
                conn: 0,
                last: false,
            },
            Self::Typing {
                room,
                user,
                user_id,
            } => EventKind::Typing {
                room,
                user,
                user_id,
            },
        })
    }
}

fn unavailable(err: redis::RedisError) -> BusError {
    BusError::Unavailable(err.to_string())
}

impl RedisBus {
    /// Connects, and starts the subscriber, heartbeat and presence tasks;
    /// they stop when `shutdown` is cancelled.
    pub async fn start(
        settings: RedisSettings,
        hub: Arc<Hub>,
        store: Arc<dyn Store>,
        shutdown: CancellationToken,
    ) -> Result<Arc<Self>, BusError> {
        let client = redis::Client::open(settings.url.as_str()).map_err(unavailable)?;
        let conn = client
            .get_multiplexed_async_connection()
            .await
            .map_err(unavailable)?;
        let node = format!("{:016x}", rand::random::<u64>());
        let sequencer = Sequencer::start(hub.clone(), store);
        let bus = Arc::new(Self {
            node,
            settings,
            conn,
            sequencer,
        });
        bus.heartbeat().await.map_err(unavailable)?;
        tokio::spawn(bus.clone().subscribe_loop(client, shutdown.clone()));
        tokio::spawn(bus.clone().heartbeat_loop(hub.clone(), shutdown.clone()));
        tokio::spawn(bus.clone().presence_loop(hub, shutdown));
        tracing::info!(node = %bus.node, cluster = %bus.settings.cluster, "joined the cluster through Redis");
        Ok(bus)
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

    /// Receives the other nodes' events. After any interruption it asks the
    /// sequencer to fetch what it missed from the store.
    async fn subscribe_loop(self: Arc<Self>, client: redis::Client, shutdown: CancellationToken) {
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
                        tracing::warn!("bus reconnected; filling what was missed from the store");
                        let _ = self.sequencer.send(Input::Resync);
                    }
                    first = false;
                    let mut messages = pubsub.on_message();
                    loop {
                        let msg = tokio::select! {
                            _ = shutdown.cancelled() => return,
                            msg = messages.next() => msg,
                        };
                        let Some(msg) = msg else { break };
                        self.receive(msg.get_payload_bytes());
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

    fn receive(&self, payload: &[u8]) {
        let envelope: Envelope = match serde_json::from_slice(payload) {
            Ok(e) => e,
            Err(err) => {
                tracing::warn!(error = %err, "unreadable bus message ignored");
                return;
            }
        };
        if envelope.origin == self.node {
            return;
        }
        let events = envelope
            .events
            .into_iter()
            .map(|e| Arc::new(e.into_event()))
            .collect();
        let _ = self.sequencer.send(Input::Events(events));
    }

    /// Keeps this node's heartbeat alive and rewrites its presence entries
    /// (Redis may have restarted and lost them).
    async fn heartbeat_loop(self: Arc<Self>, hub: Arc<Hub>, shutdown: CancellationToken) {
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
            let mut conn = self.conn.clone();
            for (room, user, count) in hub.local_presence() {
                let field = format!("{}|{user}", self.node);
                let _: redis::RedisResult<()> =
                    conn.hset(self.presence_key(&room), field, count).await;
            }
        }
        // Leaving politely: the others see this node's users go at once.
        let mut conn = self.conn.clone();
        let _: redis::RedisResult<()> = conn.del(self.node_key(&self.node)).await;
    }

    async fn presence_loop(self: Arc<Self>, hub: Arc<Hub>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(PRESENCE_POLL);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            for room in hub.occupied_rooms() {
                match self.others_online(&room).await {
                    Ok(users) => hub.set_remote_presence(&room, users),
                    Err(err) => tracing::debug!(error = %err, "presence poll failed"),
                }
            }
        }
    }

    /// Users with a connection in `room` on another node whose heartbeat lives.
    async fn others_online(&self, room: &str) -> redis::RedisResult<HashSet<String>> {
        let mut conn = self.conn.clone();
        let entries: HashMap<String, i64> = conn.hgetall(self.presence_key(room)).await?;
        let mut by_node: HashMap<&str, Vec<&str>> = HashMap::new();
        for (field, count) in &entries {
            if let Some((node, user)) = field.split_once('|') {
                if *count > 0 && node != self.node {
                    by_node.entry(node).or_default().push(user);
                }
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
    async fn publish(&self, events: Vec<Arc<Event>>) -> Result<(), BusError> {
        if events.is_empty() {
            return Ok(());
        }
        let wire: Vec<WireEvent> = events
            .iter()
            .filter_map(|e| WireEvent::from_event(e))
            .collect();
        let _ = self.sequencer.send(Input::Events(events));
        let payload = serde_json::to_vec(&Envelope {
            origin: self.node.clone(),
            events: wire,
        })
        .map_err(|e| BusError::Unavailable(e.to_string()))?;
        let mut conn = self.conn.clone();
        conn.publish::<_, _, ()>(self.channel(), payload)
            .await
            .map_err(unavailable)
    }

    async fn membership_changed(&self, event: Arc<Event>, local_count: usize) {
        let (room, user) = match &event.kind {
            EventKind::Joined { room, user, .. } | EventKind::Left { room, user, .. } => {
                (room.clone(), user.clone())
            }
            _ => return,
        };
        let mut conn = self.conn.clone();
        let field = format!("{}|{user}", self.node);
        let key = self.presence_key(&room);
        let written: redis::RedisResult<()> = if local_count > 0 {
            conn.hset(key, field, local_count).await
        } else {
            conn.hdel(key, field).await
        };
        if let Err(err) = written {
            tracing::warn!(error = %err, "presence update failed; the heartbeat will repair it");
        }
        let Some(wire) = WireEvent::from_event(&event) else {
            return;
        };
        let payload = serde_json::to_vec(&Envelope {
            origin: self.node.clone(),
            events: vec![wire],
        });
        if let Ok(payload) = payload {
            let _: redis::RedisResult<()> = conn.publish(self.channel(), payload).await;
        }
    }

    fn is_shared(&self) -> bool {
        true
    }

    async fn remote_presence(&self, room: &str) -> Vec<String> {
        let mut users: Vec<String> = self
            .others_online(room)
            .await
            .unwrap_or_default()
            .into_iter()
            .collect();
        users.sort_unstable();
        users
    }
}
