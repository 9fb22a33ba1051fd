//! palaver: a self-hosted, multi-room, real-time chat server.
//!
//! # Layout
//! - `config`: flags and `PALAVER_*` environment variables.
//! - `app`: wires the parts together; `serve` starts a server (used by
//!   `main` and by the tests).
//! - `error`: the one mapping from errors to HTTP responses.
//! - `auth`: argon2id passwords, JWT access tokens, token extraction.
//! - `api`: thin HTTP handlers (users, rooms, history).
//! - `chat`: the core. `publisher` stores messages (group commit) and then
//!   publishes them; `hub` knows who is in which room on this node and
//!   delivers to their bounded outboxes; `event` encodes once per format.
//! - `gateway`: one WebSocket connection: `session` (reader + writer),
//!   `compat` (the tutorial chapter's text frames), `v1` (palaver's JSON).
//! - `store`: the `Store` trait and its SQLite backend.
//! - `bus`: the `Bus` trait that carries events to every node; `local` for one.
//! - `web`: the embedded browser client (files under `web/`).
//!
//! The load generator (`palaver bench`) is the workspace member
//! `palaver-bench` in `bench/`; it talks to the server only over the wire.
//!
//! docs/architecture.md follows a message through these modules.

pub mod api;
pub mod app;
pub mod auth;
pub mod bus;
pub mod chat;
pub mod config;
pub mod error;
pub mod gateway;
pub mod store;
pub mod web;

pub use app::{Server, serve};
pub use config::Config;
