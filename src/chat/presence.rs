//! Joins and leaves wait a little before they are told, and go out together.
//!
//! When a big room fills, telling each join on its own would cost one queue
//! push per member per join: O(members²). A room keeps its presence changes
//! for up to a presence tick (`--presence-tick`) and hands each member the
//! lot as one queue entry, with a `Roster` that sums the lot up for the
//! formats that can show it in one frame (v1 clients that ask for it).
//! Whatever else is delivered to the room first sends what is waiting, so a
//! join is never told after something that followed it.

use super::event::Event;
use crate::model::{ConnId, RoomEvent};
use std::collections::HashMap;
use std::sync::Arc;

/// A room's presence changes not told yet.
#[derive(Default)]
pub struct Pending {
    /// In the order they happened.
    waiting: Vec<Arc<Event>>,
    /// Connections that joined while changes were waiting, and how many of
    /// them came before: a newcomer is told only what followed its join.
    newcomers: HashMap<ConnId, u32>,
    /// Whether a timer will tell the waiting changes.
    pub tick_armed: bool,
}

/// What to hand every member: the changes, a roster last when there is one,
/// and per newcomer where its part begins.
pub struct Batch {
    pub events: Arc<[Arc<Event>]>,
    pub newcomers: HashMap<ConnId, u32>,
}

impl Pending {
    /// Keeps `event` to be told; true when no timer is armed yet (the
    /// caller arms one).
    pub fn push(&mut self, event: Arc<Event>) -> bool {
        self.waiting.push(event);
        !std::mem::replace(&mut self.tick_armed, true)
    }

    /// `conn` joins now: it must not be told what was waiting before.
    pub fn arrived(&mut self, conn: ConnId) {
        let before = u32::try_from(self.waiting.len()).unwrap_or(u32::MAX);
        if before > 0 {
            self.newcomers.insert(conn, before);
        }
    }

    pub fn departed(&mut self, conn: ConnId) {
        self.newcomers.remove(&conn);
    }

    /// Everything waiting, summed up where two or more users came or went.
    pub fn take(&mut self) -> Option<Batch> {
        if self.waiting.is_empty() {
            return None;
        }
        let mut events = std::mem::take(&mut self.waiting);
        if let Some(roster) = summarize(&events) {
            events.push(Arc::new(Event::new(roster)));
        }
        Some(Batch {
            events: events.into(),
            newcomers: std::mem::take(&mut self.newcomers),
        })
    }
}

/// When two or more users came or went in `events`, marks those changes as
/// summed up and returns the `Roster` that sums them: who is online now that
/// was not before, and the reverse. A user who came and went cancels out.
fn summarize(events: &[Arc<Event>]) -> Option<RoomEvent> {
    // (user, online before the batch, online after it), in order of first change.
    let mut changes: Vec<(&str, bool, bool)> = Vec::new();
    let mut changed = Vec::new();
    for event in events {
        let (user, online) = match &event.kind {
            RoomEvent::Joined {
                user, first: true, ..
            } => (user, true),
            RoomEvent::Left {
                user, last: true, ..
            } => (user, false),
            RoomEvent::Presence { user, online, .. } => (user, *online),
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
    Some(RoomEvent::Roster {
        room: events[0].room().to_owned(),
        joined,
        left,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(user: &str, first: bool) -> Arc<Event> {
        Arc::new(Event::new(RoomEvent::Joined {
            room: "r".into(),
            user: user.into(),
            user_id: 1,
            conn: 1,
            first,
        }))
    }

    fn left(user: &str, last: bool) -> Arc<Event> {
        Arc::new(Event::new(RoomEvent::Left {
            room: "r".into(),
            user: user.into(),
            user_id: 1,
            conn: 1,
            last,
        }))
    }

    fn roster(events: &[Arc<Event>]) -> Option<(Vec<String>, Vec<String>)> {
        match summarize(events)? {
            RoomEvent::Roster { joined, left, .. } => Some((joined, left)),
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

    #[test]
    fn a_newcomer_is_told_only_what_followed_its_arrival() {
        let mut pending = Pending::default();
        assert!(
            pending.push(joined("a", true)),
            "the first change arms a timer"
        );
        pending.arrived(7);
        assert!(!pending.push(joined("b", true)), "one timer is enough");
        pending.arrived(8);
        pending.departed(8);
        let batch = pending.take().expect("a batch");
        assert_eq!(batch.events.len(), 3, "two joins and their roster");
        assert_eq!(batch.newcomers, HashMap::from([(7, 1)]));
        assert!(pending.take().is_none());
    }
}
