//! Who is in which room on this node, and delivery to them.
//!
//! Locks here are `std::sync` ones: they are never held across an `.await`,
//! and every operation under them is a handful of non-blocking queue pushes.
//! The room map is read-mostly (a room appears once); each room has its own
//! lock, so rooms never contend with each other. Presence changes are told
//! in batches (see `presence`).

use super::event::Event;
use super::notice::Notice;
use super::outbox::{Outbound, Outbox};
use super::presence::{Batch, Pending};
use crate::model::{AccessChange, ConnId, RoomEvent, Timestamp};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

/// A join or leave, for the other nodes.
pub struct Change {
    /// The user's connections in the room on this node, after the change.
    pub connections_here: usize,
}

pub struct Member {
    pub user_id: i64,
    pub username: String,
    pub outbox: Outbox,
}

/// Why a connection may not speak in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Silenced {
    /// It is not in the room (any more: it may have been removed).
    NotIn,
    /// Its user is muted there, until then (or until lifted).
    Muted(Option<Timestamp>),
}

/// A connection that left a room because its user's access changed.
pub struct Evicted {
    pub room: String,
    pub member: Member,
    pub change: Change,
}

/// A connection whose user may be in a room only as long as the store says so.
pub struct Occupancy {
    pub room_id: i64,
    pub room: String,
    pub user_id: i64,
}

type SharedRoom = Arc<Mutex<Occupants>>;

/// One room's connections on this node.
#[derive(Default)]
struct Occupants {
    conns: HashMap<ConnId, Member>,
    /// Connections per user: presence is per person, not per tab.
    users: HashMap<i64, (String, usize)>,
    /// Users online in this room on other nodes (kept by the presence poll).
    remote: HashSet<String>,
    pending: Pending,
    /// Users with a connection here who are muted: until when, or for good.
    /// Read from the store when they join, kept by the room's access events.
    muted: HashMap<i64, Option<Timestamp>>,
    /// The hub's access epoch when this room's access last changed here.
    changed: u64,
    /// The room's id, once someone joined it here.
    room_id: i64,
}

impl Occupants {
    /// Hands every member the presence changes that are waiting.
    fn tell_pending(&mut self) {
        let Some(Batch { events, newcomers }) = self.pending.take() else {
            return;
        };
        // Weighed once for the room; only newcomers, told a part, differ.
        let whole = Outbound::batch_weight(&events, 0);
        for (conn, member) in &self.conns {
            let from = newcomers.get(conn).copied().unwrap_or(0);
            if (from as usize) < events.len() {
                let weight = match from {
                    0 => whole,
                    _ => Outbound::batch_weight(&events, from),
                };
                let item = Outbound::Events {
                    events: events.clone(),
                    from,
                };
                member.outbox.push_weighed(item, weight);
            }
        }
    }

    /// Hands every member `events` (one room's, in order) as one queue
    /// entry, after whatever presence changes are waiting.
    fn tell(&mut self, mut events: Vec<Arc<Event>>) {
        self.tell_pending();
        if events.len() == 1 {
            // One event needs no shared slice to be allocated.
            if let Some(event) = events.pop() {
                for member in self.conns.values() {
                    member.outbox.push(Outbound::Event(event.clone()));
                }
            }
            return;
        }
        let events: Arc<[Arc<Event>]> = events.into();
        // Weighed once, not once per member: this runs under the room's lock.
        let weight = Outbound::batch_weight(&events, 0);
        for member in self.conns.values() {
            let item = Outbound::Events {
                events: events.clone(),
                from: 0,
            };
            member.outbox.push_weighed(item, weight);
        }
    }

    fn presence(&self) -> Vec<String> {
        let names: BTreeSet<&String> = self
            .users
            .values()
            .map(|(n, _)| n)
            .chain(self.remote.iter())
            .collect();
        names.into_iter().cloned().collect()
    }

    fn is_local(&self, user: &str) -> bool {
        self.users.values().any(|(n, _)| n == user)
    }

    fn conns_of(&self, user: i64) -> Vec<ConnId> {
        self.conns
            .iter()
            .filter(|(_, m)| m.user_id == user)
            .map(|(conn, _)| *conn)
            .collect()
    }

    fn tell_user(&self, user: i64, notice: &Arc<Notice>) {
        for member in self.conns.values().filter(|m| m.user_id == user) {
            member.outbox.push(Outbound::Notice(notice.clone()));
        }
    }

    /// Takes connection `conn` out, keeping the per-user counts; the
    /// member and the user's connections left here, and whether they were
    /// the user's last (so that the room is told they went offline).
    fn remove(&mut self, conn: ConnId) -> Option<(Member, usize, bool)> {
        let member = self.conns.remove(&conn)?;
        self.pending.departed(conn);
        let connections_here = match self.users.get_mut(&member.user_id) {
            Some(entry) if entry.1 > 1 => {
                entry.1 -= 1;
                entry.1
            }
            _ => {
                self.users.remove(&member.user_id);
                // Read again from the store when they next join.
                self.muted.remove(&member.user_id);
                0
            }
        };
        let last = connections_here == 0 && !self.remote.contains(&member.username);
        Some((member, connections_here, last))
    }
}

pub struct Hub {
    rooms: RwLock<HashMap<String, SharedRoom>>,
    /// How long a join or leave may wait to be told with others.
    presence_tick: Duration,
    /// Counts access changes applied on this node. A join whose access was
    /// read from the store before a change to its room was applied here
    /// must read it again: the store may have said yes before the change
    /// was written, and the change has already passed this node by.
    epoch: AtomicU64,
}

/// A room being joined, with what the joiner's access check read.
pub struct Joining {
    pub id: i64,
    pub name: String,
    /// The access epoch read before the check.
    pub checked: u64,
    /// The joiner's mute, if muted.
    pub muted: Option<Option<Timestamp>>,
}

impl Hub {
    pub fn new(presence_tick: Duration) -> Self {
        Self {
            rooms: RwLock::default(),
            presence_tick,
            epoch: AtomicU64::new(0),
        }
    }

    /// Read before reading a joiner's access from the store, and handed to `join`.
    pub fn access_epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    fn room(&self, room: &str) -> Option<SharedRoom> {
        self.rooms
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(room)
            .cloned()
    }

    fn room_or_insert(&self, room: &str) -> SharedRoom {
        if let Some(occupants) = self.room(room) {
            return occupants;
        }
        self.rooms
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(room.to_owned())
            .or_default()
            .clone()
    }

    /// Keeps a presence change to be told within a tick.
    fn wait_to_tell(&self, occupants: &mut Occupants, handle: &SharedRoom, event: Arc<Event>) {
        if occupants.pending.push(event) {
            let (room, tick) = (handle.clone(), self.presence_tick);
            tokio::spawn(async move {
                tokio::time::sleep(tick).await;
                let mut occupants = room.lock().unwrap_or_else(PoisonError::into_inner);
                occupants.pending.tick_armed = false;
                occupants.tell_pending();
            });
        }
    }

    /// Adds a connection to a room and tells the room. `greeting` is built
    /// from who is online now (sorted, the joiner included) and queued to
    /// the joiner before any event of the room, so a snapshot is never
    /// older than what follows it.
    ///
    /// `checked` is the access epoch read before the joiner's access was;
    /// if the room's access changed on this node since, nothing is done
    /// and the caller gets its greeting back to check again.
    pub fn join<G>(
        &self,
        room: &Joining,
        conn: ConnId,
        member: Member,
        greeting: G,
    ) -> Result<Option<Change>, G>
    where
        G: FnOnce(Vec<String>) -> Vec<Outbound>,
    {
        let handle = self.room_or_insert(&room.name);
        let mut occupants = handle.lock().unwrap_or_else(PoisonError::into_inner);
        if occupants.changed > room.checked {
            return Err(greeting);
        }
        if occupants.conns.contains_key(&conn) {
            return Ok(None);
        }
        occupants.room_id = room.id;
        match room.muted {
            Some(until) => occupants.muted.insert(member.user_id, until),
            None => occupants.muted.remove(&member.user_id),
        };
        let room = room.name.as_str();
        let (user_id, user) = (member.user_id, member.username.clone());
        let count = &mut occupants
            .users
            .entry(user_id)
            .or_insert_with(|| (user.clone(), 0))
            .1;
        *count += 1;
        let connections_here = *count;
        let first = *count == 1 && !occupants.remote.contains(&user);
        let outbox = member.outbox.clone();
        occupants.conns.insert(conn, member);
        for item in greeting(occupants.presence()) {
            outbox.push(item);
        }
        let event = Arc::new(Event::new(RoomEvent::Joined {
            room: room.to_owned(),
            user,
            user_id,
            conn,
            first,
        }));
        occupants.pending.arrived(conn);
        self.wait_to_tell(&mut occupants, &handle, event);
        Ok(Some(Change { connections_here }))
    }

    /// Removes a connection from a room and tells those who stay.
    pub fn leave(&self, room: &str, conn: ConnId) -> Option<(Change, Member)> {
        let handle = self.room(room)?;
        let mut occupants = handle.lock().unwrap_or_else(PoisonError::into_inner);
        let (member, connections_here) = self.depart(&mut occupants, &handle, room, conn)?;
        Some((Change { connections_here }, member))
    }

    /// Takes `conn` out of a locked room and tells those who stay.
    fn depart(
        &self,
        occupants: &mut Occupants,
        handle: &SharedRoom,
        room: &str,
        conn: ConnId,
    ) -> Option<(Member, usize)> {
        let (member, connections_here, last) = occupants.remove(conn)?;
        let event = Arc::new(Event::new(RoomEvent::Left {
            room: room.to_owned(),
            user: member.username.clone(),
            user_id: member.user_id,
            conn,
            last,
        }));
        self.wait_to_tell(occupants, handle, event);
        Some((member, connections_here))
    }

    /// Whether connection `conn` of `user` may send or type in `room` at `now`.
    pub fn may_speak(
        &self,
        room: &str,
        conn: ConnId,
        user: i64,
        now: Timestamp,
    ) -> Result<(), Silenced> {
        let handle = self.room(room).ok_or(Silenced::NotIn)?;
        let occupants = handle.lock().unwrap_or_else(PoisonError::into_inner);
        if !occupants.conns.contains_key(&conn) {
            return Err(Silenced::NotIn);
        }
        match occupants.muted.get(&user) {
            Some(None) => Err(Silenced::Muted(None)),
            Some(Some(until)) if *until > now => Err(Silenced::Muted(Some(*until))),
            _ => Ok(()),
        }
    }

    /// Whether connection `conn` is in `room`.
    pub fn holds(&self, room: &str, conn: ConnId) -> bool {
        self.room(room).is_some_and(|handle| {
            handle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .conns
                .contains_key(&conn)
        })
    }

    /// Applies an access change to this node's connections of `room`: who
    /// it removes leaves (told to the room as any leave) and is told why;
    /// a mute is kept and told. Runs in the delivery task, in order with
    /// the room's events, so that what follows the change in the room
    /// reaches only those it left in. The connections it removed, for the
    /// other nodes' presence.
    fn apply(
        &self,
        occupants: &mut Occupants,
        handle: &SharedRoom,
        room: &str,
        change: &AccessChange,
    ) -> Vec<Evicted> {
        occupants.changed = self.epoch.fetch_add(1, Ordering::AcqRel) + 1;
        let (leaving, notice): (Vec<ConnId>, Notice) = match change {
            AccessChange::Removed {
                user_id,
                why,
                reason,
            } => (
                occupants.conns_of(*user_id),
                Notice::Removed {
                    room: room.to_owned(),
                    why: *why,
                    reason: reason.clone(),
                },
            ),
            AccessChange::RoomRemoved => (
                occupants.conns.keys().copied().collect(),
                Notice::RoomRemoved {
                    room: room.to_owned(),
                },
            ),
            AccessChange::Muted { user_id, until } => {
                if occupants.users.contains_key(user_id) {
                    occupants.muted.insert(*user_id, *until);
                }
                let notice = Arc::new(Notice::Muted {
                    room: room.to_owned(),
                    until: *until,
                });
                occupants.tell_user(*user_id, &notice);
                return Vec::new();
            }
            AccessChange::Unmuted { user_id } => {
                occupants.muted.remove(user_id);
                let notice = Arc::new(Notice::Unmuted {
                    room: room.to_owned(),
                });
                occupants.tell_user(*user_id, &notice);
                return Vec::new();
            }
            AccessChange::Topic { topic } => {
                let notice = Arc::new(Notice::Topic {
                    room: room.to_owned(),
                    topic: topic.clone(),
                });
                for member in occupants.conns.values() {
                    member.outbox.push(Outbound::Notice(notice.clone()));
                }
                return Vec::new();
            }
        };
        let notice = Arc::new(notice);
        let mut evicted = Vec::with_capacity(leaving.len());
        for conn in leaving {
            if let Some((member, connections_here)) = self.depart(occupants, handle, room, conn) {
                member.outbox.push(Outbound::Notice(notice.clone()));
                evicted.push(Evicted {
                    room: room.to_owned(),
                    member,
                    change: Change { connections_here },
                });
            }
        }
        evicted
    }

    /// Every user with a connection in a room here, with the room: what a
    /// node that may have missed access changes asks the store about.
    pub fn occupancies(&self) -> Vec<Occupancy> {
        let rooms = self.rooms.read().unwrap_or_else(PoisonError::into_inner);
        let mut all = Vec::new();
        for (name, handle) in rooms.iter() {
            let occupants = handle.lock().unwrap_or_else(PoisonError::into_inner);
            all.extend(occupants.users.keys().map(|user_id| Occupancy {
                room_id: occupants.room_id,
                room: name.clone(),
                user_id: *user_id,
            }));
        }
        all
    }

    /// Hands events (in order) to the connections of their rooms on this
    /// node: one lock and one queue push per room and member, not per event.
    /// Presence changes among them wait for the room's next tick, in order.
    ///
    /// Access changes are applied where they stand among the room's events;
    /// the connections they removed are returned.
    pub fn deliver_all(&self, events: Vec<Arc<Event>>) -> Vec<Evicted> {
        let mut by_room: Vec<(String, Vec<Arc<Event>>)> = Vec::new();
        for event in events {
            match by_room.iter_mut().find(|(room, _)| room == event.room()) {
                Some((_, list)) => list.push(event),
                None => by_room.push((event.room().to_owned(), vec![event])),
            }
        }
        let mut evicted = Vec::new();
        for (room, list) in by_room {
            // An access change is stamped on the room even where nobody is
            // in it yet: a join racing with it must see it (see `epoch`).
            let changes_access = list
                .iter()
                .any(|e| matches!(e.kind, RoomEvent::Access { .. }));
            let handle = match changes_access {
                true => self.room_or_insert(&room),
                false => match self.room(&room) {
                    Some(handle) => handle,
                    None => continue,
                },
            };
            let mut occupants = handle.lock().unwrap_or_else(PoisonError::into_inner);
            let mut run: Vec<Arc<Event>> = Vec::new();
            for event in list {
                if let RoomEvent::Access { change, .. } = &event.kind {
                    if !run.is_empty() {
                        occupants.tell(std::mem::take(&mut run));
                    }
                    evicted.extend(self.apply(&mut occupants, &handle, &room, change));
                    continue;
                }
                if event.kind.is_presence() {
                    if !run.is_empty() {
                        occupants.tell(std::mem::take(&mut run));
                    }
                    self.wait_to_tell(&mut occupants, &handle, event);
                } else {
                    run.push(event);
                }
            }
            if !run.is_empty() {
                occupants.tell(run);
            }
        }
        evicted
    }

    /// Who is online in `room`, sorted by name.
    pub fn presence(&self, room: &str) -> Vec<String> {
        self.room(room)
            .map(|m| m.lock().unwrap_or_else(PoisonError::into_inner).presence())
            .unwrap_or_default()
    }

    pub fn online_count(&self, room: &str) -> usize {
        self.room(room).map_or(0, |m| {
            m.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .presence()
                .len()
        })
    }

    /// Rooms with members on this node.
    pub fn occupied_rooms(&self) -> Vec<String> {
        let rooms = self.rooms.read().unwrap_or_else(PoisonError::into_inner);
        rooms
            .iter()
            .filter(|(_, m)| {
                !m.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .conns
                    .is_empty()
            })
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Replaces who is online in `room` on other nodes, and tells this
    /// node's members about everyone who came or went (unless they are here too).
    pub fn set_remote_presence(&self, room: &str, online: HashSet<String>) {
        let handle = self.room_or_insert(room);
        let mut occupants = handle.lock().unwrap_or_else(PoisonError::into_inner);
        let came: Vec<String> = online.difference(&occupants.remote).cloned().collect();
        let went: Vec<String> = occupants.remote.difference(&online).cloned().collect();
        occupants.remote = online;
        for (users, online) in [(came, true), (went, false)] {
            for user in users {
                if occupants.is_local(&user) {
                    continue;
                }
                let event = Arc::new(Event::new(RoomEvent::Presence {
                    room: room.to_owned(),
                    user,
                    online,
                }));
                self.wait_to_tell(&mut occupants, &handle, event);
            }
        }
    }
}
