//! How stored messages and room events reach every node's connections. One
//! node uses `LocalBus`, which hands them straight to the hub; the seam is
//! here so that several nodes can share a bus without the rest changing.

mod local;
mod redis;

pub use local::LocalBus;
pub use redis::{RedisBus, RedisSettings};

use crate::chat::event::Event;
use async_trait::async_trait;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("bus unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait Bus: Send + Sync + 'static {
    /// Delivers `events`, in order, to the members of their rooms on every node.
    async fn publish(&self, events: Vec<Arc<Event>>) -> Result<(), BusError>;

    /// A connection joined (`event` is its `Joined`) or left (`Left`) a room
    /// on this node; the hub has delivered it here already. Other nodes learn
    /// of it from here.
    async fn membership_changed(&self, _event: Arc<Event>, _local_count: usize) {}

    /// True when other nodes share this bus.
    fn is_shared(&self) -> bool {
        false
    }

    /// Users online in `room` on other live nodes.
    async fn remote_presence(&self, _room: &str) -> Vec<String> {
        Vec::new()
    }
}
