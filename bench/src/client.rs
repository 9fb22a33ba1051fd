//! The generator's side of the wire: accounts over HTTP, sockets over
//! WebSocket, spread over several loopback source addresses so that one
//! destination port can take more than ~28k connections.

use super::BenchError;
use futures_util::{StreamExt, TryStreamExt};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

pub type Socket = WebSocketStream<TcpStream>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Wire {
    /// palaver.v1 JSON
    V1,
    /// the chapter's text frames
    Compat,
}

/// One server node: its HTTP base and the address to dial.
#[derive(Debug, Clone)]
pub struct Node {
    pub base: String,
    pub host: String,
    pub addr: SocketAddr,
}

impl Node {
    pub async fn parse(url: &str) -> Result<Self, BenchError> {
        let base = url.trim_end_matches('/').to_owned();
        let host = base
            .strip_prefix("http://")
            .ok_or_else(|| BenchError::Setup(format!("{url}: only http:// URLs")))?
            .to_owned();
        let addr = tokio::net::lookup_host(&host)
            .await
            .map_err(|e| BenchError::Setup(format!("{host}: {e}")))?
            .next()
            .ok_or_else(|| BenchError::Setup(format!("{host}: no address")))?;
        Ok(Self { base, host, addr })
    }
}

/// Registers `count` users named `<prefix><n>` (or logs in if they exist)
/// and returns their tokens.
pub async fn accounts(node: &Node, prefix: &str, count: usize) -> Result<Vec<String>, BenchError> {
    let http = reqwest::Client::new();
    let password = "bench-password";
    let mut tasks = Vec::new();
    // A few at a time: registration hashes a password (tens of ms of CPU).
    let per_task = count.div_ceil(4).max(1);
    for chunk in (0..count).collect::<Vec<_>>().chunks(per_task) {
        let (http, base, prefix, chunk) = (
            http.clone(),
            node.base.clone(),
            prefix.to_owned(),
            chunk.to_vec(),
        );
        tasks.push(tokio::spawn(async move {
            let mut tokens = Vec::new();
            for n in chunk {
                let name = format!("{prefix}{n}");
                let _ = http
                    .post(format!("{base}/register"))
                    .json(&serde_json::json!({"username": name, "password": password}))
                    .send()
                    .await;
                let response = http
                    .post(format!("{base}/token"))
                    .form(&[("username", name.as_str()), ("password", password)])
                    .send()
                    .await
                    .map_err(|e| BenchError::Setup(format!("login {name}: {e}")))?;
                let status = response.status();
                let body: Value = response
                    .json()
                    .await
                    .map_err(|e| BenchError::Setup(format!("login {name}: HTTP {status}: {e}")))?;
                let token = body["access_token"]
                    .as_str()
                    .ok_or_else(|| BenchError::Setup(format!("login {name}: {body}")))?;
                tokens.push(token.to_owned());
            }
            Ok::<_, BenchError>(tokens)
        }));
    }
    let mut tokens = Vec::with_capacity(count);
    for task in tasks {
        tokens.extend(task.await.map_err(|e| BenchError::Setup(e.to_string()))??);
    }
    Ok(tokens)
}

/// Makes sure the bench's rooms exist.
pub async fn ensure_rooms(node: &Node, token: &str, rooms: &[String]) -> Result<(), BenchError> {
    ensure_rooms_at_once(node, token, rooms, 1).await
}

/// As `ensure_rooms`, with up to `at_once` creations in flight: hundreds of
/// rooms one after the other take a while.
pub async fn ensure_rooms_at_once(
    node: &Node,
    token: &str,
    rooms: &[String],
    at_once: usize,
) -> Result<(), BenchError> {
    let http = reqwest::Client::new();
    futures_util::stream::iter(rooms)
        .map(|room| create_room(&http, node, token, room))
        .buffer_unordered(at_once.max(1))
        .try_collect()
        .await
}

async fn create_room(
    http: &reqwest::Client,
    node: &Node,
    token: &str,
    room: &str,
) -> Result<(), BenchError> {
    let response = http
        .post(format!("{}/rooms", node.base))
        .bearer_auth(token)
        .json(&serde_json::json!({"name": room, "topic": "palaver bench"}))
        .send()
        .await
        .map_err(|e| BenchError::Setup(format!("create room {room}: {e}")))?;
    let status = response.status().as_u16();
    if status != 201 && status != 409 {
        return Err(BenchError::Setup(format!(
            "create room {room}: HTTP {status}"
        )));
    }
    Ok(())
}

/// Small buffers: the generator holds as many sockets as the server.
fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0)
        .max_message_size(Some(1 << 20))
}

/// Opens a WebSocket to `path` on `node`, from loopback source address
/// number `source` (127.0.0.1 + source) when the node is on loopback.
pub async fn connect(
    node: &Node,
    path: &str,
    token: &str,
    wire: Wire,
    source: u32,
) -> Result<Socket, BenchError> {
    let socket = TcpSocket::new_v4().map_err(connect_error)?;
    if node.addr.ip().is_loopback() {
        let ip = Ipv4Addr::from(u32::from(Ipv4Addr::new(127, 0, 0, 1)) + source % 250);
        socket
            .bind(SocketAddr::new(IpAddr::V4(ip), 0))
            .map_err(connect_error)?;
    }
    let stream = socket.connect(node.addr).await.map_err(connect_error)?;
    stream.set_nodelay(true).map_err(connect_error)?;
    let mut request = format!("ws://{}{path}", node.host)
        .into_client_request()
        .map_err(|e| BenchError::Connect(e.to_string()))?;
    let headers = request.headers_mut();
    let bearer = HeaderValue::from_str(&format!("Bearer {token}"))
        .map_err(|e| BenchError::Connect(e.to_string()))?;
    headers.insert("authorization", bearer);
    if wire == Wire::V1 {
        headers.insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("palaver.v1"),
        );
    }
    let (ws, _) = tokio_tungstenite::client_async_with_config(request, stream, Some(ws_config()))
        .await
        .map_err(|e| BenchError::Connect(e.to_string()))?;
    Ok(ws)
}

/// `members` sockets in each of `rooms` rooms (named by `room`), over
/// `/ws/{room}`, spread over the nodes and the tokens in turn; each is
/// returned once the server has confirmed its membership: v1's `subscribed`,
/// or the chapter's first line (its join).
pub async fn connect_rooms(
    (nodes, tokens): (&[Node], &[String]),
    (rooms, members): (usize, usize),
    room: impl Fn(usize) -> String,
    wire: Wire,
) -> Result<Vec<Vec<Socket>>, BenchError> {
    if nodes.is_empty() || tokens.is_empty() {
        return Err(BenchError::Setup(
            "no node or no account to connect with".into(),
        ));
    }
    let mut sockets: Vec<Vec<Socket>> = Vec::with_capacity(rooms);
    let mut source = 0u32;
    for r in 0..rooms {
        let path = format!("/ws/{}", room(r));
        let mut members_here = Vec::with_capacity(members);
        for m in 0..members {
            let n = r * members + m;
            let node = &nodes[n % nodes.len()];
            let token = &tokens[n % tokens.len()];
            let mut ws = connect(node, &path, token, wire, source).await?;
            source += 1;
            match tokio::time::timeout(std::time::Duration::from_secs(10), ws.next()).await {
                Ok(Some(Ok(Message::Text(text))))
                    if wire == Wire::Compat || text.as_str().contains(r#""subscribed""#) => {}
                other => {
                    return Err(BenchError::Connect(format!(
                        "not welcomed on {path}: {other:?}"
                    )));
                }
            }
            members_here.push(ws);
        }
        sockets.push(members_here);
    }
    Ok(sockets)
}

/// A prefix for the `client_id`s of one run, unique across runs and
/// processes. The server keeps every (user, client_id) forever and answers a
/// reused one as a duplicate without broadcasting it, so a prefix that
/// repeats between two ramp steps (same users) reads as lost messages.
pub fn run_id() -> String {
    static RUNS: AtomicU64 = AtomicU64::new(0);
    let wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{:x}-{wall:x}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    )
}

fn connect_error(e: std::io::Error) -> BenchError {
    if e.raw_os_error() == Some(24) {
        BenchError::FileLimit
    } else {
        BenchError::Connect(e.to_string())
    }
}

/// The pieces of a delivered message the bench needs, without a full JSON
/// parse: the generator must stay cheaper than the server it measures.
pub fn scan_v1(frame: &str) -> Option<(i64, &str)> {
    if !frame.starts_with(r#"{"type":"message""#) {
        return None;
    }
    let id = number_after(frame, r#""id":"#)?;
    let start = frame.find(r#""content":""#)? + r#""content":""#.len();
    let end = start + frame[start..].find('"')?;
    Some((id, &frame[start..end]))
}

/// `[room] user: content` -> content (compat frames carry no id).
pub fn scan_compat(frame: &str) -> Option<&str> {
    let rest = frame.strip_prefix('[')?;
    let after_room = rest.find("] ")? + 2;
    let rest = &rest[after_room..];
    Some(&rest[rest.find(": ")? + 2..])
}

fn number_after(text: &str, key: &str) -> Option<i64> {
    let start = text.find(key)? + key.len();
    let digits: &str = &text[start..];
    let end = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    digits[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_run_gets_its_own_client_id_prefix() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| run_id()).collect();
        assert_eq!(ids.len(), 1000);
    }

    #[test]
    fn scans_frames() {
        let v1 = r#"{"type":"message","id":42,"room":"r","user":"u","content":"b1:2:3","ts":"x"}"#;
        assert_eq!(scan_v1(v1), Some((42, "b1:2:3")));
        assert_eq!(scan_v1(r#"{"type":"ack","id":1}"#), None);
        assert_eq!(scan_compat("[bench-0] user1: b1:2:3"), Some("b1:2:3"));
        assert_eq!(scan_compat("User 'x' joined room 'y'."), None);
    }
}
