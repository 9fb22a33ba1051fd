//! What people do to messages once sent: edit, delete, react. Each is an
//! entry of the room's stream like a message (see `model::Entry`), so it is
//! stored, ordered and delivered the way a message is: through the
//! publisher's group commit, then the delivery path, then every member's
//! outbox. The rules that need the message itself (its author, its age,
//! whether it is still there) are checked by the store in the append's
//! transaction; the ones that need the caller's standing (may they read
//! the room, are they muted, do they moderate) are checked here, with one
//! read of the store per change (never per message sent).

use super::Chat;
use super::publisher::{PostError, PostReply};
use super::rooms::{Actor, Rank, RoomError, Standing};
use crate::model::{
    Emoji, Entry, MessageState, MessageText, ReactionCount, StoredMessage, Timestamp,
};
use crate::store::{NewChange, NewMessage, Page, StoreError};
use std::collections::HashMap;

/// A change to a message, as asked for.
#[derive(Debug, Clone)]
pub enum Action {
    Edit(MessageText),
    Delete,
    React(Emoji),
    Unreact(Emoji),
}

impl Action {
    /// The name clients know it by.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Edit(_) => "edit",
            Self::Delete => "delete",
            Self::React(_) => "react",
            Self::Unreact(_) => "unreact",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ActError {
    #[error(transparent)]
    Room(#[from] RoomError),
    /// Muted in the room: they may read, and delete their own messages.
    #[error("you are muted in this room")]
    Muted { until: Option<Timestamp> },
    #[error(transparent)]
    Post(#[from] PostError),
}

impl From<StoreError> for ActError {
    fn from(err: StoreError) -> Self {
        Self::Room(RoomError::Store(err))
    }
}

/// One earlier (or the current) text of a message.
#[derive(Debug, Clone)]
pub struct Version {
    pub content: String,
    pub at: Timestamp,
}

impl Chat {
    /// Queues `action` by `actor` on message `id` of room `room`; the reply
    /// resolves once it is stored and delivered here (or refused by the
    /// store: the message is gone, not theirs, too old).
    pub async fn act(
        &self,
        actor: Actor<'_>,
        room: &str,
        id: i64,
        action: Action,
        client_id: Option<String>,
    ) -> Result<PostReply, ActError> {
        let standing = self.readable(actor, room).await?;
        if let Some(until) = standing.access.muted
            && !matches!(action, Action::Delete)
        {
            return Err(ActError::Muted { until });
        }
        let room = standing.room();
        let now = Timestamp::now();
        let (change, content) =
            match action {
                Action::Edit(text) => (
                    NewChange::Edit {
                        target: id,
                        not_before: self.policy.edit_window.map(|window| {
                            Timestamp(now.0.saturating_sub(
                                i64::try_from(window.as_micros()).unwrap_or(i64::MAX),
                            ))
                        }),
                        keep_history: self.policy.keep_edit_history,
                    },
                    text.into_string(),
                ),
                Action::Delete => (
                    NewChange::Delete {
                        target: id,
                        any_author: moderates(&standing),
                    },
                    String::new(),
                ),
                Action::React(emoji) => (
                    NewChange::React {
                        target: id,
                        added: true,
                    },
                    emoji.into_string(),
                ),
                Action::Unreact(emoji) => (
                    NewChange::React {
                        target: id,
                        added: false,
                    },
                    emoji.into_string(),
                ),
            };
        let reply = self
            .publisher
            .submit(NewMessage {
                room_id: room.id,
                room: room.name.clone(),
                author: actor.user.clone(),
                content,
                created_at: now,
                client_id,
                reply_to: None,
                change: Some(change),
            })
            .await?;
        Ok(reply)
    }

    /// Message `id` of room `room` as `actor` sees it now (reactions with
    /// their `me`); `None` if the room has no such message.
    pub async fn message(
        &self,
        actor: Actor<'_>,
        room: &str,
        id: i64,
    ) -> Result<Option<StoredMessage>, RoomError> {
        let standing = self.readable(actor, room).await?;
        let Some(message) = self.store.message(standing.room().id, id).await? else {
            return Ok(None);
        };
        let mut one = vec![message];
        self.add_reactions(&mut one, actor.user.id).await?;
        Ok(one.pop())
    }

    /// The texts message `id` has had, oldest first, the current one last;
    /// `None` if there is no such message (or it was deleted).
    pub async fn versions(
        &self,
        actor: Actor<'_>,
        room: &str,
        id: i64,
    ) -> Result<Option<Vec<Version>>, RoomError> {
        let standing = self.readable(actor, room).await?;
        let Some(message) = self.store.message(standing.room().id, id).await? else {
            return Ok(None);
        };
        if is_deleted(&message) {
            return Ok(None);
        }
        let mut versions: Vec<Version> = self
            .store
            .versions(id)
            .await?
            .into_iter()
            .map(|(content, at)| Version { content, at })
            .collect();
        let current_at = match &message.entry {
            Entry::Message(Some(state)) => state.edited_at.unwrap_or(message.created_at),
            _ => message.created_at,
        };
        versions.push(Version {
            content: message.content,
            at: current_at,
        });
        Ok(Some(versions))
    }

    /// A page of the room's stream as `viewer` reads it: messages with
    /// their reactions (and whether `viewer` is among them).
    pub async fn history_seen_by(
        &self,
        room_id: i64,
        page: Page,
        viewer: i64,
    ) -> Result<Vec<StoredMessage>, StoreError> {
        let mut messages = self.store.messages(room_id, page).await?;
        self.add_reactions(&mut messages, viewer).await?;
        Ok(messages)
    }

    /// Fills in the reactions of the messages among `entries`, in one read.
    async fn add_reactions(
        &self,
        entries: &mut [StoredMessage],
        viewer: i64,
    ) -> Result<(), StoreError> {
        let ids: Vec<i64> = entries
            .iter()
            .filter(|m| matches!(m.entry, Entry::Message(_)) && !is_deleted(m))
            .map(|m| m.id)
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let mut by_message: HashMap<i64, Vec<ReactionCount>> = HashMap::new();
        for (message, count) in self.store.reactions(&ids, viewer).await? {
            by_message.entry(message).or_default().push(count);
        }
        for m in entries.iter_mut() {
            let Some(reactions) = by_message.remove(&m.id) else {
                continue;
            };
            if let Entry::Message(state) = &mut m.entry {
                state
                    .get_or_insert_with(|| Box::new(MessageState::default()))
                    .reactions = reactions;
            }
        }
        Ok(())
    }
}

/// Moderators, owners and server admins may delete anyone's message.
fn moderates(standing: &Standing) -> bool {
    standing.rank >= Some(Rank::Moderator)
}

fn is_deleted(m: &StoredMessage) -> bool {
    matches!(&m.entry, Entry::Message(Some(state)) if state.deleted.is_some())
}
