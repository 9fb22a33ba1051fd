//! File descriptors, counted against the process's limit: every socket is
//! one, and a server out of them can answer nobody, not even `/healthz`.
//!
//! WebSockets hold theirs for as long as a user stays; plain requests give
//! theirs back in milliseconds. So WebSockets may take the limit less a
//! reserve, and the reserve is left to plain requests (and to the store's
//! and the bus's own connections, and the files the process keeps open):
//! past `limit - reserve` open sockets, an upgrade is answered 503 and a new
//! connection serves one request and closes. Should even the reserve run out
//! (a flood of connections that never send a request, until the header
//! timeout clears them), the accept loop answers with a spare descriptor
//! (see `super::serve`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Descriptors kept from WebSockets, at most; a quarter of a limit below
/// 1,024. The store's pools (9 SQLite connections of up to three files each,
/// or 16 PostgreSQL ones), the bus and the process's own files use a few
/// dozen.
pub const RESERVE: u64 = 256;

#[derive(Debug)]
pub struct FdBudget {
    /// Accepted sockets not yet closed, HTTP and WebSocket alike.
    open: AtomicUsize,
    /// Open sockets past which no WebSocket is let in.
    websocket_limit: usize,
}

impl FdBudget {
    /// The budget for a process that may hold `file_limit` descriptors.
    pub fn new(file_limit: u64) -> Self {
        let reserve = RESERVE.min(file_limit / 4);
        let websocket_limit =
            usize::try_from(file_limit.saturating_sub(reserve)).unwrap_or(usize::MAX);
        Self {
            open: AtomicUsize::new(0),
            websocket_limit,
        }
    }

    /// The budget under this process's soft limit on open files (which
    /// `main` raised to the hard one).
    pub fn of_this_process() -> Self {
        Self::new(file_limit())
    }

    pub fn websocket_limit(&self) -> usize {
        self.websocket_limit
    }

    /// Counts a socket in, for as long as the `Place` lives; and how many
    /// are open with it.
    pub fn take(self: &Arc<Self>) -> (Place, usize) {
        let open = self.open.fetch_add(1, Ordering::Relaxed) + 1;
        (Place(self.clone()), open)
    }

    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// Whether `open` sockets leave no room for another WebSocket.
    pub fn over_websocket_limit(&self, open: usize) -> bool {
        open > self.websocket_limit
    }
}

/// One socket's place in the budget, given back when the socket goes.
pub struct Place(Arc<FdBudget>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(unix)]
fn file_limit() -> u64 {
    rlimit::Resource::NOFILE
        .get()
        .map_or(1024, |(soft, _hard)| soft)
}

#[cfg(not(unix))]
fn file_limit() -> u64 {
    u64::MAX
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reserve_is_kept_from_websockets() {
        assert_eq!(FdBudget::new(1_048_576).websocket_limit(), 1_048_320);
        assert_eq!(FdBudget::new(4_096).websocket_limit(), 3_840);
        // Small limits keep a quarter.
        assert_eq!(FdBudget::new(256).websocket_limit(), 192);
        assert_eq!(FdBudget::new(u64::MAX).websocket_limit(), usize::MAX - 256);
        let budget = FdBudget::new(8);
        assert!(!budget.over_websocket_limit(6));
        assert!(budget.over_websocket_limit(7));
    }
}
