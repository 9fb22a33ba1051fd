//! Who is in which room on this node, and delivery to them.
//!
//! Locks here are `std::sync` ones: they are never held across an `.await`,
//! and every operation under them is a handful of non-blocking queue pushes.
//! The room map is read-mostly (a room appears once); each room has its own
//! lock, so rooms never contend with each other.
//!
//! Joins and leaves are not told to a room one by one: when a big room fills,
//! that would be one queue push per member per join, O(members²). They wait
//! up to a presence tick (`--presence-tick`) and go out as one batch per member, with a `Roster`
//! event that sums the batch up for formats that can show it in one frame.
//! Anything else delivered to the room first sends what is waiting, so a
//! join is never told after something that followed it.

use super::event::{ConnId, Event, EventKind};
use super::outbox::{Outbound, Outbox};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;

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

type Room = Arc<Mutex<Members>>;

#[derive(Default)]
struct Members {
    conns: HashMap<ConnId, Member>,
    /// Connections per user: presence is per person, not per tab.
    users: HashMap<i64, (String, usize)>,
    /// Users online in this room on other nodes (kept by the bus).
    remote: HashSet<String>,
    /// Presence events not yet told to the room, in order.
    waiting: Vec<Arc<Event>>,
    /// Connections that joined while events were waiting, and how many of
    /// them came before: a newcomer is told only what followed its join.
    newcomers: HashMap<ConnId, u32>,
    /// Whether a timer will tell the waiting events.
    tick_armed: bool,
}

impl Members {
    /// Tells the room `event`, after whatever presence events are waiting.
    fn deliver(&mut self, event: &Arc<Event>) {
        self.tell_waiting();
        for member in self.conns.values() {
            member.outbox.push(Outbound::Event(event.clone()));
        }
    }

    /// Queues a presence event, to be told within `tick`; `room` is this
    /// room, for the timer.
    fn wait_to_tell(&mut self, event: Arc<Event>, room: &Room, tick: Duration) {
        self.waiting.push(event);
        if !self.tick_armed {
            self.tick_armed = true;
            let room = room.clone();
            tokio::spawn(async move {
                tokio::time::sleep(tick).await;
                let mut members = room.lock().unwrap_or_else(PoisonError::into_inner);
                members.tick_armed = false;
                members.tell_waiting();
            });
        }
    }

    /// Tells every member the waiting presence events as one queue entry.
    fn tell_waiting(&mut self) {
        if self.waiting.is_empty() {
            return;
        }
        let mut events = std::mem::take(&mut self.waiting);
        if let Some(roster) = summarize(&events) {
            events.push(Arc::new(Event::new(roster)));
        }
        let batch: Arc<[Arc<Event>]> = events.into();
        let newcomers = std::mem::take(&mut self.newcomers);
        for (conn, member) in &self.conns {
            let from = newcomers.get(conn).copied().unwrap_or(0);
            if (from as usize) < batch.len() {
                member.outbox.push(Outbound::Events {
                    events: batch.clone(),
                    from,
                });
            }
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

/// When two or more users came or went in `events`, marks those changes as
/// summed up and returns the `Roster` that sums them: who is online now that
/// was not before, and the reverse. A user who came and went cancels out.
fn summarize(events: &[Arc<Event>]) -> Option<EventKind> {
    // (user, online before the batch, online after it), in order of first change.
    let mut changes: Vec<(&str, bool, bool)> = Vec::new();
    let mut changed = Vec::new();
    for event in events {
        let (user, online) = match &event.kind {
            EventKind::Joined {
                user, first: true, ..
            } => (user, true),
            EventKind::Left {
                user, last: true, ..
            } => (user, false),
            EventKind::Presence { user, online, .. } => (user, *online),
            _ => continue,
        };
        changed.push(event);
        match changes
            .iter_mut()
            .find(|(name, _, _)| *name == user.as_str())
        {
            Some(change) => change.2 = online,
            None => changes.push((user, !online, online)),
        }
    }
    if changed.len() < 2 {
        return None;
    }
    for event in changed {
        event.mark_summarized();
    }
    let names = |before: bool, after: bool| {
        changes
            .iter()
            .filter(|(_, b, a)| *b == before && *a == after)
            .map(|(name, _, _)| (*name).to_owned())
            .collect()
    };
    let (joined, left): (Vec<String>, Vec<String>) = (names(false, true), names(true, false));
    if joined.is_empty() && left.is_empty() {
        return None;
    }
    Some(EventKind::Roster {
        room: events[0].room().to_owned(),
        joined,
        left,
    })
}

/// Who is online in a room at the moment a connection joins it.
pub struct Snapshot<'a>(&'a Members);

impl Snapshot<'_> {
    /// Sorted by name, the joiner included.
    pub fn names(&self) -> Vec<String> {
        self.0.presence()
    }
}

pub struct Hub {
    rooms: RwLock<HashMap<String, Room>>,
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

    fn room(&self, room: &str) -> Option<Room> {
        self.rooms
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(room)
            .cloned()
    }

    fn room_or_insert(&self, room: &str) -> Room {
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
        greeting: impl FnOnce(Snapshot<'_>) -> Vec<Outbound>,
    ) -> Option<Change> {
        let handle = self.room_or_insert(room);
        let mut members = handle.lock().unwrap_or_else(PoisonError::into_inner);
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
        for item in greeting(Snapshot(&members)) {
            outbox.push(item);
        }
        let event = Arc::new(Event::new(EventKind::Joined {
            room: room.to_owned(),
            user,
            user_id,
            conn,
            first,
        }));
        let before = u32::try_from(members.waiting.len()).unwrap_or(u32::MAX);
        if before > 0 {
            members.newcomers.insert(conn, before);
        }
        members.wait_to_tell(event.clone(), &handle, self.presence_tick);
        Some(Change { event, local_count })
    }

    /// Removes a connection from a room and tells those who stay.
    pub fn leave(&self, room: &str, conn: ConnId) -> Option<Change> {
        let handle = self.room(room)?;
        let mut members = handle.lock().unwrap_or_else(PoisonError::into_inner);
        let member = members.conns.remove(&conn)?;
        members.newcomers.remove(&conn);
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
        members.wait_to_tell(event.clone(), &handle, self.presence_tick);
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
        // Only published events (messages, typing) come this way; joins and
        // leaves go through `join`, `leave` and `deliver`.
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
            let mut members = members.lock().unwrap_or_else(PoisonError::into_inner);
            members.tell_waiting();
            for member in members.conns.values() {
                member.outbox.push(Outbound::Events {
                    events: batch.clone(),
                    from: 0,
                });
            }
        }
    }

    /// Hands an event to every connection in its room on this node
    /// (presence events after a short wait, with others).
    pub fn deliver(&self, event: Arc<Event>) {
        if let Some(handle) = self.room(event.room()) {
            let mut members = handle.lock().unwrap_or_else(PoisonError::into_inner);
            if event.kind.is_presence() {
                members.wait_to_tell(event, &handle, self.presence_tick);
            } else {
                members.deliver(&event);
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
        let handle = self.room_or_insert(room);
        let mut members = handle.lock().unwrap_or_else(PoisonError::into_inner);
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
                members.wait_to_tell(event, &handle, self.presence_tick);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(user: &str, first: bool) -> Arc<Event> {
        Arc::new(Event::new(EventKind::Joined {
            room: "r".into(),
            user: user.into(),
            user_id: 1,
            conn: 1,
            first,
        }))
    }

    fn left(user: &str, last: bool) -> Arc<Event> {
        Arc::new(Event::new(EventKind::Left {
            room: "r".into(),
            user: user.into(),
            user_id: 1,
            conn: 1,
            last,
        }))
    }

    fn roster(events: &[Arc<Event>]) -> Option<(Vec<String>, Vec<String>)> {
        match summarize(events)? {
            EventKind::Roster { joined, left, .. } => Some((joined, left)),
            other => panic!("not a roster: {other:?}"),
        }
    }

    #[test]
    fn one_change_is_left_alone() {
        let events = [joined("a", true), joined("a", false)];
        assert_eq!(roster(&events), None);
        assert!(!events[0].is_summarized());
    }

    #[test]
    fn several_changes_are_summed_up_in_order() {
        let events = [joined("b", true), joined("a", true), left("c", true)];
        let (j, l) = roster(&events).expect("a roster");
        assert_eq!((j, l), (vec!["b".into(), "a".into()], vec!["c".into()]));
        assert!(events.iter().all(|e| e.is_summarized()));
    }

    #[test]
    fn coming_and_going_cancels_out_and_second_tabs_do_not_count() {
        let events = [
            joined("a", true),
            joined("a", false),
            left("a", false),
            left("a", true),
            left("b", true),
            joined("b", true),
            joined("c", true),
        ];
        let (j, l) = roster(&events).expect("a roster");
        assert_eq!((j, l), (vec!["c".to_owned()], vec![]));
        assert!(!events[1].is_summarized() && !events[2].is_summarized());
    }

    #[test]
    fn changes_that_cancel_out_entirely_leave_nothing_to_show() {
        let events = [joined("a", true), left("a", true)];
        assert_eq!(roster(&events), None);
        assert!(events.iter().all(|e| e.is_summarized()));
    }
}
