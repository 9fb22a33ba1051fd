//! Assembly: open the store, wire hub, bus and publisher together, build the
//! router, listen, and shut down in an order that loses nothing.

use crate::api;
use crate::auth::AuthError;
use crate::auth::accounts::{Accounts, Caller, Invites, SessionsEnded};
use crate::auth::throttle::{Limits, Throttle};
use crate::auth::token::{self, KeySource, Tokens};
use crate::bus::{Bus, BusError, InboundStream, LocalBus, RedisBus, RedisSettings};
use crate::chat::Chat;
use crate::config::Config;
use crate::datadir::{DataDir, DataDirError};
use crate::error::ApiError;
use crate::gateway;
use crate::gateway::caps::SocketCaps;
use crate::gateway::rates::UserRates;
use crate::http_server;
use crate::origins::{InvalidOrigin, OriginPolicy};
use crate::store::{self, StoreError};
use crate::web;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, header};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long shutdown waits for open WebSockets to say goodbye.
const SESSION_DRAIN: Duration = Duration::from_secs(5);
/// How long shutdown waits for the message writer to store what it was given.
const WRITER_DRAIN: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    DataDir(#[from] DataDirError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] AuthError),
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
    #[error(transparent)]
    Origin(#[from] InvalidOrigin),
    #[error("--bus must be `local` or a redis:// URL, not {0:?}")]
    BusUrl(String),
    #[error(
        "several nodes need one signing key: set PALAVER_JWT_SECRET (the same on every node) \
         instead of a per-node generated key"
    )]
    SharedKeyRequired,
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// Everything a request handler or a connection may need.
pub struct App {
    pub config: Config,
    pub accounts: Accounts,
    /// Invite codes, which admins create over HTTP too.
    pub invites: Invites,
    pub chat: Arc<Chat>,
    /// Which browser pages may open a WebSocket (CORS uses the same rule).
    pub origins: OriginPolicy,
    /// Open WebSockets per user and per client address, against their caps.
    pub sockets: Arc<SocketCaps>,
    /// Each user's budgets for sends and for replayed history.
    pub rates: Arc<UserRates>,
    /// Cancelled when the server begins to shut down; sessions close with 1001.
    pub shutdown: CancellationToken,
    /// Every WebSocket session, so that shutdown can wait for them.
    pub sessions: TaskTracker,
    next_conn: AtomicU64,
}

impl App {
    pub fn next_conn_id(&self) -> u64 {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// The client's address: the peer, or who a trusted proxy says it is.
    pub fn client_addr(
        &self,
        peer: std::net::IpAddr,
        headers: &axum::http::HeaderMap,
    ) -> std::net::IpAddr {
        crate::client_addr::client_addr(peer, headers, &self.config.trusted_proxies)
    }

    /// Who a token belongs to, if it is valid and its session lives.
    pub async fn authenticate(&self, token: Option<&str>) -> Result<Caller, ApiError> {
        Ok(self.accounts.authenticate(token).await?)
    }
}

/// Accounts end sessions; the chat core closes their sockets, on every node.
struct SocketsOfEndedSessions(Arc<Chat>);

#[async_trait::async_trait]
impl SessionsEnded for SocketsOfEndedSessions {
    async fn sessions_ended(&self, sessions: &[i64]) {
        self.0.end_sessions(sessions).await;
    }
}

pub type AppState = Arc<App>;

/// A running server.
pub struct Server {
    addr: SocketAddr,
    key_source: KeySource,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl Server {
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn key_source(&self) -> KeySource {
        self.key_source
    }

    /// A handle that starts shutdown when cancelled (for signal handlers).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Shuts down gracefully and waits until every accepted message is stored.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        self.wait().await;
    }

    /// Waits until the server has stopped (after `shutdown_token` was cancelled).
    pub async fn wait(self) {
        if let Err(err) = self.task.await {
            tracing::error!(error = %err, "server task failed");
        }
    }
}

/// Raises the soft open-file limit to the hard one and returns it: every
/// socket is a file, and the soft default (often 1,024) is far too low.
pub fn raise_file_limit() -> u64 {
    rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024)
}

/// Connections the kernel may hold for us before we accept them. The
/// standard library's 128 drops SYNs (each a one-second client retry) as soon
/// as a few hundred clients connect at once, e.g. all of them reconnecting
/// after a restart; the kernel caps this at `net.core.somaxconn`.
const LISTEN_BACKLOG: u32 = 4096;

fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    // A restarted server must not wait out the old one's TIME_WAIT sockets.
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Starts palaver with `config` and returns once it is listening.
pub async fn serve(config: Config) -> Result<Server, StartError> {
    let data_dir = DataDir::open(&config.data_dir)?;
    let database_url = config.database_url();
    if let Some(path) = sqlite_path(&database_url) {
        data_dir.protect_database(&path)?;
    }
    let store = store::open(&database_url).await?;
    let (secret, key_source) = token::load_key(config.jwt_secret.as_ref(), &config.data_dir)?;
    let tokens = Tokens::new(&secret, config.token_ttl, config.token_leeway);

    let shutdown = CancellationToken::new();
    let (bus, inbound): (Arc<dyn Bus>, InboundStream) = if config.bus == "local" {
        let (bus, inbound) = LocalBus::new();
        (Arc::new(bus), inbound)
    } else if config.bus.starts_with("redis://") || config.bus.starts_with("rediss://") {
        if key_source != KeySource::Environment {
            return Err(StartError::SharedKeyRequired);
        }
        let settings = RedisSettings {
            url: config.bus.clone(),
            cluster: config.cluster.clone(),
            node_ttl: config.node_ttl.max(Duration::from_secs(3)),
        };
        let (bus, inbound) = RedisBus::start(settings, shutdown.clone()).await?;
        (bus, inbound)
    } else {
        return Err(StartError::BusUrl(config.bus.clone()));
    };
    let (chat, chat_tasks) = Chat::start(
        store.clone(),
        bus,
        inbound,
        config.presence_tick,
        config.room_policy(),
        shutdown.clone(),
    );
    let origins = OriginPolicy::new(&config.allowed_origins)?;
    let cors = cors_layer(origins.clone());
    let addr = SocketAddr::new(config.bind, config.port);
    let listener = listen(addr).map_err(|e| StartError::Bind(addr, e))?;
    let addr = listener
        .local_addr()
        .map_err(|e| StartError::Bind(addr, e))?;

    let chat = Arc::new(chat);
    let sessions = TaskTracker::new();
    let state: AppState = Arc::new(App {
        invites: Invites::new(store.clone()),
        accounts: Accounts::new(
            store.clone(),
            tokens,
            Throttle::new(Limits {
                failures_per_account: config.login_failures,
                failures_per_address: config.login_failures_per_address,
                registrations_per_address: config.registrations_per_address,
            }),
            config.registration,
            config.refresh_ttl,
            Arc::new(SocketsOfEndedSessions(chat.clone())),
        ),
        chat,
        origins,
        rates: Arc::new(UserRates::new(config.rate_limit, config.replay_rate)),
        sockets: SocketCaps::new(
            config.max_connections_per_user,
            config.max_connections_per_address,
        ),
        shutdown: shutdown.clone(),
        sessions: sessions.clone(),
        next_conn: AtomicU64::new(1),
        config,
    });
    let timeouts =
        http_server::Settings::new(state.config.header_timeout, state.config.idle_timeout);
    let router = router(state).layer(cors);

    let stop = shutdown.clone();
    let task = tokio::spawn(async move {
        http_server::serve(listener, router, timeouts, stop).await;
        // The router (and its handle on the publisher) is gone now; sessions
        // hold the last ones. Once they are closed the writer drains its queue.
        sessions.close();
        if tokio::time::timeout(SESSION_DRAIN, sessions.wait())
            .await
            .is_err()
        {
            tracing::warn!("some WebSocket sessions did not close in time");
        }
        match tokio::time::timeout(WRITER_DRAIN, chat_tasks.writer).await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::error!(error = %err, "message writer failed"),
            Err(_) => tracing::error!(
                "message writer did not finish; some messages may be unacknowledged"
            ),
        }
        store.close().await;
        // Only now may another server take the directory.
        drop(data_dir);
    });
    Ok(Server {
        addr,
        key_source,
        shutdown,
        task,
    })
}

/// The file a `sqlite:` URL names, if it names one.
fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| path.into())
}

fn router(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    Router::new()
        .merge(api::routes())
        .merge(gateway::routes())
        .merge(web::routes())
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(state)
}

/// CORS grants for the pages `origins` allows (see `origins`): the grant
/// names the page's own origin back, never `*`, so that a refused page gets
/// no grant at all.
fn cors_layer(origins: OriginPolicy) -> CorsLayer {
    CorsLayer::new()
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(3600))
        .allow_origin(AllowOrigin::predicate(move |origin, parts| {
            origins.allows(origin, parts.headers.get(header::HOST))
        }))
}
