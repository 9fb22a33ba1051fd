//! Which open connections belong to which login session, so that ending a
//! session (logout, password change, a copied refresh token) closes its
//! sockets on this node at once, and on the others through the bus.
//!
//! The core knows no close codes: a connection registers something that can
//! end it (the gateway's closer) and picks the code itself.

use crate::model::ConnId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

/// What a connection registers to be told that its session ended.
pub trait SessionEnd: Send + Sync {
    fn session_ended(&self);
}

type Sockets = Vec<(ConnId, Weak<dyn SessionEnd>)>;

#[derive(Default)]
pub struct LiveSessions {
    sockets: Mutex<HashMap<i64, Sockets>>,
}

impl LiveSessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Sockets>> {
        self.sockets.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn watch(&self, session: i64, conn: ConnId, end: Weak<dyn SessionEnd>) {
        self.lock().entry(session).or_default().push((conn, end));
    }

    /// Forgets a connection that closed. Explicit rather than a guard's
    /// drop: a guard would add its bytes to every idle connection.
    pub fn unwatch(&self, session: i64, conn: ConnId) {
        let mut sockets = self.lock();
        if let Some(list) = sockets.get_mut(&session) {
            list.retain(|(c, _)| *c != conn);
            if list.is_empty() {
                sockets.remove(&session);
            }
        }
    }

    /// The sessions with a connection on this node.
    pub fn watched(&self) -> Vec<i64> {
        self.lock().keys().copied().collect()
    }

    /// Ends this node's connections of `sessions`; how many there were.
    pub fn end(&self, sessions: &[i64]) -> usize {
        // Collected first: a connection's end must not run under the lock.
        let ending: Vec<Arc<dyn SessionEnd>> = {
            let sockets = self.lock();
            sessions
                .iter()
                .filter_map(|s| sockets.get(s))
                .flatten()
                .filter_map(|(_, end)| end.upgrade())
                .collect()
        };
        for end in &ending {
            end.session_ended();
        }
        ending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::atomic::{AtomicBool, Ordering};

    #[derive(Default)]
    struct Flag(AtomicBool);

    impl SessionEnd for Flag {
        fn session_ended(&self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    fn weak(flag: &Arc<Flag>) -> Weak<dyn SessionEnd> {
        let as_end: Arc<dyn SessionEnd> = flag.clone();
        Arc::downgrade(&as_end)
    }

    #[test]
    fn ending_a_session_reaches_its_connections_only() {
        let live = LiveSessions::default();
        let (a, b, other) = (Arc::default(), Arc::default(), Arc::default());
        live.watch(1, 10, weak(&a));
        live.watch(1, 11, weak(&b));
        live.watch(2, 12, weak(&other));
        assert_eq!(live.end(&[1, 3]), 2);
        assert!(a.0.load(Ordering::SeqCst) && b.0.load(Ordering::SeqCst));
        assert!(!other.0.load(Ordering::SeqCst));
    }

    #[test]
    fn a_closed_connection_leaves_nothing_behind() {
        let live = LiveSessions::default();
        let (flag, other) = (Arc::default(), Arc::default());
        live.watch(1, 10, weak(&flag));
        live.watch(1, 11, weak(&other));
        live.unwatch(1, 10);
        assert_eq!(live.end(&[1]), 1, "the other one is still there");
        live.unwatch(1, 11);
        assert!(live.lock().is_empty());
        assert_eq!(live.end(&[1]), 0);
    }
}
