//! Every setting, as a command-line flag with a `PALAVER_*` environment
//! variable beside it. The defaults run out of the box: SQLite in `./data`,
//! 127.0.0.1:8000.

use crate::auth::token::Secret;
use crate::chat::rooms::{DeletedHistory, Policy, RoomCreation};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_PORT: u16 = 8000;
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 * 1024;
pub const DEFAULT_MAX_BODY_BYTES: usize = 16 * 1024;
pub const DEFAULT_OUTBOUND_QUEUE: usize = 4096;
pub const DEFAULT_OUTBOUND_QUEUE_BYTES: usize = 1024 * 1024;
pub const DEFAULT_HISTORY_LIMIT: i64 = 1000;
pub const DEFAULT_RATE_LIMIT: u32 = 20;
pub const DEFAULT_REPLAY_RATE: u32 = 10_000;
pub const DEFAULT_LOGIN_FAILURES: u32 = 5;
pub const DEFAULT_LOGIN_FAILURES_PER_ADDRESS: u32 = 50;
pub const DEFAULT_REGISTRATIONS_PER_ADDRESS: u32 = 20;
pub const DEFAULT_MAX_CONNECTIONS_PER_USER: u32 = 50;
pub const DEFAULT_MAX_CONNECTIONS_PER_ADDRESS: u32 = 256;

/// Who may open an account with `POST /register`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Registration {
    /// Anyone (the tutorial chapter's flow).
    #[default]
    Open,
    /// Only with a code from `palaver admin invite create`.
    Invite,
    /// Nobody: accounts that exist keep working, no new ones.
    Closed,
}

#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "PALAVER_BIND", default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Port to listen on (0: any free port).
    #[arg(long, env = "PALAVER_PORT", default_value_t = DEFAULT_PORT)]
    pub port: u16,
    /// Directory for the SQLite database and the generated signing key.
    #[arg(long, env = "PALAVER_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Where to keep users, rooms and messages: sqlite://PATH or postgres://…
    /// (default: SQLite in the data directory).
    #[arg(long, env = "PALAVER_DATABASE_URL")]
    pub database_url: Option<String>,
    /// How nodes share events: `local` (one node) or `redis://HOST:PORT` (many;
    /// needs PALAVER_JWT_SECRET shared by all nodes).
    #[arg(long, env = "PALAVER_BUS", default_value = "local")]
    pub bus: String,
    /// Name shared by the nodes of one chat (prefix of their Redis keys).
    #[arg(long, env = "PALAVER_CLUSTER", default_value = "palaver")]
    pub cluster: String,
    /// With Redis: a node silent this long counts as gone, and its users go
    /// offline on the others (within this plus one second).
    #[arg(long, env = "PALAVER_NODE_TTL", default_value = "15s", value_parser = humantime::parse_duration)]
    pub node_ttl: Duration,
    /// How long an access token stays valid (e.g. 30m, 12h).
    #[arg(long, env = "PALAVER_TOKEN_TTL", default_value = "30m", value_parser = humantime::parse_duration)]
    pub token_ttl: Duration,
    /// How long a login lasts without being used: a refresh token not used
    /// within this ends its session (each refresh starts it again).
    #[arg(long, env = "PALAVER_REFRESH_TTL", default_value = "30d", value_parser = humantime::parse_duration)]
    pub refresh_ttl: Duration,
    /// How far past its expiry a token is still accepted, for clocks that
    /// drift between the nodes that issue and check it (whole seconds).
    #[arg(long, env = "PALAVER_TOKEN_LEEWAY", default_value = "5s", value_parser = humantime::parse_duration)]
    pub token_leeway: Duration,
    /// Web pages (origins, comma-separated) that may use the server from a
    /// browser, over CORS and WebSocket. Unset: the server's own pages,
    /// pages opened from disk and pages served from this machine (see
    /// docs/security.md). `--cors-origin` is the older name.
    #[arg(
        long = "allowed-origins",
        alias = "cors-origin",
        env = "PALAVER_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,
    /// Largest chat message, in bytes of UTF-8.
    #[arg(long, env = "PALAVER_MAX_MESSAGE_BYTES", default_value_t = DEFAULT_MAX_MESSAGE_BYTES)]
    pub max_message_bytes: usize,
    /// Largest HTTP request body, in bytes.
    #[arg(long, env = "PALAVER_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// Frames a connection may have waiting before it counts as too slow and is closed.
    #[arg(long, env = "PALAVER_OUTBOUND_QUEUE", default_value_t = DEFAULT_OUTBOUND_QUEUE)]
    pub outbound_queue: usize,
    /// Bytes a connection may have waiting (what its unwritten frames keep
    /// alive, shared ones counted in full) before it counts as too slow and
    /// is closed: what a client that stops reading can pin, in any number of rooms.
    #[arg(long, env = "PALAVER_OUTBOUND_QUEUE_BYTES", default_value_t = DEFAULT_OUTBOUND_QUEUE_BYTES)]
    pub outbound_queue_bytes: usize,
    /// How long a client may take to send a request's head (from connecting,
    /// or on a kept-alive connection from the head's first byte), and to
    /// take in the `101` of a WebSocket upgrade; past it the connection is
    /// dropped. 0: no limit.
    #[arg(long, env = "PALAVER_HEADER_TIMEOUT", default_value = "5s", value_parser = humantime::parse_duration)]
    pub header_timeout: Duration,
    /// How long an HTTP connection may move no byte either way (a keep-alive
    /// connection between requests, or a request stalled in its body or its
    /// answer) before it is closed. WebSockets have pings instead. 0: no limit.
    #[arg(long, env = "PALAVER_IDLE_TIMEOUT", default_value = "60s", value_parser = humantime::parse_duration)]
    pub idle_timeout: Duration,
    /// How often the server pings each WebSocket; a peer silent for two intervals is dropped.
    #[arg(long, env = "PALAVER_PING_INTERVAL", default_value = "30s", value_parser = humantime::parse_duration)]
    pub ping_interval: Duration,
    /// How long a join or leave may wait to be told to its room together
    /// with others: a filling room costs one batch per member per tick, not
    /// one frame per member per join.
    #[arg(long, env = "PALAVER_PRESENCE_TICK", default_value = "100ms", value_parser = humantime::parse_duration)]
    pub presence_tick: Duration,
    /// Most messages one history request may ask for.
    #[arg(long, env = "PALAVER_HISTORY_LIMIT", default_value_t = DEFAULT_HISTORY_LIMIT)]
    pub history_limit: i64,
    /// Messages and typing notices per second one user may send, over all
    /// its connections and both protocols (bursts of twice that); 0: no limit.
    #[arg(long, env = "PALAVER_RATE_LIMIT", default_value_t = DEFAULT_RATE_LIMIT)]
    pub rate_limit: u32,
    /// Stored messages per second the server replays to one user (resume
    /// with `since`, history pages; bursts of five seconds' worth); 0: no limit.
    #[arg(long, env = "PALAVER_REPLAY_RATE", default_value_t = DEFAULT_REPLAY_RATE)]
    pub replay_rate: u32,
    /// Failed logins allowed per account and client address per 15 minutes;
    /// past it that pair gets 429 until it earned another try. 0: no limit.
    #[arg(long, env = "PALAVER_LOGIN_FAILURES", default_value_t = DEFAULT_LOGIN_FAILURES)]
    pub login_failures: u32,
    /// Failed logins allowed per client address per 15 minutes, whatever the account. 0: no limit.
    #[arg(long, env = "PALAVER_LOGIN_FAILURES_PER_ADDRESS", default_value_t = DEFAULT_LOGIN_FAILURES_PER_ADDRESS)]
    pub login_failures_per_address: u32,
    /// Registrations allowed per client address per hour. 0: no limit.
    #[arg(long, env = "PALAVER_REGISTRATIONS_PER_ADDRESS", default_value_t = DEFAULT_REGISTRATIONS_PER_ADDRESS)]
    pub registrations_per_address: u32,
    /// Who may register: `open` (anyone), `invite` (with a code from
    /// `palaver admin invite create`) or `closed` (nobody).
    #[arg(long, env = "PALAVER_REGISTRATION", value_enum, default_value_t = Registration::Open)]
    pub registration: Registration,
    /// Who may create rooms: `anyone` signed in, or only server `admins`.
    #[arg(long, env = "PALAVER_ROOM_CREATION", value_enum, default_value_t = RoomCreation::Anyone)]
    pub room_creation: RoomCreation,
    /// What becomes of a deleted room's messages: `keep` them in the store,
    /// out of everyone's sight (the name stays taken), or `purge` them.
    #[arg(long, env = "PALAVER_DELETED_ROOM_HISTORY", value_enum, default_value_t = DeletedHistory::Keep)]
    pub deleted_room_history: DeletedHistory,
    /// How long after sending a message its author may still edit it
    /// (`15m`, `2h`); unlimited when not given.
    #[arg(long, env = "PALAVER_EDIT_WINDOW", value_parser = humantime::parse_duration)]
    pub edit_window: Option<Duration>,
    /// Whether a message's earlier texts are kept when it is edited, for
    /// its room's members to see (`GET /rooms/{room}/messages/{id}/versions`).
    #[arg(long, env = "PALAVER_KEEP_EDIT_HISTORY", default_value_t = true, action = clap::ArgAction::Set)]
    pub keep_edit_history: bool,
    /// WebSockets one user may have open on this node. 0: no limit.
    #[arg(long, env = "PALAVER_MAX_CONNECTIONS_PER_USER", default_value_t = DEFAULT_MAX_CONNECTIONS_PER_USER)]
    pub max_connections_per_user: u32,
    /// WebSockets one client address may have open on this node. 0: no limit.
    #[arg(long, env = "PALAVER_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = DEFAULT_MAX_CONNECTIONS_PER_ADDRESS)]
    pub max_connections_per_address: u32,
    /// Proxies (comma-separated addresses) whose `Forwarded` /
    /// `X-Forwarded-For` name the client; nobody else's are believed.
    #[arg(
        long = "trusted-proxy",
        env = "PALAVER_TRUSTED_PROXY",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<IpAddr>,
    /// Signing key for access tokens; read from PALAVER_JWT_SECRET only, never a flag.
    #[arg(skip)]
    pub jwt_secret: Option<Secret>,
}

impl Config {
    /// The room rules' part of the configuration.
    pub fn room_policy(&self) -> Policy {
        Policy {
            room_creation: self.room_creation,
            deleted_history: self.deleted_room_history,
            edit_window: self.edit_window,
            keep_edit_history: self.keep_edit_history,
        }
    }

    /// The database to use: the flag's, else SQLite in the data directory.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| sqlite_url(&self.data_dir))
    }

    /// The defaults, with data kept in `data_dir`; what tests start from.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            bind: IpAddr::from([127, 0, 0, 1]),
            port: DEFAULT_PORT,
            data_dir: data_dir.into(),
            database_url: None,
            bus: "local".into(),
            cluster: "palaver".into(),
            node_ttl: Duration::from_secs(15),
            token_ttl: Duration::from_secs(30 * 60),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            token_leeway: Duration::from_secs(5),
            allowed_origins: Vec::new(),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            outbound_queue: DEFAULT_OUTBOUND_QUEUE,
            outbound_queue_bytes: DEFAULT_OUTBOUND_QUEUE_BYTES,
            header_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(60),
            ping_interval: Duration::from_secs(30),
            presence_tick: Duration::from_millis(100),
            history_limit: DEFAULT_HISTORY_LIMIT,
            rate_limit: DEFAULT_RATE_LIMIT,
            replay_rate: DEFAULT_REPLAY_RATE,
            login_failures: DEFAULT_LOGIN_FAILURES,
            login_failures_per_address: DEFAULT_LOGIN_FAILURES_PER_ADDRESS,
            registrations_per_address: DEFAULT_REGISTRATIONS_PER_ADDRESS,
            registration: Registration::Open,
            room_creation: RoomCreation::Anyone,
            deleted_room_history: DeletedHistory::Keep,
            edit_window: None,
            keep_edit_history: true,
            max_connections_per_user: DEFAULT_MAX_CONNECTIONS_PER_USER,
            max_connections_per_address: DEFAULT_MAX_CONNECTIONS_PER_ADDRESS,
            trusted_proxies: Vec::new(),
            jwt_secret: None,
        }
    }
}

/// Where the SQLite database of a data directory lives.
pub fn sqlite_path(data_dir: &Path) -> PathBuf {
    data_dir.join("palaver.db")
}

/// The default database: SQLite in the data directory.
pub fn sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}", sqlite_path(data_dir).display())
}
