//! The core: what happens to a message. Gateways and HTTP handlers call in
//! here; this module calls the store and the bus, and knows nothing of wire
//! formats beyond the frame cache on `Event`.

pub mod event;
pub mod hub;
pub mod model;
pub mod order;
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

    /// Passes a join or leave on to the other nodes (a no-op on one node).
    pub async fn membership_changed(&self, change: Option<hub::Change>) {
        if let Some(change) = change {
            self.bus
                .membership_changed(change.event, change.local_count)
                .await;
        }
    }

    /// Reads who is online in `room` on other nodes now, rather than at the
    /// next presence poll.
    pub async fn refresh_remote_presence(&self, room: &str) {
        if self.bus.is_shared() {
            let remote = self.bus.remote_presence(room).await;
            self.hub
                .set_remote_presence(room, remote.into_iter().collect());
        }
    }

    /// Who is online in `room`: here and, with several nodes, elsewhere.
    pub async fn presence(&self, room: &str) -> Vec<String> {
        let mut online = self.hub.presence(room);
        online.extend(self.bus.remote_presence(room).await);
        online.sort_unstable();
        online.dedup();
        online
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
