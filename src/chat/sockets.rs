//! Which open connections belong to which user and login session: ending a
//! session (logout, password change, a copied refresh token, a disabled
//! account) closes its sockets on this node at once, and on the others
//! through the bus; a user added to a room is told on every socket.
//!
//! The core knows no close codes: a connection registers something that can
//! end it (the gateway's closer) and picks the code itself.

use super::notice::Notice;
use super::outbox::{Outbound, Outbox};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

/// What a connection registers to be told that its session ended.
pub trait SessionEnd: Send + Sync {
    fn session_ended(&self);
}

struct Socket {
    session: i64,
    end: Weak<dyn SessionEnd>,
    /// Where the user's notices go; `None` for a protocol that shows none.
    notices: Option<Outbox>,
}

/// One connection, as it registers.
pub struct Watch {
    pub user: i64,
    pub session: i64,
    /// Also what tells this connection from the user's others.
    pub end: Weak<dyn SessionEnd>,
    pub notices: Option<Outbox>,
}

#[derive(Default)]
pub struct LiveSockets {
    /// By user: sessions are ended a few at a time and rarely, while a
    /// user's notices are told to all of their sockets at once.
    users: Mutex<HashMap<i64, Vec<Socket>>>,
}

impl LiveSockets {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Vec<Socket>>> {
        self.users.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn watch(&self, watch: Watch) {
        let socket = Socket {
            session: watch.session,
            end: watch.end,
            notices: watch.notices,
        };
        self.lock().entry(watch.user).or_default().push(socket);
    }

    /// Forgets a connection that closed. Explicit rather than a guard's
    /// drop: a guard would add its bytes to every idle connection.
    pub fn unwatch(&self, user: i64, end: &Weak<dyn SessionEnd>) {
        let mut users = self.lock();
        if let Some(list) = users.get_mut(&user) {
            list.retain(|s| !Weak::ptr_eq(&s.end, end));
            if list.is_empty() {
                users.remove(&user);
            }
        }
    }

    /// The sessions with a connection on this node.
    pub fn watched(&self) -> Vec<i64> {
        let mut sessions: Vec<i64> = self.lock().values().flatten().map(|s| s.session).collect();
        sessions.sort_unstable();
        sessions.dedup();
        sessions
    }

    /// Ends this node's connections of `sessions`; how many there were.
    pub fn end(&self, sessions: &[i64]) -> usize {
        // Collected first: a connection's end must not run under the lock.
        let ending: Vec<Arc<dyn SessionEnd>> = {
            let users = self.lock();
            users
                .values()
                .flatten()
                .filter(|s| sessions.contains(&s.session))
                .filter_map(|s| s.end.upgrade())
                .collect()
        };
        for end in &ending {
            end.session_ended();
        }
        ending.len()
    }

    /// Tells `users`' sockets on this node `notice`; how many were told.
    pub fn tell(&self, users: &[i64], notice: &Arc<Notice>) -> usize {
        let users_here = self.lock();
        let mut told = 0;
        for socket in users.iter().filter_map(|u| users_here.get(u)).flatten() {
            if let Some(outbox) = &socket.notices {
                outbox.push(Outbound::Notice(notice.clone()));
                told += 1;
            }
        }
        told
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

    /// A connection of user `user`, in `session`.
    fn watch(live: &LiveSockets, session: i64, user: i64, flag: &Arc<Flag>) {
        live.watch(Watch {
            user,
            session,
            end: weak(flag),
            notices: None,
        });
    }

    #[test]
    fn ending_a_session_reaches_its_connections_only() {
        let live = LiveSockets::default();
        let (a, b, other) = (Arc::default(), Arc::default(), Arc::default());
        watch(&live, 1, 1, &a);
        watch(&live, 1, 1, &b);
        watch(&live, 2, 1, &other);
        assert_eq!(live.end(&[1, 3]), 2);
        assert!(a.0.load(Ordering::SeqCst) && b.0.load(Ordering::SeqCst));
        assert!(!other.0.load(Ordering::SeqCst));
    }

    #[test]
    fn a_closed_connection_leaves_nothing_behind() {
        let live = LiveSockets::default();
        let (flag, other) = (Arc::default(), Arc::default());
        watch(&live, 1, 1, &flag);
        watch(&live, 1, 1, &other);
        live.unwatch(1, &weak(&flag));
        assert_eq!(live.end(&[1]), 1, "the other one is still there");
        live.unwatch(1, &weak(&other));
        assert!(live.lock().is_empty());
        assert_eq!(live.end(&[1]), 0);
    }
}
