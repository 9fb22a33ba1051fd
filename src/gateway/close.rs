//! WebSocket close codes palaver sends, in one place (see docs/protocol.md).

pub use crate::chat::outbox::CLOSE_SLOW_CONSUMER as SLOW_CONSUMER;

/// The server is shutting down; reconnect later.
pub const GOING_AWAY: u16 = 1001;
/// A binary frame: palaver speaks text only.
pub const UNSUPPORTED_DATA: u16 = 1003;
/// Unknown room on `/ws/{room}`, a compat socket without a room, or a v1
/// client that keeps sending bad commands.
pub const POLICY_VIOLATION: u16 = 1008;
/// A frame or message larger than the configured limit.
pub const TOO_BIG: u16 = 1009;
