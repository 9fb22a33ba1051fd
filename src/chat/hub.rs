//! Who is in which room on this node, and delivery to them.
//!
//! Locks here are `std::sync` ones: they are never held across an `.await`,
//! and every operation under them is a handful of non-blocking queue pushes.
//! The room map is read-mostly (a room appears once); each room has its own
//! lock, so rooms never contend with each other. Presence changes are told
//! in batches (see `presence`).

use super::event::Event;
use super::outbox::{Outbound, Outbox};
use super::presence::{Batch, Pending};
use crate::model::{ConnId, RoomEvent};
use std::collections::{BTreeSet, HashMap, HashSet};
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
}

pub struct Hub {
    rooms: RwLock<HashMap<String, SharedRoom>>,
    /// How long a join or leave may wait to be told with others.
    presence_tick: Duration,
}

impl Hub {
    pub fn new(presence_tick: Duration) -> Self {
        Self {
            rooms: RwLock::default(),
            presence_tick,
        }
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
    pub fn join(
        &self,
        room: &str,
        conn: ConnId,
        member: Member,
        greeting: impl FnOnce(Vec<String>) -> Vec<Outbound>,
    ) -> Option<Change> {
        let handle = self.room_or_insert(room);
        let mut occupants = handle.lock().unwrap_or_else(PoisonError::into_inner);
        if occupants.conns.contains_key(&conn) {
            return None;
        }
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
        Some(Change { connections_here })
    }

    /// Removes a connection from a room and tells those who stay.
    pub fn leave(&self, room: &str, conn: ConnId) -> Option<(Change, Member)> {
        let handle = self.room(room)?;
        let mut occupants = handle.lock().unwrap_or_else(PoisonError::into_inner);
        let member = occupants.conns.remove(&conn)?;
        occupants.pending.departed(conn);
        let connections_here = match occupants.users.get_mut(&member.user_id) {
            Some(entry) if entry.1 > 1 => {
                entry.1 -= 1;
                entry.1
            }
            _ => {
                occupants.users.remove(&member.user_id);
                0
            }
        };
        let last = connections_here == 0 && !occupants.remote.contains(&member.username);
        let event = Arc::new(Event::new(RoomEvent::Left {
            room: room.to_owned(),
            user: member.username.clone(),
            user_id: member.user_id,
            conn,
            last,
        }));
        self.wait_to_tell(&mut occupants, &handle, event);
        Some((Change { connections_here }, member))
    }

    /// Hands events (in order) to the connections of their rooms on this
    /// node: one lock and one queue push per room and member, not per event.
    /// Presence changes among them wait for the room's next tick, in order.
    pub fn deliver_all(&self, events: Vec<Arc<Event>>) {
        let mut by_room: Vec<(String, Vec<Arc<Event>>)> = Vec::new();
        for event in events {
            match by_room.iter_mut().find(|(room, _)| room == event.room()) {
                Some((_, list)) => list.push(event),
                None => by_room.push((event.room().to_owned(), vec![event])),
            }
        }
        for (room, list) in by_room {
            let Some(handle) = self.room(&room) else {
                continue;
            };
            let mut occupants = handle.lock().unwrap_or_else(PoisonError::into_inner);
            let mut run: Vec<Arc<Event>> = Vec::new();
            for event in list {
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
