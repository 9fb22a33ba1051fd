//! One HTTP connection: hyper's HTTP/1 over the tracked socket, our router
//! as its service (with the peer's address on every request), and a watch
//! that drops the connection when it outstays its timeouts:
//!
//! - waiting for a request's head: `header_timeout` from the moment the
//!   connection opened, or, between requests, from the first byte of the
//!   next head (a slowloris that trickles a byte at a time gains nothing);
//! - idle: `idle_timeout` with no byte moved either way, whatever the
//!   connection is doing (between requests, or stalled within one: a body
//!   that never comes, an answer the client never reads);
//! - switching to WebSocket: `header_timeout` from the `101` until hyper
//!   hands the socket over (which waits for the `101` to be written out).
//!
//! hyper's own `header_read_timeout` is not used: it also closes every
//! keep-alive connection that is idle for that long, so one setting would
//! have to be both a few seconds (for heads) and a minute (for idle
//! connections).

use super::Settings;
use super::budget::FdBudget;
use super::io::Tracked;
use crate::error::ApiError;
use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU8, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// What the connection's tasks share.
pub struct Shared {
    pub router: Router,
    pub settings: Settings,
    pub budget: Arc<FdBudget>,
    /// Cancelled when the server stops: finish the request in hand, take no other.
    pub finish: CancellationToken,
    /// Cancelled when finishing took too long: drop the connection now.
    pub abort: CancellationToken,
}

/// Serves one accepted connection until it ends, is upgraded or is dropped.
pub async fn serve(tcp: TcpStream, peer: SocketAddr, shared: Arc<Shared>) {
    // Chat frames are small and latency matters: no Nagle delay.
    let _ = tcp.set_nodelay(true);
    let (place, open) = shared.budget.take();
    let activity = Activity::new();
    // Near the file limit every descriptor counts: one request per
    // connection, so that the reserve serves many clients in turn.
    let crowded = shared.budget.over_websocket_limit(open);
    let io = TokioIo::new(Tracked::new(tcp, place, activity.clone()));
    let service = {
        let activity = activity.clone();
        let shared = shared.clone();
        hyper::service::service_fn(move |request| {
            handle(request, peer, activity.clone(), shared.clone())
        })
    };
    let mut http = hyper::server::conn::http1::Builder::new();
    http.keep_alive(!crowded).header_read_timeout(None);
    let mut conn = pin!(http.serve_connection(io, service).with_upgrades());
    let mut finishing = false;
    let settings = &shared.settings;
    loop {
        let deadline = activity.deadline(settings);
        if deadline.is_some_and(|d| d <= Instant::now()) {
            tracing::debug!(%peer, "connection outstayed its timeout; dropped");
            break;
        }
        let sleep = tokio::time::sleep_until(
            deadline.map_or_else(far_future, tokio::time::Instant::from_std),
        );
        tokio::select! {
            biased;
            served = conn.as_mut() => {
                if let Err(err) = served {
                    tracing::debug!(%peer, error = %err, "connection ended with an error");
                }
                break;
            }
            () = shared.abort.cancelled() => break,
            () = shared.finish.cancelled(), if !finishing => {
                finishing = true;
                conn.as_mut().graceful_shutdown();
            }
            // Wakes at the deadline as it was; the loop works out whether
            // activity since then has moved it.
            () = sleep, if deadline.is_some() => {}
        }
    }
    activity.detach();
}

fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(86_400)
}

/// One request through the router, with what the connection knows added.
async fn handle(
    mut request: Request<Incoming>,
    peer: SocketAddr,
    activity: Arc<Activity>,
    shared: Arc<Shared>,
) -> Result<Response<Answer>, Infallible> {
    activity.request_began();
    request.extensions_mut().insert(ConnectInfo(peer));
    let response = if request.headers().contains_key(header::UPGRADE)
        && shared.budget.over_websocket_limit(shared.budget.open())
    {
        // A WebSocket holds its descriptor for hours; the reserve is for
        // plain requests (`/healthz` among them), which give theirs back.
        ApiError::Rejected(StatusCode::SERVICE_UNAVAILABLE, super::AT_LIMIT.into()).into_response()
    } else {
        let Ok(response) = shared.router.clone().oneshot(request).await;
        response
    };
    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        activity.upgrading();
    }
    Ok(response.map(|body| Answer {
        body,
        activity: activity.clone(),
    }))
}

/// A response's body, telling the connection when the answer is over (when
/// hyper is done with it, whether it was sent or the connection failed).
pub struct Answer {
    body: axum::body::Body,
    activity: Arc<Activity>,
}

impl Body for Answer {
    type Data = bytes::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        self.activity.answer_ended();
    }
}

/// Milliseconds since the process's first connection, plus one (so that 0
/// can mean "not yet"): what the activity stamps hold.
fn now_ms() -> u64 {
    millis_since_epoch(Instant::now())
}

static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

fn millis_since_epoch(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(*EPOCH).as_millis())
        .unwrap_or(u64::MAX - 1)
        .saturating_add(1)
}

fn instant_of(ms: u64) -> Instant {
    *EPOCH + Duration::from_millis(ms.saturating_sub(1))
}

const AWAITING: u8 = 0;
const BUSY: u8 = 1;
const UPGRADING: u8 = 2;
const DETACHED: u8 = 3;

/// What a connection is doing, told by its socket (bytes in and out) and
/// its service (a request began, its answer ended), read by its watch.
/// Everything here happens on the connection's own task (the socket, the
/// service and the watch are polled by it), so relaxed atomics suffice.
///
/// It lives until the watch is over: an upgraded socket lets go of it at
/// its next read or write (see `Tracked`), so that a WebSocket does not
/// carry it for hours.
pub struct Activity {
    phase: AtomicU8,
    /// When the phase began: the connection opened, a request's head was
    /// read, its answer ended, the `101` was made.
    phase_since: AtomicU64,
    /// While awaiting a head: when its first byte came (0: none yet).
    head_since: AtomicU64,
    /// When a byte last moved, either way.
    last_io: AtomicU64,
    /// Requests answered: the head limits count each head afresh.
    answered: AtomicU32,
}

impl Activity {
    fn new() -> Arc<Self> {
        let now = now_ms();
        let activity = Self {
            phase: AtomicU8::new(AWAITING),
            phase_since: AtomicU64::new(now),
            head_since: AtomicU64::new(0),
            last_io: AtomicU64::new(now),
            answered: AtomicU32::new(0),
        };
        Arc::new(activity)
    }

    /// Whether the watch is over: nothing reads the stamps any more.
    pub fn detached(&self) -> bool {
        self.phase.load(Ordering::Relaxed) == DETACHED
    }

    /// Bytes came in. While the connection waits for a head, returns which
    /// request they belong to (the count answered before it), for the head
    /// limits.
    pub fn bytes_read(&self) -> Option<u32> {
        let phase = self.phase.load(Ordering::Relaxed);
        if phase == DETACHED {
            return None;
        }
        let now = now_ms();
        self.last_io.store(now, Ordering::Relaxed);
        if phase != AWAITING {
            return None;
        }
        let _ = self
            .head_since
            .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
        Some(self.answered.load(Ordering::Relaxed))
    }

    pub fn bytes_written(&self) {
        if self.phase.load(Ordering::Relaxed) != DETACHED {
            self.last_io.store(now_ms(), Ordering::Relaxed);
        }
    }

    fn request_began(&self) {
        let now = now_ms();
        self.phase.store(BUSY, Ordering::Relaxed);
        self.phase_since.store(now, Ordering::Relaxed);
        self.head_since.store(0, Ordering::Relaxed);
        self.last_io.store(now, Ordering::Relaxed);
    }

    fn answer_ended(&self) {
        // A `101`'s (empty) answer ends too; the connection is upgrading then.
        if self
            .phase
            .compare_exchange(BUSY, AWAITING, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            let now = now_ms();
            self.answered.fetch_add(1, Ordering::Relaxed);
            self.phase_since.store(now, Ordering::Relaxed);
            self.head_since.store(0, Ordering::Relaxed);
            self.last_io.store(now, Ordering::Relaxed);
        }
    }

    fn upgrading(&self) {
        self.phase.store(UPGRADING, Ordering::Relaxed);
        self.phase_since.store(now_ms(), Ordering::Relaxed);
    }

    /// The connection's watch is over (it ended, or hyper handed the socket
    /// to a WebSocket): nothing needs the stamps any more.
    fn detach(&self) {
        self.phase.store(DETACHED, Ordering::Relaxed);
    }

    /// When the connection is to be dropped if nothing changes before.
    fn deadline(&self, settings: &Settings) -> Option<Instant> {
        let phase = self.phase.load(Ordering::Relaxed);
        let head_started = match phase {
            AWAITING if self.answered.load(Ordering::Relaxed) == 0 => {
                Some(self.phase_since.load(Ordering::Relaxed))
            }
            AWAITING => Some(self.head_since.load(Ordering::Relaxed)).filter(|&t| t != 0),
            UPGRADING => Some(self.phase_since.load(Ordering::Relaxed)),
            _ => None,
        };
        let header = head_started
            .zip(settings.header_timeout)
            .map(|(since, limit)| since.saturating_add(limit));
        let idle = settings
            .idle_timeout
            .filter(|_| phase != DETACHED)
            .map(|limit| self.last_io.load(Ordering::Relaxed).saturating_add(limit));
        let deadline = match (header, idle) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        deadline.map(instant_of)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(header: u64, idle: u64) -> Settings {
        Settings {
            header_timeout: Some(header),
            idle_timeout: Some(idle),
        }
    }

    fn after(activity: &Activity, settings: &Settings) -> u64 {
        let deadline = activity.deadline(settings).expect("a deadline");
        millis_since_epoch(deadline) - activity.phase_since.load(Ordering::Relaxed)
    }

    #[test]
    fn each_phase_has_its_deadline() {
        let settings = settings(5_000, 60_000);
        let activity = Activity::new();
        // A new connection must send its head within the header timeout.
        assert_eq!(after(&activity, &settings), 5_000);
        activity.request_began();
        // Within a request, only a stall counts.
        assert_eq!(after(&activity, &settings), 60_000);
        activity.answer_ended();
        // Between requests: idle until the next head begins ...
        assert_eq!(after(&activity, &settings), 60_000);
        assert_eq!(activity.bytes_read(), Some(1));
        // ... then the header timeout, from its first byte.
        let deadline = activity.deadline(&settings).unwrap();
        let head = activity.head_since.load(Ordering::Relaxed);
        assert_eq!(millis_since_epoch(deadline), head + 5_000);
        activity.request_began();
        activity.upgrading();
        activity.answer_ended();
        assert_eq!(activity.phase.load(Ordering::Relaxed), UPGRADING);
        assert_eq!(after(&activity, &settings), 5_000);
        activity.detach();
        assert_eq!(activity.deadline(&settings), None);
        assert_eq!(activity.bytes_read(), None);
    }

    #[test]
    fn timeouts_that_are_off_set_no_deadline() {
        let off = Settings {
            header_timeout: None,
            idle_timeout: None,
        };
        let activity = Activity::new();
        assert_eq!(activity.deadline(&off), None);
        let budget = Arc::new(FdBudget::new(1_000));
        let (place, open) = budget.take();
        assert_eq!((open, budget.open()), (1, 1));
        drop(place);
        assert_eq!(budget.open(), 0, "a closed socket gives its place back");
    }
}
