//! Who may see and do what in a room: membership, roles, moderation, direct
//! rooms. Every rule of issue 12 is decided here, once, for every path (the
//! HTTP routes, both WebSocket protocols); callers only translate the
//! answer. A room a caller may not see is `NotFound`, exactly as a room
//! that does not exist.
//!
//! Reads of the store happen per request or per subscription, never per
//! message: once a connection is in a room, the hub holds what sending
//! needs (see `hub::Hub::may_speak`), and changes reach it as access events
//! in the room's own order.

use super::Chat;
use super::notice::{Notice, RoomEntry};
use crate::model::{
    AccessChange, Invalid, Removal, Room, RoomEvent, RoomName, RoomRole, Timestamp, User, Username,
    Visibility, parse_topic,
};
use crate::store::{Access, Account, Member, MemberChange, MyRoom, NewRoom, Sanction, StoreError};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The most people a direct room is opened with, besides the one opening it.
pub const MAX_DIRECT_OTHERS: usize = 8;
/// Names starting with this are direct rooms'.
const DIRECT_PREFIX: &str = "dm-";

/// Who may create rooms (`--room-creation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RoomCreation {
    Anyone,
    Admins,
}

/// What becomes of a deleted room's messages (`--deleted-room-history`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeletedHistory {
    /// Kept in the store, out of everyone's sight; the name stays taken.
    Keep,
    /// Deleted with the room.
    Purge,
}

/// The operator's choices the rules depend on.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub room_creation: RoomCreation,
    pub deleted_history: DeletedHistory,
    /// How long after sending its author may edit a message (`--edit-window`).
    pub edit_window: Option<std::time::Duration>,
    /// Whether edited messages keep their earlier texts (`--keep-edit-history`).
    pub keep_edit_history: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            room_creation: RoomCreation::Anyone,
            deleted_history: DeletedHistory::Keep,
            edit_window: None,
            keep_edit_history: true,
        }
    }
}

/// Who is asking: a user, and whether they are a server admin.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub user: &'a User,
    pub admin: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RoomError {
    /// No such room, or one the caller may not see.
    #[error("Room not found")]
    NotFound,
    /// Something else that is not there (a member, a ban, a user).
    #[error("{0}")]
    Missing(String),
    /// The caller sees the room but lacks the role.
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    Conflict(&'static str),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<Invalid> for RoomError {
    fn from(err: Invalid) -> Self {
        Self::Invalid(err.0)
    }
}

/// How much say someone has in a room, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Rank {
    Member,
    Moderator,
    Owner,
    /// A server admin, in any room but a direct one.
    Admin,
}

impl Rank {
    fn of(role: Option<RoomRole>, admin: bool, visibility: Visibility) -> Option<Self> {
        if admin && visibility != Visibility::Direct {
            return Some(Self::Admin);
        }
        role.map(|role| match role {
            RoomRole::Member => Self::Member,
            RoomRole::Moderator => Self::Moderator,
            RoomRole::Owner => Self::Owner,
        })
    }
}

/// A room as one caller stands in it.
pub struct Standing {
    pub access: Access,
    pub(super) rank: Option<Rank>,
}

impl Standing {
    pub fn room(&self) -> &Room {
        &self.access.room
    }

    /// The caller's membership role, if they are a member.
    pub fn role(&self) -> Option<RoomRole> {
        self.access.role
    }

    fn at_least(&self, rank: Rank, refusal: &'static str) -> Result<(), RoomError> {
        match self.rank {
            Some(have) if have >= rank => Ok(()),
            _ => Err(RoomError::Forbidden(refusal)),
        }
    }

    fn not_direct(&self) -> Result<(), RoomError> {
        match self.room().visibility {
            Visibility::Direct => Err(RoomError::Forbidden(
                "Direct conversations have no moderators; leave it instead",
            )),
            _ => Ok(()),
        }
    }
}

/// What a removal answers when the store refuses it, in the words of the
/// one who asked.
struct Refusals {
    not_member: String,
    last_owner: &'static str,
}

/// The name of the direct room of exactly these users (any order).
fn direct_name(members: &[i64]) -> Result<RoomName, RoomError> {
    let mut ids = members.to_vec();
    ids.sort_unstable();
    let joined: Vec<String> = ids.iter().map(i64::to_string).collect();
    let digest = Sha256::digest(joined.join(",").as_bytes());
    let hex: String = digest.iter().take(12).map(|b| format!("{b:02x}")).collect();
    Ok(RoomName::parse(&format!("{DIRECT_PREFIX}{hex}"))?)
}

fn entry(room: &Room, role: RoomRole, others: Vec<String>) -> RoomEntry {
    RoomEntry {
        name: room.name.clone(),
        topic: room.topic.clone(),
        visibility: room.visibility,
        role,
        others,
    }
}

impl From<MyRoom> for RoomEntry {
    fn from(mine: MyRoom) -> Self {
        entry(&mine.room, mine.role, mine.others)
    }
}

/// A moderator's deadline, if any, must lie ahead.
fn future(until: Option<Timestamp>, now: Timestamp) -> Result<Option<Timestamp>, RoomError> {
    match until {
        Some(t) if t <= now => Err(RoomError::Invalid("until must be in the future".into())),
        other => Ok(other),
    }
}

impl Chat {
    /// How `actor` stands in room `name`; `NotFound` if they may not see it.
    pub async fn standing(&self, actor: Actor<'_>, name: &str) -> Result<Standing, RoomError> {
        let name = RoomName::parse(name).map_err(|_| RoomError::NotFound)?;
        let access = self
            .store
            .access(&name, actor.user.id, Timestamp::now())
            .await?
            .ok_or(RoomError::NotFound)?;
        let rank = Rank::of(access.role, actor.admin, access.room.visibility);
        if access.room.visibility.is_members_only() && rank.is_none() {
            return Err(RoomError::NotFound);
        }
        Ok(Standing { access, rank })
    }

    /// `standing`, for reading the room (its history, members, live events):
    /// refused to someone banned from it.
    pub async fn readable(&self, actor: Actor<'_>, name: &str) -> Result<Standing, RoomError> {
        let standing = self.standing(actor, name).await?;
        if standing.access.banned && standing.rank < Some(Rank::Admin) {
            return Err(RoomError::Forbidden("You are banned from this room"));
        }
        Ok(standing)
    }

    /// A public room, for someone not signed in (the chapter's routes).
    pub async fn public_room(&self, name: &str) -> Result<Room, RoomError> {
        match self.room(name).await? {
            Some(room) if room.visibility == Visibility::Public => Ok(room),
            _ => Err(RoomError::NotFound),
        }
    }

    /// Records `actor` as a member of a public room they subscribed to or
    /// joined, if they are not one yet. True if they were not. (A socket
    /// that subscribes is not told `room_added`: it knows, and a client
    /// that subscribes to many rooms would hear of each on every tab.)
    pub(super) async fn record_member(
        &self,
        actor: Actor<'_>,
        standing: &Standing,
    ) -> Result<bool, RoomError> {
        let room = standing.room();
        if standing.role().is_some() || room.visibility != Visibility::Public {
            return Ok(false);
        }
        let added = self
            .store
            .add_member(room.id, actor.user.id, RoomRole::Member, Timestamp::now())
            .await?;
        Ok(added)
    }

    /// Opens a room: `Conflict` if the name is taken.
    pub async fn create_room(
        &self,
        actor: Actor<'_>,
        name: &str,
        topic: &str,
        visibility: Visibility,
    ) -> Result<Room, RoomError> {
        if self.policy.room_creation == RoomCreation::Admins && !actor.admin {
            return Err(RoomError::Forbidden(
                "Only server admins may create rooms on this server",
            ));
        }
        if visibility == Visibility::Direct {
            return Err(RoomError::Invalid(
                "visibility must be public or private; use POST /dms for direct messages".into(),
            ));
        }
        let name = RoomName::parse(name)?;
        if name.as_str().starts_with(DIRECT_PREFIX) {
            return Err(RoomError::Invalid(format!(
                "room names starting with {DIRECT_PREFIX:?} are kept for direct messages"
            )));
        }
        let topic = parse_topic(topic)?;
        let created = self
            .store
            .create_room(&NewRoom {
                name: &name,
                topic: &topic,
                visibility,
                owner: Some(actor.user.id),
            })
            .await;
        match created {
            Ok(room) => {
                self.tell_added(&[actor.user.id], entry(&room, RoomRole::Owner, Vec::new()))
                    .await;
                Ok(room)
            }
            Err(StoreError::Conflict) => Err(RoomError::Conflict("Room already exists")),
            Err(err) => Err(err.into()),
        }
    }

    /// `POST /rooms/{room}/join`: becomes a member of a public room.
    pub async fn join_room(&self, actor: Actor<'_>, name: &str) -> Result<Standing, RoomError> {
        let standing = self.readable(actor, name).await?;
        if standing.role().is_some() {
            return Err(RoomError::Conflict("Already a member of this room"));
        }
        if standing.room().visibility != Visibility::Public {
            // An admin sees a private room without being in it; they too
            // are added by its owners, not by themselves.
            return Err(RoomError::Forbidden(
                "A private room's owners and moderators add its members",
            ));
        }
        if !self.record_member(actor, &standing).await? {
            return Err(RoomError::Conflict("Already a member of this room"));
        }
        let room = standing.room();
        self.tell_added(&[actor.user.id], entry(room, RoomRole::Member, Vec::new()))
            .await;
        Ok(standing)
    }

    /// Ends `actor`'s membership; their sockets leave the room everywhere.
    pub async fn leave_room(&self, actor: Actor<'_>, name: &str) -> Result<(), RoomError> {
        let standing = self.standing(actor, name).await?;
        if standing.role().is_none() {
            return Err(RoomError::Missing(
                "You are not a member of this room".into(),
            ));
        }
        let refusals = Refusals {
            not_member: "You are not a member of this room".into(),
            last_owner: "The last owner cannot leave; make someone else an owner first",
        };
        self.remove(standing.room(), actor.user.id, Removal::Left, refusals)
            .await
    }

    /// The room's members, and who of them is online.
    pub async fn members(
        &self,
        actor: Actor<'_>,
        name: &str,
    ) -> Result<(Vec<Member>, Vec<String>), RoomError> {
        let standing = self.readable(actor, name).await?;
        let room = standing.room();
        let members = self.store.members(room.id).await?;
        let online = self.online(&room.name).await;
        Ok((members, online))
    }

    /// The account called `username`, or `Missing`.
    async fn account_named(&self, username: &str) -> Result<Account, RoomError> {
        let missing = || RoomError::Missing(format!("No user called {username:?}"));
        let name = Username::parse(username).map_err(|_| missing())?;
        self.store.account(&name).await?.ok_or_else(missing)
    }

    /// A room's moderator (or better) acting on `target`, who must rank
    /// below them. The target's standing.
    async fn over(
        &self,
        standing: &Standing,
        actor: Actor<'_>,
        target: &Account,
    ) -> Result<Access, RoomError> {
        standing.not_direct()?;
        standing.at_least(
            Rank::Moderator,
            "Only the room's owners and moderators may do that",
        )?;
        if target.user.id == actor.user.id {
            return Err(RoomError::Invalid(
                "You cannot do that to yourself (leave the room instead)".into(),
            ));
        }
        let room = standing.room();
        let name = RoomName::parse(&room.name)?;
        let theirs = self
            .store
            .access(&name, target.user.id, Timestamp::now())
            .await?
            .ok_or(RoomError::NotFound)?;
        let their_rank = Rank::of(theirs.role, target.admin, room.visibility);
        if their_rank >= standing.rank {
            return Err(RoomError::Forbidden(
                "You may only act on members ranked below you",
            ));
        }
        Ok(theirs)
    }

    /// Adds `username` to the room (an invite): their sockets are told.
    pub async fn invite(
        &self,
        actor: Actor<'_>,
        name: &str,
        username: &str,
    ) -> Result<Member, RoomError> {
        let standing = self.readable(actor, name).await?;
        standing.not_direct()?;
        standing.at_least(
            Rank::Moderator,
            "Only the room's owners and moderators may add members",
        )?;
        let target = self.account_named(username).await?;
        let room = standing.room();
        let room_name = RoomName::parse(&room.name)?;
        let now = Timestamp::now();
        let theirs = self.store.access(&room_name, target.user.id, now).await?;
        if theirs.as_ref().is_some_and(|a| a.banned) {
            return Err(RoomError::Conflict(
                "That user is banned from this room; lift the ban first",
            ));
        }
        if !self
            .store
            .add_member(room.id, target.user.id, RoomRole::Member, now)
            .await?
        {
            return Err(RoomError::Conflict("Already a member of this room"));
        }
        self.tell_added(&[target.user.id], entry(room, RoomRole::Member, Vec::new()))
            .await;
        Ok(Member {
            user: target.user,
            role: RoomRole::Member,
            since: now,
        })
    }

    /// Gives a member another role; owners (and admins) only.
    pub async fn set_role(
        &self,
        actor: Actor<'_>,
        name: &str,
        username: &str,
        role: RoomRole,
    ) -> Result<Member, RoomError> {
        let standing = self.readable(actor, name).await?;
        standing.not_direct()?;
        standing.at_least(Rank::Owner, "Only the room's owners may change roles")?;
        let target = self.account_named(username).await?;
        let room = standing.room();
        match self.store.set_role(room.id, target.user.id, role).await? {
            MemberChange::Done => {}
            MemberChange::NotMember => {
                return Err(RoomError::Missing(format!("{username} is not a member")));
            }
            MemberChange::LastOwner => {
                return Err(RoomError::Conflict(
                    "The room would have no owner left; make someone else an owner first",
                ));
            }
        }
        let since = self
            .store
            .members(room.id)
            .await?
            .into_iter()
            .find(|m| m.user.id == target.user.id)
            .map_or_else(Timestamp::now, |m| m.since);
        Ok(Member {
            user: target.user,
            role,
            since,
        })
    }

    /// Removes a member ("kick"); they may come back to a public room.
    pub async fn kick(
        &self,
        actor: Actor<'_>,
        name: &str,
        username: &str,
    ) -> Result<(), RoomError> {
        let standing = self.readable(actor, name).await?;
        let target = self.account_named(username).await?;
        let theirs = self.over(&standing, actor, &target).await?;
        if theirs.role.is_none() {
            return Err(RoomError::Missing(format!("{username} is not a member")));
        }
        let refusals = Refusals {
            not_member: format!("{username} is not a member"),
            last_owner: "The room's last owner cannot be removed",
        };
        self.remove(standing.room(), target.user.id, Removal::Kicked, refusals)
            .await
    }

    /// Bans `username` (a member or not) until `until` or for good.
    pub async fn ban(
        &self,
        actor: Actor<'_>,
        name: &str,
        username: &str,
        reason: Option<String>,
        until: Option<Timestamp>,
    ) -> Result<Sanction, RoomError> {
        let now = Timestamp::now();
        let until = future(until, now)?;
        let standing = self.readable(actor, name).await?;
        let target = self.account_named(username).await?;
        self.over(&standing, actor, &target).await?;
        let room = standing.room();
        let reason = reason
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty());
        let banned = self
            .store
            .ban(
                room.id,
                target.user.id,
                actor.user.id,
                reason.as_deref(),
                until,
                now,
            )
            .await?;
        if banned == MemberChange::LastOwner {
            return Err(RoomError::Conflict(
                "The room's last owner cannot be banned",
            ));
        }
        let change = AccessChange::Removed {
            user_id: target.user.id,
            why: Removal::Banned,
            reason: reason.clone(),
        };
        self.change_access(&room.name, change).await;
        Ok(Sanction {
            user: target.user,
            reason,
            until,
            by: Some(actor.user.username.clone()),
            created_at: now,
        })
    }

    pub async fn unban(
        &self,
        actor: Actor<'_>,
        name: &str,
        username: &str,
    ) -> Result<(), RoomError> {
        let standing = self.readable(actor, name).await?;
        standing.not_direct()?;
        standing.at_least(
            Rank::Moderator,
            "Only the room's owners and moderators may lift bans",
        )?;
        let target = self.account_named(username).await?;
        if !self.store.unban(standing.room().id, target.user.id).await? {
            return Err(RoomError::Missing(format!("{username} is not banned here")));
        }
        Ok(())
    }

    pub async fn mute(
        &self,
        actor: Actor<'_>,
        name: &str,
        username: &str,
        until: Option<Timestamp>,
    ) -> Result<Sanction, RoomError> {
        let now = Timestamp::now();
        let until = future(until, now)?;
        let standing = self.readable(actor, name).await?;
        let target = self.account_named(username).await?;
        self.over(&standing, actor, &target).await?;
        let room = standing.room();
        self.store
            .mute(room.id, target.user.id, actor.user.id, until, now)
            .await?;
        let change = AccessChange::Muted {
            user_id: target.user.id,
            until,
        };
        self.change_access(&room.name, change).await;
        Ok(Sanction {
            user: target.user,
            reason: None,
            until,
            by: Some(actor.user.username.clone()),
            created_at: now,
        })
    }

    pub async fn unmute(
        &self,
        actor: Actor<'_>,
        name: &str,
        username: &str,
    ) -> Result<(), RoomError> {
        let standing = self.readable(actor, name).await?;
        standing.not_direct()?;
        standing.at_least(
            Rank::Moderator,
            "Only the room's owners and moderators may lift mutes",
        )?;
        let target = self.account_named(username).await?;
        let room = standing.room();
        if !self.store.unmute(room.id, target.user.id).await? {
            return Err(RoomError::Missing(format!("{username} is not muted here")));
        }
        let change = AccessChange::Unmuted {
            user_id: target.user.id,
        };
        self.change_access(&room.name, change).await;
        Ok(())
    }

    /// Bans (`true`) or mutes in force.
    pub async fn sanctions(
        &self,
        actor: Actor<'_>,
        name: &str,
        bans: bool,
    ) -> Result<Vec<Sanction>, RoomError> {
        let standing = self.readable(actor, name).await?;
        standing.not_direct()?;
        standing.at_least(
            Rank::Moderator,
            "Only the room's owners and moderators may see this",
        )?;
        let (room, now) = (standing.room().id, Timestamp::now());
        Ok(match bans {
            true => self.store.bans(room, now).await?,
            false => self.store.mutes(room, now).await?,
        })
    }

    pub async fn set_topic(
        &self,
        actor: Actor<'_>,
        name: &str,
        topic: &str,
    ) -> Result<Room, RoomError> {
        let standing = self.readable(actor, name).await?;
        standing.not_direct()?;
        standing.at_least(
            Rank::Moderator,
            "Only the room's owners and moderators may change the topic",
        )?;
        let topic = parse_topic(topic)?;
        let mut room = standing.access.room;
        self.store.set_topic(room.id, &topic).await?;
        let change = AccessChange::Topic {
            topic: topic.clone(),
        };
        self.change_access(&room.name, change).await;
        room.topic = topic;
        Ok(room)
    }

    /// Deletes a room (its owners, or an admin): everyone in it leaves it,
    /// on every node; its history is kept or purged as the operator chose.
    pub async fn delete_room(&self, actor: Actor<'_>, name: &str) -> Result<(), RoomError> {
        let standing = self.standing(actor, name).await?;
        standing.at_least(
            Rank::Owner,
            "Only the room's owners and server admins may delete it",
        )?;
        let room = standing.room();
        match self.policy.deleted_history {
            DeletedHistory::Keep => self.store.archive_room(room.id, Timestamp::now()).await?,
            DeletedHistory::Purge => self.store.purge_room(room.id).await?,
        }
        tracing::info!(room = %room.name, by = %actor.user.username, "room deleted");
        self.change_access(&room.name, AccessChange::RoomRemoved)
            .await;
        Ok(())
    }

    /// The direct room of `actor` and `usernames`, opened the first time
    /// (when every other member's sockets are told). True if it is new.
    pub async fn direct(
        &self,
        actor: Actor<'_>,
        usernames: &[String],
    ) -> Result<(Room, Vec<String>, bool), RoomError> {
        if usernames.is_empty() || usernames.len() > MAX_DIRECT_OTHERS {
            return Err(RoomError::Invalid(format!(
                "usernames must name 1 to {MAX_DIRECT_OTHERS} other people"
            )));
        }
        let mut people: Vec<Account> = Vec::with_capacity(usernames.len());
        for name in usernames {
            let account = self.account_named(name).await?;
            if account.user.id == actor.user.id {
                return Err(RoomError::Invalid(
                    "usernames must name other people, not yourself".into(),
                ));
            }
            if people.iter().any(|p| p.user.id == account.user.id) {
                return Err(RoomError::Invalid(format!("{name} is named twice")));
            }
            people.push(account);
        }
        let mut ids: Vec<i64> = people.iter().map(|p| p.user.id).collect();
        ids.push(actor.user.id);
        let name = direct_name(&ids)?;
        let existed = self.store.room(&name).await?;
        if existed
            .as_ref()
            .is_some_and(|r| r.visibility != Visibility::Direct)
        {
            return Err(RoomError::Conflict("A room of that name is in the way"));
        }
        let now = Timestamp::now();
        let room = self.store.direct_room(&name, &ids, now).await?;
        // Someone who left comes back by opening it again.
        self.store
            .add_member(room.id, actor.user.id, RoomRole::Member, now)
            .await?;
        let mut everyone: Vec<String> = people.iter().map(|p| p.user.username.clone()).collect();
        everyone.push(actor.user.username.clone());
        everyone.sort_unstable();
        let created = existed.is_none();
        if created {
            for person in people.iter().map(|p| &p.user).chain([actor.user]) {
                let others = everyone
                    .iter()
                    .filter(|n| **n != person.username)
                    .cloned()
                    .collect();
                self.tell_added(&[person.id], entry(&room, RoomRole::Member, others))
                    .await;
            }
        }
        Ok((room, everyone, created))
    }

    /// The rooms `user` is a member of.
    pub async fn my_rooms(&self, user: &User) -> Result<Vec<MyRoom>, RoomError> {
        Ok(self.store.my_rooms(user.id).await?)
    }

    /// Ends `user`'s membership of `room` and takes their sockets out of
    /// it everywhere (a leave or a kick).
    async fn remove(
        &self,
        room: &Room,
        user: i64,
        why: Removal,
        refusals: Refusals,
    ) -> Result<(), RoomError> {
        match self.store.remove_member(room.id, user).await? {
            MemberChange::Done => {}
            MemberChange::NotMember => return Err(RoomError::Missing(refusals.not_member)),
            MemberChange::LastOwner => return Err(RoomError::Conflict(refusals.last_owner)),
        }
        let change = AccessChange::Removed {
            user_id: user,
            why,
            reason: None,
        };
        self.change_access(&room.name, change).await;
        Ok(())
    }

    /// Applies an access change here (in the room's order) and on every
    /// other node. Returns once this node's connections have it.
    async fn change_access(&self, room: &str, change: AccessChange) {
        let event = Arc::new(super::event::Event::new(RoomEvent::Access {
            room: room.to_owned(),
            change,
        }));
        self.fanout.publish(vec![event]).await;
    }

    /// Tells `users`' sockets, here and on the other nodes, that they are
    /// in a room now.
    async fn tell_added(&self, users: &[i64], entry: RoomEntry) {
        if let Err(err) = self.fanout.bus.tell_added(users, &entry).await {
            tracing::warn!(error = %err, "a new room not told to the other nodes");
        }
        self.sockets
            .tell(users, &Arc::new(Notice::RoomAdded(entry)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_direct_room_is_named_by_its_set_of_people() {
        let a = direct_name(&[3, 1, 2]).expect("a name");
        let b = direct_name(&[2, 3, 1]).expect("a name");
        assert_eq!(a, b);
        assert_ne!(a, direct_name(&[1, 2]).expect("a name"));
        assert!(a.as_str().starts_with(DIRECT_PREFIX) && a.as_str().len() == 27);
    }

    #[test]
    fn ranks_admins_above_owners_except_in_direct_rooms() {
        let owner = Rank::of(Some(RoomRole::Owner), false, Visibility::Private);
        let admin = Rank::of(None, true, Visibility::Private);
        assert!(admin > owner);
        assert_eq!(Rank::of(None, true, Visibility::Direct), None);
        assert_eq!(
            Rank::of(Some(RoomRole::Member), true, Visibility::Direct),
            Some(Rank::Member)
        );
    }
}
