//! How stored messages and room events reach every node's connections. One
//! node uses `LocalBus`, which hands them straight to the hub; the seam is
//! here so that several nodes can share a bus without the rest changing.

mod local;

pub use local::LocalBus;

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
}
