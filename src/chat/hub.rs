//! Who is in which room on this node, and delivery to them.
//!
//! Locks here are `std::sync` ones: they are never held across an `.await`,
//! and every operation under them is a handful of non-blocking queue pushes.
//! The room map is read-mostly (a room appears once); each room has its own
//! lock, so rooms never contend with each other.

use super::event::{ConnId, Event, EventKind};
use super::outbox::{Outbound, Outbox};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

/// A join or leave, for the bus to tell other nodes.
pub struct Change {
    pub event: Arc<Event>,
    /// The user's connections in the room on this node, after the change.
    pub local_count: usize,
}

pub struct Member {
    pub user_id: i64,
    pub username: String,
    pub outbox: Outbox,
}

#[derive(Default)]
struct Members {
    conns: HashMap<ConnId, Member>,
    /// Connections per user: presence is per person, not per tab.
    users: HashMap<i64, (String, usize)>,
    /// Users online in this room on other nodes (kept by the bus).
    remote: HashSet<String>,
}

impl Members {
    fn deliver(&self, event: &Arc<Event>) {
        for member in self.conns.values() {
            member.outbox.push(Outbound::Event(event.clone()));
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

#[derive(Default)]
pub struct Hub {
    rooms: RwLock<HashMap<String, Arc<Mutex<Members>>>>,
}

impl Hub {
    fn room(&self, room: &str) -> Option<Arc<Mutex<Members>>> {
        self.rooms
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(room)
            .cloned()
    }

    fn room_or_insert(&self, room: &str) -> Arc<Mutex<Members>> {
        if let Some(members) = self.room(room) {
            return members;
        }
        self.rooms
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(room.to_owned())
            .or_default()
            .clone()
    }

    /// Adds a connection to a room and tells the room. `greeting` is built
    /// from who is online now (the joiner included) and queued to the joiner
    /// before any event of the room, so a snapshot is never older than what follows it.
    pub fn join(
        &self,
        room: &str,
        conn: ConnId,
        member: Member,
        greeting: impl FnOnce(Vec<String>) -> Vec<Outbound>,
    ) -> Option<Change> {
        let members = self.room_or_insert(room);
        let mut members = members.lock().unwrap_or_else(PoisonError::into_inner);
        if members.conns.contains_key(&conn) {
            return None;
        }
        let (user_id, user) = (member.user_id, member.username.clone());
        let count = &mut members
            .users
            .entry(user_id)
            .or_insert_with(|| (user.clone(), 0))
            .1;
        *count += 1;
        let local_count = *count;
        let first = *count == 1 && !members.remote.contains(&user);
        let outbox = member.outbox.clone();
        members.conns.insert(conn, member);
        for item in greeting(members.presence()) {
            outbox.push(item);
        }
        let event = Arc::new(Event::new(EventKind::Joined {
            room: room.to_owned(),
            user,
            user_id,
            conn,
            first,
        }));
        members.deliver(&event);
        Some(Change { event, local_count })
    }

    /// Removes a connection from a room and tells those who stay.
    pub fn leave(&self, room: &str, conn: ConnId) -> Option<Change> {
        let members = self.room(room)?;
        let mut members = members.lock().unwrap_or_else(PoisonError::into_inner);
        let member = members.conns.remove(&conn)?;
        let local_count = match members.users.get_mut(&member.user_id) {
            Some(entry) if entry.1 > 1 => {
                entry.1 -= 1;
                entry.1
            }
            _ => {
                members.users.remove(&member.user_id);
                0
            }
        };
        let last = local_count == 0;
        let last = last && !members.remote.contains(&member.username);
        let event = Arc::new(Event::new(EventKind::Left {
            room: room.to_owned(),
            user: member.username,
            user_id: member.user_id,
            conn,
            last,
        }));
        members.deliver(&event);
        Some(Change { event, local_count })
    }

    /// Every (room, user, connections) on this node.
    pub fn local_presence(&self) -> Vec<(String, String, usize)> {
        let rooms = self.rooms.read().unwrap_or_else(PoisonError::into_inner);
        let mut out = Vec::new();
        for (room, members) in rooms.iter() {
            let members = members.lock().unwrap_or_else(PoisonError::into_inner);
            for (name, count) in members.users.values() {
                out.push((room.clone(), name.clone(), *count));
            }
        }
        out
    }

    /// Hands events (in order) to the connections of their rooms on this
    /// node: one lock and one queue push per room and member, not per event.
    pub fn deliver_all(&self, events: Vec<Arc<Event>>) {
        if let [event] = events.as_slice() {
            return self.deliver(event.clone());
        }
        let mut by_room: Vec<(String, Vec<Arc<Event>>)> = Vec::new();
        for event in events {
            match by_room.iter_mut().find(|(room, _)| room == event.room()) {
                Some((_, list)) => list.push(event),
                None => by_room.push((event.room().to_owned(), vec![event])),
            }
        }
        for (room, list) in by_room {
            let Some(members) = self.room(&room) else {
                continue;
            };
            let batch: Arc<[Arc<Event>]> = list.into();
            let members = members.lock().unwrap_or_else(PoisonError::into_inner);
            for member in members.conns.values() {
                member.outbox.push(Outbound::Events(batch.clone()));
            }
        }
    }

    /// Hands an event to every connection in its room on this node.
    pub fn deliver(&self, event: Arc<Event>) {
        if let Some(members) = self.room(event.room()) {
            members
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .deliver(&event);
        }
    }

    /// Who is online in `room`, sorted by name.
    pub fn presence(&self, room: &str) -> Vec<String> {
        self.room(room)
            .map(|m| m.lock().unwrap_or_else(PoisonError::into_inner).presence())
            .unwrap_or_default()
    }

    pub fn online_count(&self, room: &str) -> usize {
        self.room(room)
            .map(|m| {
                m.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .presence()
                    .len()
            })
            .unwrap_or(0)
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
        let members = self.room_or_insert(room);
        let mut members = members.lock().unwrap_or_else(PoisonError::into_inner);
        let came: Vec<String> = online.difference(&members.remote).cloned().collect();
        let went: Vec<String> = members.remote.difference(&online).cloned().collect();
        members.remote = online;
        for (users, online) in [(came, true), (went, false)] {
            for user in users {
                if members.is_local(&user) {
                    continue;
                }
                let event = Arc::new(Event::new(EventKind::Presence {
                    room: room.to_owned(),
                    user,
                    online,
                }));
                members.deliver(&event);
            }
        }
    }
}
