use super::{Bus, BusError};
use crate::chat::event::Event;
use crate::chat::hub::Hub;
use async_trait::async_trait;
use std::sync::Arc;

/// The single-node bus: publishing is delivering.
pub struct LocalBus {
    hub: Arc<Hub>,
}

impl LocalBus {
    pub fn new(hub: Arc<Hub>) -> Self {
        Self { hub }
    }
}

#[async_trait]
impl Bus for LocalBus {
    async fn publish(&self, events: Vec<Arc<Event>>) -> Result<(), BusError> {
        self.hub.deliver_all(events);
        Ok(())
    }
}
