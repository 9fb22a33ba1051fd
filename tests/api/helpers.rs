//! Starts a real palaver on 127.0.0.1:0 with a temporary data dir, and talks
//! to it the way a user's client does: HTTP with reqwest, WebSockets with
//! tokio-tungstenite.

use futures_util::{SinkExt, StreamExt};
use palaver::{Config, Server};
use serde_json::{Value, json};
use std::future::Future;
use std::sync::LazyLock;
use std::time::Duration;
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a test waits for something that should happen at once.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub struct TestServer {
    pub server: Option<Server>,
    pub config: Config,
    pub base: String,
    pub ws_base: String,
    pub dir: TempDir,
    pub http: reqwest::Client,
}

/// With `PALAVER_TEST_DATABASE_URL=postgres://…` every test server gets a
/// fresh schema of that database instead of SQLite in its temp dir, so the
/// whole suite runs on PostgreSQL too.
pub const TEST_DATABASE_ENV: &str = "PALAVER_TEST_DATABASE_URL";

pub fn test_config(dir: &TempDir) -> Config {
    let mut config = Config::with_data_dir(dir.path());
    config.port = 0;
    // Every test's users come from 127.0.0.1; tests of the registration
    // budget turn it back on.
    config.registrations_per_address = 0;
    if let Ok(url) = std::env::var(TEST_DATABASE_ENV) {
        config.database_url = Some(fresh_schema(&url));
    }
    config
}

pub fn on_postgres() -> bool {
    std::env::var(TEST_DATABASE_ENV).is_ok()
}

/// Creates an empty schema and returns a URL whose connections use it.
fn fresh_schema(url: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let schema = format!(
        "palaver_t_{}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
    );
    let url_owned = url.to_owned();
    let create = schema.clone();
    // Its own runtime: this runs inside tests' runtimes and must not block them.
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let pool = sqlx::PgPool::connect(&url_owned)
                .await
                .expect("PostgreSQL reachable");
            sqlx::query(&format!("CREATE SCHEMA {create}"))
                .execute(&pool)
                .await
                .expect("create schema");
            pool.close().await;
        });
    })
    .join()
    .expect("schema thread");
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}")
}

/// Runs SQL statements against the test server's own database.
pub async fn sql(s: &TestServer, statements: &[&str]) {
    match &s.config.database_url {
        Some(url) => {
            let pool = sqlx::PgPool::connect(url).await.expect("connect");
            for st in statements {
                sqlx::query(st).execute(&pool).await.expect(st);
            }
            pool.close().await;
        }
        None => {
            let url = format!("sqlite://{}", s.dir.path().join("palaver.db").display());
            let pool = sqlx::SqlitePool::connect(&url).await.expect("connect");
            for st in statements {
                sqlx::query(st).execute(&pool).await.expect(st);
            }
            pool.close().await;
        }
    }
}

pub async fn spawn() -> TestServer {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(tune: impl FnOnce(&mut Config)) -> TestServer {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(&dir);
    tune(&mut config);
    start(dir, config).await
}

/// With `TEST_LOG` set (and not `0`), what the servers log goes to the test's
/// output, which cargo shows for the tests that fail; without it, tests are quiet.
pub const TEST_LOG_ENV: &str = "TEST_LOG";

pub fn test_log() -> bool {
    std::env::var_os(TEST_LOG_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

/// One subscriber for the whole binary: tests share the process, and the
/// test writer hands each line to the capture of the thread that logs it,
/// that is to the test whose server it is.
static TRACING: LazyLock<()> = LazyLock::new(|| {
    if test_log() {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| "palaver=debug,warn".into());
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .with_ansi(false)
            .init();
    }
});

/// Call before starting a server by other means than [`start`].
pub fn init_logging() {
    LazyLock::force(&TRACING);
}

/// Where a child process's stderr goes: to the test's output through
/// [`forward_stderr`] with `TEST_LOG`, nowhere without.
pub fn child_stderr() -> std::process::Stdio {
    if test_log() {
        std::process::Stdio::piped()
    } else {
        std::process::Stdio::null()
    }
}

/// Copies a child's piped stderr into the test's captured output (a plain
/// inherited stderr would bypass cargo's capture and show for every test).
pub fn forward_stderr(child: &mut tokio::process::Child) {
    use tokio::io::AsyncBufReadExt;
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("[child] {line}");
            }
        });
    }
}

/// Polls `check` until it holds; panics with `what` after `PATIENCE`. For
/// conditions no event announces (an HTTP answer that changes with time).
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within {PATIENCE:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn start(dir: TempDir, config: Config) -> TestServer {
    init_logging();
    let server = palaver::serve(config.clone()).await.expect("server starts");
    let addr = server.local_addr();
    TestServer {
        server: Some(server),
        config,
        base: format!("http://{addr}"),
        ws_base: format!("ws://{addr}"),
        dir,
        http: reqwest::Client::new(),
    }
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// The contents of `room`'s latest stored messages, oldest first.
    pub async fn contents(&self, room: &str, token: &str) -> Vec<String> {
        let (status, history) = self
            .get_json(&format!("/rooms/{room}/messages"), Some(token))
            .await;
        assert_eq!(status, 200, "{history}");
        history["messages"]
            .as_array()
            .expect("messages")
            .iter()
            .filter_map(|m| m["content"].as_str().map(str::to_owned))
            .collect()
    }

    /// Stops the server gracefully and returns its data dir and config for a restart.
    pub async fn stop(mut self) -> (TempDir, Config) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
        (self.dir, self.config)
    }

    pub async fn register(&self, username: &str, password: &str) -> reqwest::Response {
        self.http
            .post(self.url("/register"))
            .json(&json!({ "username": username, "password": password }))
            .send()
            .await
            .expect("register request")
    }

    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.http
            .post(self.url("/token"))
            .form(&[("username", username), ("password", password)])
            .send()
            .await
            .expect("token request")
    }

    /// Registers `username` (password "password-<name>") and returns a token.
    pub async fn user(&self, username: &str) -> String {
        let password = format!("password-{username}");
        let r = self.register(username, &password).await;
        assert_eq!(r.status(), 201, "register {username}");
        self.token(username, &password).await
    }

    pub async fn token(&self, username: &str, password: &str) -> String {
        let r = self.login(username, password).await;
        assert_eq!(r.status(), 200, "login {username}");
        let body: Value = r.json().await.expect("token json");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    pub async fn get_json(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut req = self.http.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.expect("GET");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        let mut req = self.http.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.expect("POST");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// The chapter's way in: `/ws/{room}?token=...`, no subprotocol.
    pub async fn compat(&self, room: &str, token: &str) -> Ws {
        let url = format!("{}/ws/{room}?token={token}", self.ws_base);
        let (ws, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("ws connect");
        ws
    }

    /// palaver.v1 on `path` (`/ws` or `/ws/{room}`), token in a header.
    pub async fn v1(&self, path: &str, token: &str) -> Ws {
        let mut req = format!("{}{path}", self.ws_base)
            .into_client_request()
            .expect("request");
        let headers = req.headers_mut();
        headers.insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("palaver.v1"),
        );
        headers.insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
        );
        let (ws, response) = tokio_tungstenite::connect_async(req)
            .await
            .expect("ws connect");
        assert_eq!(
            response
                .headers()
                .get("sec-websocket-protocol")
                .map(reqwest::header::HeaderValue::as_bytes),
            Some(&b"palaver.v1"[..])
        );
        ws
    }
}

/// The next text frame, skipping pings; panics after `PATIENCE`.
pub async fn next_text(ws: &mut Ws) -> String {
    tokio::time::timeout(PATIENCE, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => return t.to_string(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => panic!("expected a text frame, got {other:?}"),
            }
        }
    })
    .await
    .expect("a text frame in time")
}

pub async fn next_json(ws: &mut Ws) -> Value {
    let text = next_text(ws).await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Next JSON event of `kind`, skipping others (presence, typing ...).
pub async fn next_of(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let v = next_json(ws).await;
        if v["type"] == kind {
            return v;
        }
    }
}

/// Reads until the room says `user` came online ("joined") or went offline
/// ("left"), whether alone (`joined`/`left`) or summed up with others in a
/// `presence` frame; skips everything else.
pub async fn next_presence_of(ws: &mut Ws, user: &str) -> &'static str {
    loop {
        let v = next_json(ws).await;
        match v["type"].as_str() {
            Some("joined") if v["user"] == user => return "joined",
            Some("left") if v["user"] == user => return "left",
            Some("presence") => {
                let names = |key: &str| v[key].as_array().cloned().unwrap_or_default();
                if names("joined").iter().any(|n| n == user) {
                    return "joined";
                }
                if names("left").iter().any(|n| n == user) {
                    return "left";
                }
            }
            _ => {}
        }
    }
}

/// Asserts nothing but pings arrives for `wait`.
pub async fn assert_silent(ws: &mut Ws, wait: Duration) {
    let got = tokio::time::timeout(wait, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => return other,
            }
        }
    })
    .await;
    if let Ok(frame) = got {
        panic!("expected silence, got {frame:?}");
    }
}

/// Reads until the server closes; returns the close frame.
pub async fn next_close(ws: &mut Ws) -> Option<CloseFrame> {
    tokio::time::timeout(PATIENCE, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => continue,
                Some(Err(e)) => panic!("expected a close frame, got error {e}"),
                None => return None,
            }
        }
    })
    .await
    .expect("close in time")
}

pub async fn send_text(ws: &mut Ws, text: &str) {
    ws.send(Message::Text(text.into())).await.expect("send");
}

pub async fn send_json(ws: &mut Ws, value: Value) {
    send_text(ws, &value.to_string()).await;
}

impl TestServer {
    /// Any method, an optional JSON body; the status and the JSON answer
    /// (`Null` when the answer is empty, as a 204's is).
    pub async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        let r = req.send().await.expect("request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn patch_json(&self, path: &str, token: Option<&str>, body: &Value) -> (u16, Value) {
        self.request(reqwest::Method::PATCH, path, token, Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.request(reqwest::Method::DELETE, path, token, None)
            .await
    }

    /// Runs the real binary's `palaver admin ARGS` on this server's store
    /// while it runs, as an operator would.
    pub async fn palaver_admin(&self, args: &[&str]) -> std::process::Output {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_palaver"));
        command
            .arg("admin")
            .args(args)
            .arg("--data-dir")
            .arg(self.dir.path());
        if let Some(url) = &self.config.database_url {
            command.args(["--database-url", url]);
        }
        tokio::time::timeout(PATIENCE, command.output())
            .await
            .expect("the admin command ends")
            .expect("the admin command runs")
    }

    /// `palaver admin user promote NAME`, which must succeed.
    pub async fn make_admin(&self, username: &str) {
        let output = self.palaver_admin(&["user", "promote", username]).await;
        assert!(
            output.status.success(),
            "admin user promote {username} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Creates `name` with `visibility` as the holder of `token` (who owns it).
    pub async fn create_room(&self, token: &str, name: &str, visibility: &str) -> Value {
        let (status, room) = self
            .post_json(
                "/rooms",
                Some(token),
                &json!({"name": name, "topic": format!("about {name}"), "visibility": visibility}),
            )
            .await;
        assert_eq!(status, 201, "create {visibility} room {name}: {room}");
        room
    }

    /// Adds `username` to `room`, as the holder of `token`.
    pub async fn invite(&self, token: &str, room: &str, username: &str) -> Value {
        let (status, member) = self
            .post_json(
                &format!("/rooms/{room}/members"),
                Some(token),
                &json!({ "username": username }),
            )
            .await;
        assert_eq!(status, 201, "invite {username} to {room}: {member}");
        member
    }

    /// A direct room with `others`, opened by the holder of `token`; its name.
    pub async fn dm(&self, token: &str, others: &[&str]) -> String {
        let (status, room) = self
            .post_json("/dms", Some(token), &json!({ "usernames": others }))
            .await;
        assert!(
            status == 201 || status == 200,
            "dm with {others:?}: {status} {room}"
        );
        room["name"].as_str().expect("a DM's name").to_owned()
    }
}

/// An RFC 3339 time `secs` from now (negative: in the past).
pub fn rfc3339_in(secs: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(secs))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Sends a v1 subscribe and returns its answer: the `subscribed` frame or
/// the `error` carrying the same `ref`; skips everything else.
pub async fn v1_subscribe(ws: &mut Ws, room: &str, since: Option<i64>) -> Value {
    let reference = format!("sub-{room}");
    let mut cmd = json!({"type": "subscribe", "room": room, "ref": reference});
    if let Some(since) = since {
        cmd["since"] = json!(since);
    }
    send_json(ws, cmd).await;
    loop {
        let v = next_json(ws).await;
        let answer = (v["type"] == "subscribed" && v["room"] == room)
            || (v["type"] == "error" && v["ref"] == reference.as_str());
        if answer {
            return v;
        }
    }
}

/// Subscribes, which must succeed.
pub async fn v1_join(ws: &mut Ws, room: &str) -> Value {
    let v = v1_subscribe(ws, room, None).await;
    assert_eq!(v["type"], "subscribed", "subscribe to {room}: {v}");
    v
}

/// Sends `content` to `room` and waits for its ack (or the error of that
/// `client_id`), which it returns.
pub async fn v1_send(ws: &mut Ws, room: &str, content: &str) -> Value {
    let client_id = format!("c-{content}");
    send_json(
        ws,
        json!({"type": "send", "room": room, "content": content, "client_id": client_id, "ref": client_id}),
    )
    .await;
    loop {
        let v = next_json(ws).await;
        let answer = matches!(v["type"].as_str(), Some("ack" | "error"))
            && (v["client_id"] == client_id.as_str() || v["ref"] == client_id.as_str());
        if answer {
            return v;
        }
    }
}

/// Sends `content`, which must be acknowledged.
pub async fn v1_say(ws: &mut Ws, room: &str, content: &str) {
    let v = v1_send(ws, room, content).await;
    assert_eq!(v["type"], "ack", "send {content:?} to {room}: {v}");
}

/// Reads v1 events until the `message` in `room` with `content`; panics if
/// one of `never` (contents of that room) comes first.
pub async fn v1_until_message(ws: &mut Ws, room: &str, content: &str, never: &[&str]) {
    loop {
        let v = next_json(ws).await;
        if v["type"] != "message" {
            continue;
        }
        let got = v["content"].as_str().unwrap_or_default();
        assert!(
            !never.contains(&got),
            "{got:?} reached a socket it must never reach: {v}"
        );
        if v["room"] == room && got == content {
            return;
        }
    }
}

/// The close code and reason the server ends a socket with.
pub async fn close_of(ws: &mut Ws) -> (u16, String) {
    let frame = next_close(ws).await.expect("a close frame");
    (u16::from(frame.code), frame.reason.to_string())
}

/// The `removed` events a v1 socket gets until the message `marker`,
/// asserting that the message `never` does not come before it.
pub async fn removed_until(ws: &mut Ws, marker: &str, never: &str) -> Vec<Value> {
    let mut removed = Vec::new();
    loop {
        let v = next_json(ws).await;
        assert!(
            !(v["type"] == "message" && v["content"] == never),
            "a removed member got the message sent after the removal: {v}"
        );
        if v["type"] == "removed" {
            removed.push(v);
        } else if v["type"] == "message" && v["content"] == marker {
            return removed;
        }
    }
}

/// The v1 event types that are entries of a room's stream (issue 13):
/// each has a position in the room's one order.
pub const STREAM_ENTRIES: [&str; 4] = ["message", "edited", "deleted", "reaction"];

/// A stream entry's position: a message's `id`, a change's `stream_id`.
pub fn position(entry: &Value) -> i64 {
    let field = if entry["type"] == "message" {
        "id"
    } else {
        "stream_id"
    };
    entry[field]
        .as_i64()
        .unwrap_or_else(|| panic!("no {field} in {entry}"))
}

/// What two views of one stream must share: each entry's type and position.
pub fn stream_shape(entries: &[Value]) -> Vec<(String, i64)> {
    entries
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or_default().to_owned(),
                position(e),
            )
        })
        .collect()
}

/// Asserts that the positions only grow: in order, no entry twice.
#[track_caller]
pub fn assert_ascending(entries: &[Value]) {
    let shape = stream_shape(entries);
    assert!(
        shape.windows(2).all(|w| w[0].1 < w[1].1),
        "positions not strictly ascending: {shape:?}"
    );
}

/// The stream entries of `room` a v1 socket gets, up to and with the
/// message whose content is `marker`; skips everything else (presence,
/// other rooms, answers).
pub async fn stream_until(ws: &mut Ws, room: &str, marker: &str) -> Vec<Value> {
    let mut entries = Vec::new();
    loop {
        let v = next_json(ws).await;
        let kind = v["type"].as_str().unwrap_or_default();
        if v["room"] != room || !STREAM_ENTRIES.contains(&kind) {
            continue;
        }
        let last = kind == "message" && v["content"] == marker;
        entries.push(v);
        if last {
            return entries;
        }
    }
}

/// Sends a v1 command with a fresh `ref` and returns its answer: the `ack`
/// or `error` carrying that `ref`. Skips everything else, so a socket that
/// must see the room's events in order should not be the one commanding.
pub async fn v1_command(ws: &mut Ws, mut command: Value) -> Value {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let reference = format!("cmd-{}", N.fetch_add(1, Ordering::Relaxed));
    command["ref"] = json!(reference);
    send_json(ws, command).await;
    loop {
        let v = next_json(ws).await;
        if matches!(v["type"].as_str(), Some("ack" | "error")) && v["ref"] == reference.as_str() {
            return v;
        }
    }
}

/// A v1 command that must be acknowledged; the ack.
pub async fn v1_done(ws: &mut Ws, command: Value) -> Value {
    let what = command.to_string();
    let answer = v1_command(ws, command).await;
    assert_eq!(answer["type"], "ack", "{what} -> {answer}");
    answer
}

/// `/rooms/{room}/messages/{id}/reactions/{emoji}`, the emoji percent-encoded.
pub fn reaction_path(room: &str, id: i64, emoji: &str) -> String {
    let mut encoded = String::new();
    for byte in emoji.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("/rooms/{room}/messages/{id}/reactions/{encoded}")
}
