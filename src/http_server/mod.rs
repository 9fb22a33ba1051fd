//! The HTTP server: accepts connections and serves each with hyper's HTTP/1
//! and the router, within bounds that a client cannot stretch (axum's
//! `serve` has none of them):
//!
//! - `connection`: one connection, the peer's address on each request, and
//!   its timeouts (for a head, for idleness, for the switch to WebSocket);
//! - `io`: its socket, watched; `head`: limits on a request's head,
//!   answered in JSON before hyper would answer them bare;
//! - `budget`: file descriptors, with a reserve that WebSockets cannot take.
//!
//! Here: the accept loop, which survives running out of descriptors, and
//! the graceful stop.

mod budget;
mod connection;
mod head;
mod io;

pub use budget::FdBudget;
pub use head::{MAX_HEAD, MAX_HEADERS, MAX_REQUEST_LINE};

use crate::error::ApiError;
use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use connection::Shared;
use futures_util::FutureExt;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long a stopping server lets requests in hand finish.
const DRAIN: Duration = Duration::from_secs(5);
/// Waits between tries to accept while out of descriptors with no spare.
const MIN_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// Says "out of descriptors" at most this often.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// What a refused upgrade, and a connection accepted with the spare
/// descriptor, are told.
pub const AT_LIMIT: &str = "The server is at its connection limit; try again later";

/// The timeouts, in milliseconds (what the connection's stamps count);
/// `None`: off.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    header_timeout: Option<u64>,
    idle_timeout: Option<u64>,
}

impl Settings {
    /// A zero duration turns its timeout off.
    pub fn new(header_timeout: Duration, idle_timeout: Duration) -> Self {
        let millis =
            |d: Duration| (!d.is_zero()).then(|| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Self {
            header_timeout: millis(header_timeout),
            idle_timeout: millis(idle_timeout),
        }
    }
}

/// Serves `router` on `listener` until `stop` is cancelled, then lets the
/// requests in hand finish (for `DRAIN` at most) and returns once every
/// connection is closed or upgraded, so that nothing holds the router any
/// more. WebSockets are not connections here once upgraded: their sessions
/// watch `stop` themselves.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: Settings,
    stop: CancellationToken,
) {
    let budget = Arc::new(FdBudget::of_this_process());
    tracing::debug!(
        websocket_limit = budget.websocket_limit(),
        "file descriptors budgeted"
    );
    let shared = Arc::new(Shared {
        router,
        settings,
        budget,
        finish: stop.clone(),
        abort: CancellationToken::new(),
    });
    let connections = TaskTracker::new();
    let mut spare = Spare::reserve();
    let mut backoff = MIN_BACKOFF;
    let mut warned: Option<Instant> = None;
    loop {
        // A descriptor freed while the spare was lost goes to the spare
        // first: taken by an ordinary accept, it would leave the next
        // knock at the limit unanswered until its header timeout.
        spare.restore();
        let accepted = tokio::select! {
            biased;
            () = stop.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let err = match accepted {
            Ok((tcp, peer)) => {
                backoff = MIN_BACKOFF;
                connections.spawn(connection::serve(tcp, peer, shared.clone()));
                continue;
            }
            Err(err) => err,
        };
        match AcceptError::of(&err) {
            // That one client's loss; the next may be fine.
            AcceptError::Connection => continue,
            AcceptError::OutOfFiles => {
                if warned.is_none_or(|at| at.elapsed() >= WARN_EVERY) {
                    tracing::warn!(
                        error = %err,
                        "out of file descriptors: new connections are refused until some close"
                    );
                    warned = Some(Instant::now());
                }
                // Without this the listener stays readable and every
                // accept fails at once: a loop that spins and serves nobody.
                if spare.refuse_one(&listener) {
                    continue;
                }
            }
            AcceptError::Other => tracing::warn!(error = %err, "cannot accept a connection"),
        }
        tokio::select! {
            () = stop.cancelled() => break,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
    // Free the port at once: a restarted server may want it.
    drop(listener);
    connections.close();
    if tokio::time::timeout(DRAIN, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            "some HTTP requests did not finish in time; dropping them"
        );
        shared.abort.cancel();
        connections.wait().await;
    }
}

enum AcceptError {
    /// About one connection only (it was reset before we took it, ...).
    Connection,
    /// The process or the system has no descriptor left.
    OutOfFiles,
    Other,
}

impl AcceptError {
    fn of(err: &std::io::Error) -> Self {
        use std::io::ErrorKind;
        if matches!(
            err.kind(),
            ErrorKind::ConnectionAborted
                | ErrorKind::ConnectionReset
                | ErrorKind::ConnectionRefused
                | ErrorKind::Interrupted
        ) {
            return Self::Connection;
        }
        #[cfg(unix)]
        if let Some(code) = err.raw_os_error() {
            // accept(2): these network errors belong to the pending
            // connection, and the call should be retried.
            if [
                libc::EPROTO,
                libc::EPERM,
                libc::ENETDOWN,
                libc::ENETUNREACH,
                libc::EHOSTDOWN,
                libc::EHOSTUNREACH,
                libc::ENOPROTOOPT,
                libc::EOPNOTSUPP,
            ]
            .contains(&code)
            {
                return Self::Connection;
            }
            if code == libc::EMFILE || code == libc::ENFILE {
                return Self::OutOfFiles;
            }
        }
        Self::Other
    }
}

/// One descriptor held back (on `/dev/null`) for when there is none left:
/// given up, it lets the loop accept the connection that waits, answer it
/// 503 and close it, so that the client hears why and the listener stops
/// being readable; then it is taken back.
struct Spare(Option<std::fs::File>);

impl Spare {
    fn reserve() -> Self {
        Self(open_spare())
    }

    /// Takes the spare back if it was lost (cheap when it is held).
    fn restore(&mut self) {
        if self.0.is_none() {
            self.0 = open_spare();
        }
    }

    /// Whether a waiting connection was taken and refused.
    fn refuse_one(&mut self, listener: &TcpListener) -> bool {
        // Taking it back failed last time; sockets may have closed since.
        self.restore();
        let Some(file) = self.0.take() else {
            return false;
        };
        drop(file);
        let refused = match listener.accept().now_or_never() {
            Some(Ok((tcp, _))) => {
                refuse_at_limit(tcp);
                true
            }
            _ => false,
        };
        self.0 = open_spare();
        refused
    }
}

#[cfg(unix)]
fn open_spare() -> Option<std::fs::File> {
    std::fs::File::open("/dev/null").ok()
}

#[cfg(not(unix))]
fn open_spare() -> Option<std::fs::File> {
    None
}

static AT_LIMIT_ANSWER: LazyLock<Vec<u8>> =
    LazyLock::new(|| raw_answer(StatusCode::SERVICE_UNAVAILABLE, AT_LIMIT.into()));

/// Answers a connection the server has no room for, and closes it.
fn refuse_at_limit(tcp: tokio::net::TcpStream) {
    use std::io::{Read, Write};
    // A plain non-blocking socket: one write and one read, no waiting.
    let Ok(mut tcp) = tcp.into_std() else {
        return;
    };
    let _ = tcp.write(&AT_LIMIT_ANSWER);
    // What the client sent already is read, so that closing sends a FIN
    // and not a reset, which could discard the answer before it is read.
    let mut scratch = [0u8; 4096];
    let _ = tcp.read(&mut scratch);
}

/// An `ApiError` as the bytes of a complete HTTP/1.1 response that closes
/// the connection, for answers written below hyper (where no response
/// pipeline runs), in the shape of every other error.
fn raw_answer(status: StatusCode, detail: String) -> Vec<u8> {
    let response = ApiError::Rejected(status, detail).into_response();
    let (parts, body) = response.into_parts();
    // A JSON answer is one buffer, there at once: nothing to wait for.
    let body = axum::body::to_bytes(body, usize::MAX)
        .now_or_never()
        .and_then(Result::ok)
        .unwrap_or_default();
    let mut raw = format!(
        "HTTP/1.1 {} {}\r\n",
        parts.status.as_u16(),
        parts.status.canonical_reason().unwrap_or("")
    )
    .into_bytes();
    for (name, value) in &parts.headers {
        if name == header::CONTENT_LENGTH || name == header::CONNECTION {
            continue;
        }
        raw.extend_from_slice(name.as_str().as_bytes());
        raw.extend_from_slice(b": ");
        raw.extend_from_slice(value.as_bytes());
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    raw.extend_from_slice(b"connection: close\r\n\r\n");
    raw.extend_from_slice(&body);
    raw
}
