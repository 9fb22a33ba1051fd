//! WebSocket close codes palaver sends, in one place (see docs/protocol.md),
//! and the `Closer` through which any part of a connection asks its writer
//! to close with one.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU16, Ordering};
use tokio::sync::Notify;

/// The server is shutting down; reconnect later.
pub const GOING_AWAY: u16 = 1001;
/// A frame that breaks RFC 6455 (reserved bits or opcodes, an unmasked
/// frame, a fragmented or oversized control frame, a lost fragment).
pub const PROTOCOL_ERROR: u16 = 1002;
/// A binary frame: palaver speaks text only.
pub const UNSUPPORTED_DATA: u16 = 1003;
/// A text frame that is not valid UTF-8.
pub const INVALID_DATA: u16 = 1007;
/// Unknown room on `/ws/{room}`, a compat socket without a room, or a v1
/// client that keeps sending bad commands.
pub const POLICY_VIOLATION: u16 = 1008;
/// A frame or message larger than the configured limit.
pub const TOO_BIG: u16 = 1009;
/// The server could not do what the connection needed (its store failed):
/// try again.
pub const INTERNAL: u16 = 1011;
/// The connection's outbound queue overflowed: reconnect and resume.
pub const SLOW_CONSUMER: u16 = 4000;
/// The login session ended (logout, password change, a copied refresh
/// token), or the connection's access token expired without an `auth`:
/// log in (or refresh) before reconnecting.
pub const SESSION: u16 = 4001;
pub const SESSION_ENDED: &str = "session ended";
/// The chapter protocol's socket was removed from its room: kicked, banned,
/// or its user left the room elsewhere.
pub const REMOVED: u16 = 4003;
/// The chapter protocol's room was deleted.
pub const ROOM_DELETED: u16 = 4004;
pub const TOKEN_EXPIRED: &str = "token expired";

/// The chat core tells a connection its session ended through its closer.
impl crate::chat::sockets::SessionEnd for Closer {
    fn session_ended(&self) {
        self.close(SESSION, SESSION_ENDED);
    }
}

/// Asks the connection's writer to close, once, with a code and a reason.
#[derive(Default)]
pub struct Closer {
    code: AtomicU16,
    reason: OnceLock<&'static str>,
    notify: Notify,
}

impl Closer {
    /// The first call wins; later ones are ignored.
    pub fn close(&self, code: u16, reason: &'static str) {
        if self.reason.set(reason).is_ok() {
            self.code.store(code, Ordering::Release);
            self.notify.notify_one();
        }
    }

    /// Waits until `close` was called and returns its code and reason.
    pub async fn closed(&self) -> (u16, &'static str) {
        loop {
            let code = self.code.load(Ordering::Acquire);
            if code != 0 {
                return (code, self.reason.get().copied().unwrap_or_default());
            }
            self.notify.notified().await;
        }
    }
}
