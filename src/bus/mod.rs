//! How room events reach the other nodes of a cluster. The bus only carries:
//! what this node publishes goes to every other node, and what the others
//! publish comes out of the bus's inbound stream, which the chat core
//! consumes. It holds neither the hub nor the store, so nothing flows back
//! from here into the core except through that stream.
//!
//! One node uses `LocalBus`: there is nobody to tell, and its inbound stream
//! stays silent. The core delivers its own events the same way with either
//! bus (see `chat::delivery`), so one node and many share one path.

mod local;
mod redis;

pub use local::LocalBus;
pub use redis::{RedisBus, RedisSettings};

use crate::model::{RoomEntry, RoomEvent};
use async_trait::async_trait;
use tokio::sync::mpsc;

/// Batches of inbound events that may wait for the chat core before the
/// bus stops reading from its connection (and the server behind it buffers).
pub const INBOUND_QUEUE: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("bus unavailable: {0}")]
    Unavailable(String),
}

/// What the bus hands to the chat core.
#[derive(Debug)]
pub enum Inbound {
    /// Events other nodes published, in the order they were published.
    Events(Vec<RoomEvent>),
    /// Login sessions another node ended: their connections here close.
    SessionsEnded(Vec<i64>),
    /// These users were added to a room: their sockets here are told.
    Added { users: Vec<i64>, entry: RoomEntry },
    /// The bus lost its connection and has it back: events may have been
    /// missed, and whatever can be read from the store should be.
    Reconnected,
}

/// The receiving end of a bus: events from other nodes.
pub type InboundStream = mpsc::Receiver<Inbound>;

/// A connection's arrival in a room, or its departure, on this node: the
/// hub has told this node's members already; the bus tells the others.
#[derive(Debug, Clone)]
pub struct MembershipChange {
    pub room: String,
    pub user: String,
    pub user_id: i64,
    pub joined: bool,
    /// The user's connections in the room on this node, after the change.
    pub connections_here: usize,
}

#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Sends `events`, in order, to every other node.
    async fn publish(&self, events: &[&RoomEvent]) -> Result<(), BusError>;

    /// Tells the other nodes that these login sessions ended.
    async fn end_sessions(&self, _sessions: &[i64]) -> Result<(), BusError> {
        Ok(())
    }

    /// Tells the other nodes that `users` were added to the room `entry`.
    async fn tell_added(&self, _users: &[i64], _entry: &RoomEntry) -> Result<(), BusError> {
        Ok(())
    }

    /// Tells the other nodes of a membership change on this node.
    async fn announce(&self, _change: MembershipChange) {}

    /// True when other nodes share this bus.
    fn is_shared(&self) -> bool {
        false
    }

    /// Users online in `room` on other live nodes, sorted.
    async fn others_online(&self, _room: &str) -> Result<Vec<String>, BusError> {
        Ok(Vec::new())
    }
}
