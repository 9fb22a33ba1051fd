//! palaver: a self-hosted, multi-room, real-time chat server.
//!
//! # Layout
//! - `config`: flags and `PALAVER_*` environment variables.
//! - `app`: wires the parts together; `serve` starts a server (used by
//!   `main` and by the tests).
//! - `http_server`: accepts connections and serves them with hyper under
//!   the router: timeouts for heads and idle connections, limits on heads,
//!   a file-descriptor reserve.
//! - `client_addr`: who the client is, behind a trusted proxy too.
//! - `datadir`: the data directory, held by one server at a time, private.
//! - `error`: the one mapping from errors to HTTP responses.
//! - `origins`: which browser pages may use the server (CORS and WebSocket).
//! - `model`: the nouns every layer shares: validated input (`Username`,
//!   `RoomName`, `MessageText`), users, rooms, stored messages, `RoomEvent`.
//! - `auth`: accounts (register, login, who a token is), invite codes,
//!   argon2id passwords, JWT access tokens, token extraction from a request.
//! - `api`: thin HTTP handlers (users, rooms, history).
//! - `chat`: the core, behind `Chat`. `publisher` stores messages (group
//!   commit); `delivery` is the one way events (this node's and the bus's)
//!   reach this node's members, in room order (`sequencer`); `hub` knows who
//!   is in which room here and pushes to their bounded `outbox`es;
//!   `presence` batches joins and leaves per tick.
//! - `gateway`: one WebSocket connection: `reader` (frames in), `writer`
//!   (frames out), `compat` (the tutorial chapter's text frames), `v1`
//!   (palaver's JSON: commands, frames, handlers), `close` (codes).
//! - `store`: the `Store` trait, SQLite and PostgreSQL backends.
//! - `bus`: the `Bus` trait that carries events to the other nodes and
//!   hands theirs to the core as a stream; `LocalBus` for one node,
//!   `RedisBus` for many.
//! - `web`: the embedded browser client (files under `web/`).
//!
//! The load generator is its own crate, `palaver-bench`, in `bench/`.
//!
//! docs/architecture.md follows a message through these modules.

pub mod api;
pub mod app;
pub mod auth;
pub mod bus;
pub mod chat;
pub mod client_addr;
pub mod config;
pub mod datadir;
pub mod error;
#[cfg(test)]
mod fuzz;
pub mod gateway;
pub mod http_server;
pub mod model;
pub mod origins;
pub mod store;
pub mod web;

pub use app::{Server, serve};
pub use config::Config;
