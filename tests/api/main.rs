//! palaver from the outside: each module starts real servers (port 0, a
//! temporary data dir) and talks to them as a user's client does.
//!
//! One binary, so the suite links once. `TEST_LOG=1` shows the servers' logs
//! with a failing test (`RUST_LOG` picks what); tests that need PostgreSQL
//! and Redis are ignored unless run with `--include-ignored`, and then fail
//! without them (see `cluster`).

// A test that cannot unwrap what it set up has failed: that is what these panics say.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod abuse;
mod access;
mod admin_cli;
#[cfg(unix)]
mod bench_cli;
mod cluster;
mod compat_ws;
mod data_dir;
mod edits;
mod faults;
// The inputs of the library's `fuzz` property tests, shared with `fuzz_sockets`.
#[path = "../../src/fuzz.rs"]
#[allow(dead_code)]
mod fuzz;
mod fuzz_sockets;
mod helpers;
mod hostile_input;
mod http_api;
mod layering;
mod moderation;
mod origins;
mod presence;
mod rates;
mod registration;
mod sessions;
mod slow_readers;
mod timeouts;
mod v1_ws;
