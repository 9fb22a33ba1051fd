//! The core: what happens to a message. Gateways and HTTP handlers call in
//! here; this module calls the store and the bus, and knows nothing of wire
//! formats beyond the frame cache on `Event`.

pub mod event;
pub mod hub;
pub mod model;
pub mod outbox;
pub mod publisher;

use crate::bus::Bus;
use crate::store::NewMessage;
use event::{Event, EventKind};
use hub::Hub;
use model::{Room, Timestamp, User};
use publisher::{PostError, PostReply, Publisher};
use std::sync::Arc;

pub struct Chat {
    pub hub: Arc<Hub>,
    publisher: Publisher,
    bus: Arc<dyn Bus>,
}

impl Chat {
    pub fn new(hub: Arc<Hub>, publisher: Publisher, bus: Arc<dyn Bus>) -> Self {
        Self {
            hub,
            publisher,
            bus,
        }
    }

    /// Queues `content` from `author` for `room`; the reply resolves once the
    /// message is stored (and then delivered to the room).
    pub async fn post(
        &self,
        room: &Room,
        author: &User,
        content: String,
        client_id: Option<String>,
    ) -> Result<PostReply, PostError> {
        self.publisher
            .submit(NewMessage {
                room_id: room.id,
                room: room.name.clone(),
                author: author.clone(),
                content,
                created_at: Timestamp::now(),
                client_id,
            })
            .await
    }

    /// Tells the room that `user` is typing; never stored.
    pub async fn typing(&self, room: &str, user: &User) {
        let event = Arc::new(Event::new(EventKind::Typing {
            room: room.to_owned(),
            user: user.username.clone(),
            user_id: user.id,
        }));
        if let Err(err) = self.bus.publish(vec![event]).await {
            tracing::debug!(error = %err, "typing notice dropped");
        }
    }
}
