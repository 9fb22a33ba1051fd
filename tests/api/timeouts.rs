//! Clients that take their time or take too much: heads that never finish,
//! idle and stalled connections, oversized heads, and a server at its file
//! limit. Raw TCP where a well-behaved client library would not misbehave.

use crate::helpers::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection (or resets it), for at most
/// `PATIENCE`; returns what came and when the end came.
async fn read_until_closed(tcp: &mut TcpStream) -> (Vec<u8>, Instant) {
    read_until_closed_within(tcp, PATIENCE).await
}

async fn read_until_closed_within(tcp: &mut TcpStream, patience: Duration) -> (Vec<u8>, Instant) {
    let mut got = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    tokio::time::timeout(patience, async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .expect("the server closes the connection in time");
    (got, Instant::now())
}

/// Reads one response with a `content-length` body.
async fn read_response(tcp: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(PATIENCE, async {
        loop {
            let n = tcp.read(&mut buf).await.expect("read");
            assert!(
                n > 0,
                "closed mid-response: {:?}",
                String::from_utf8_lossy(&got)
            );
            got.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&got);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .expect("content-length")
                    .parse()
                    .expect("a length");
                if body.len() >= length {
                    return text.into_owned();
                }
            }
        }
    })
    .await
    .expect("a response in time")
}

async fn connect(s: &TestServer) -> TcpStream {
    TcpStream::connect(s.base.trim_start_matches("http://"))
        .await
        .expect("connect")
}

#[tokio::test]
async fn a_head_that_never_ends_is_dropped_within_the_header_timeout() {
    let s = spawn_with(|c| {
        c.header_timeout = Duration::from_secs(1);
        c.idle_timeout = Duration::from_secs(60);
    })
    .await;
    let token = s.user("slow").await;
    let upgrade = format!(
        "GET /ws/general?token={token} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
    );
    for start in ["GET /healthz HTTP/1.1\r\nHost: x\r\n", upgrade.as_str()] {
        let mut tcp = connect(&s).await;
        let began = Instant::now();
        tcp.write_all(start.as_bytes()).await.unwrap();
        // A header line every 200 ms: bytes keep coming, the head never ends.
        let (mut read, mut write) = tcp.into_split();
        let trickle = tokio::spawn(async move {
            for i in 0.. {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if write
                    .write_all(format!("X-{i}: y\r\n").as_bytes())
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
        let mut got = Vec::new();
        let closed = tokio::time::timeout(PATIENCE, read.read_to_end(&mut got)).await;
        assert!(closed.is_ok(), "still open after {PATIENCE:?}: {start}");
        let after = began.elapsed();
        assert!(
            after >= Duration::from_millis(900) && after < Duration::from_secs(4),
            "dropped after {after:?}"
        );
        assert!(got.is_empty(), "{:?}", String::from_utf8_lossy(&got));
        trickle.abort();
    }
    // A connection that sends nothing at all gets no longer.
    let mut silent = connect(&s).await;
    let began = Instant::now();
    let (_, closed) = read_until_closed(&mut silent).await;
    assert!(closed - began < Duration::from_secs(4));
    // And the server serves on.
    assert_eq!(s.get_json("/healthz", None).await.0, 200);
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout_not_before() {
    let s = spawn_with(|c| {
        c.header_timeout = Duration::from_secs(1);
        c.idle_timeout = Duration::from_secs(3);
    })
    .await;
    let mut tcp = connect(&s).await;
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    tcp.write_all(request).await.unwrap();
    assert!(read_response(&mut tcp).await.starts_with("HTTP/1.1 200"));
    // Idle for longer than the header timeout: that one is for heads begun,
    // not for the wait between requests.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    tcp.write_all(request).await.unwrap();
    assert!(read_response(&mut tcp).await.starts_with("HTTP/1.1 200"));
    let idle_from = Instant::now();
    let (got, closed) = read_until_closed(&mut tcp).await;
    assert!(got.is_empty());
    let idle = closed - idle_from;
    assert!(
        idle >= Duration::from_millis(2800) && idle < Duration::from_secs(6),
        "closed after {idle:?} idle"
    );
}

#[tokio::test]
async fn websockets_outlive_the_http_timeouts() {
    let s = spawn_with(|c| {
        c.header_timeout = Duration::from_millis(500);
        c.idle_timeout = Duration::from_millis(500);
    })
    .await;
    let token = s.user("patient").await;
    let mut compat = s.compat("general", &token).await;
    next_text(&mut compat).await;
    let mut v1 = s.v1("/ws", &token).await;
    send_json(&mut v1, json!({"type": "ping", "ref": 1})).await;
    assert_eq!(next_json(&mut v1).await, json!({"type": "pong", "ref": 1}));
    // Silent (pings come every 30 s) for well past both timeouts.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    send_text(&mut compat, "still there?").await;
    assert_eq!(
        next_text(&mut compat).await,
        "[general] patient: still there?"
    );
    send_json(&mut v1, json!({"type": "ping", "ref": 2})).await;
    assert_eq!(next_json(&mut v1).await, json!({"type": "pong", "ref": 2}));
    // And plain requests still work over fresh connections.
    assert_eq!(s.get_json("/rooms", None).await.0, 200);
}

#[tokio::test]
async fn a_client_that_never_reads_its_answers_is_dropped() {
    let s = spawn_with(|c| {
        c.header_timeout = Duration::from_secs(1);
        c.idle_timeout = Duration::from_secs(1);
    })
    .await;
    let size = s
        .http
        .get(s.url("/static/app.css"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .len();
    assert!(size > 4096);
    // Far more answers than any socket buffers hold (with a small window).
    let requests = (64 << 20) / size;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut tcp = socket
        .connect(s.base.trim_start_matches("http://").parse().unwrap())
        .await
        .unwrap();
    let pipelined = "GET /static/app.css HTTP/1.1\r\nHost: x\r\n\r\n".repeat(requests);
    let (mut read, mut write) = tcp.split();
    // The client writes its requests, then is busy elsewhere for three idle
    // timeouts and reads nothing.
    tokio::time::timeout(PATIENCE, write.write_all(pipelined.as_bytes()))
        .await
        .expect("the requests fit the server's buffers")
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut got = 0usize;
    let mut buf = vec![0u8; 64 * 1024];
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got += n,
            }
        }
    })
    .await
    .expect("the server gave up on the connection");
    assert!(
        got < requests * size / 4,
        "{got} bytes of {} were answered",
        requests * size
    );
    assert_eq!(s.get_json("/healthz", None).await.0, 200);
}

async fn assert_detail(response: reqwest::Response, status: u16, says: &str) {
    assert_eq!(response.status(), status);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: Value = response.json().await.expect("a JSON body");
    assert!(
        body["detail"].as_str().is_some_and(|d| d.contains(says)),
        "{body}"
    );
}

#[tokio::test]
async fn oversized_heads_get_414_and_431_with_a_json_detail() {
    let s = spawn().await;
    // (A client library refuses URLs over 64 KiB; a raw client below.)
    for length in [9 * 1024, 60 * 1024] {
        let url = s.url(&format!("/rooms?q={}", "a".repeat(length)));
        let response = s.http.get(url).send().await.expect("an answer");
        assert_detail(response, 414, "Request line too long").await;
    }
    // Within the limit it is just a request.
    let url = s.url(&format!("/rooms?q={}", "a".repeat(7 * 1024)));
    assert_eq!(s.http.get(url).send().await.unwrap().status(), 200);

    for length in [40 * 1024, 1024 * 1024] {
        let response = s
            .http
            .get(s.url("/rooms"))
            .header("x-big", "b".repeat(length))
            .send()
            .await
            .expect("an answer");
        assert_detail(response, 431, "Request headers too large").await;
    }
    let mut many = s.http.get(s.url("/rooms"));
    for i in 0..120 {
        many = many.header(format!("x-{i}"), "y");
    }
    assert_detail(many.send().await.unwrap(), 431, "Too many request headers").await;

    // A raw client sees the same, and the connection closes after it.
    let mut tcp = connect(&s).await;
    let head = format!(
        "GET /{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(200 * 1024)
    );
    let (mut read, mut write) = tcp.split();
    let mut got = Vec::new();
    let (_, _) = tokio::join!(write.write_all(head.as_bytes()), read.read_to_end(&mut got));
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{text}");
    assert!(text.ends_with("}"), "{text}");
    assert_eq!(s.get_json("/healthz", None).await.0, 200);
}

/// CPU time (user + system) the process `pid` has used, in clock ticks.
#[cfg(target_os = "linux")]
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the server's stat");
    // After the command's name (in parentheses): state is field 3, utime 14, stime 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("a stat line")
        .1
        .split_whitespace()
        .collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

/// The answer to `GET /healthz` on a fresh connection.
async fn probe(s: &TestServer) -> String {
    let mut tcp = connect(s).await;
    // A refused connection may be closed before the request is written.
    let _ = tcp
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let (got, _) = read_until_closed(&mut tcp).await;
    String::from_utf8_lossy(&got).into_owned()
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn at_its_file_limit_the_server_answers_healthz_and_refuses_clearly() {
    use tokio::io::AsyncBufReadExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    const LIMIT: usize = 256;
    init_logging();
    let dir = tempfile::tempdir().unwrap();
    // The real binary, under a file limit of its own (prlimit execs it, so
    // the child's pid is the server's).
    let mut child = tokio::process::Command::new("prlimit")
        .arg(format!("--nofile={LIMIT}:{LIMIT}"))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_palaver"))
        .arg("--data-dir")
        .arg(dir.path())
        .args([
            "--port",
            "0",
            "--header-timeout",
            "60s",
            "--idle-timeout",
            "60s",
        ])
        .args([
            "--max-connections-per-user",
            "0",
            "--max-connections-per-address",
            "0",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(child_stderr())
        .kill_on_drop(true)
        .spawn()
        .expect("prlimit (util-linux) starts the server");
    forward_stderr(&mut child);
    let pid = child.id().expect("running");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = tokio::time::timeout(PATIENCE, async {
        loop {
            let line = lines
                .next_line()
                .await
                .unwrap()
                .expect("the server says where");
            if let Some(rest) = line.strip_prefix("palaver serving on http://") {
                return rest.split(' ').next().unwrap().to_owned();
            }
        }
    })
    .await
    .expect("the server starts");
    let s = TestServer {
        server: None,
        config: palaver::Config::with_data_dir(dir.path()),
        base: format!("http://{addr}"),
        ws_base: format!("ws://{addr}"),
        dir,
        http: reqwest::Client::new(),
    };
    let token = s.user("many").await;
    let open = || {
        let mut request = format!("{}/ws?token={token}", s.ws_base)
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("sec-websocket-protocol", "palaver.v1".parse().unwrap());
        tokio_tungstenite::connect_async(request)
    };

    // WebSockets until the server says no: clearly, and before the limit.
    let mut sockets = Vec::new();
    let refusal = loop {
        assert!(sockets.len() < LIMIT, "no refusal before the file limit");
        match open().await {
            Ok((ws, _)) => sockets.push(ws),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => break response,
            Err(other) => panic!("after {} sockets: {other}", sockets.len()),
        }
    };
    assert_eq!(refusal.status(), 503);
    let body = String::from_utf8_lossy(refusal.body().as_deref().unwrap_or_default()).into_owned();
    let body: Value = serde_json::from_str(&body).expect("a JSON body");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("connection limit"),
        "{body}"
    );
    assert!(sockets.len() > LIMIT / 2, "refused at {}", sockets.len());
    // The reserve is for plain requests.
    assert!(probe(&s).await.starts_with("HTTP/1.1 200"));
    assert_eq!(s.get_json("/healthz", None).await.0, 200);

    // Connections that never send a request, until even the reserve is
    // gone: then a new connection is told so, not left hanging.
    let mut silent = Vec::new();
    let answer = loop {
        assert!(silent.len() < LIMIT, "never ran out of descriptors");
        silent.push(connect(&s).await);
        let answer = probe(&s).await;
        if !answer.starts_with("HTTP/1.1 200") {
            break answer;
        }
    };
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    let detail: Value = serde_json::from_str(answer.split_once("\r\n\r\n").unwrap().1).unwrap();
    assert!(
        detail["detail"]
            .as_str()
            .unwrap()
            .contains("connection limit")
    );
    // Out of descriptors with clients knocking, the accept loop neither
    // spins nor stops: each knock is answered, and the server idles. (A
    // knock that finds a descriptor come free, say of a connection that
    // just closed, is served like any other: each asks for /healthz, so
    // that it is answered either way, and at least one must be refused.)
    let before = cpu_ticks(pid);
    let mut knocks = Vec::new();
    for _ in 0..20 {
        let mut knock = connect(&s).await;
        // A refused knock may be closed before its request is written.
        let _ = knock
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await;
        knocks.push(knock);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let used = cpu_ticks(pid) - before;
    // Out of descriptors, the server answers one knock at a time, each
    // once the last one's socket is closed (on a loaded machine, a while).
    let mut refused = 0;
    for mut knock in knocks {
        let (got, _) = read_until_closed_within(&mut knock, 3 * PATIENCE).await;
        let got = String::from_utf8_lossy(&got);
        if got.starts_with("HTTP/1.1 503") {
            refused += 1;
        } else {
            assert!(got.starts_with("HTTP/1.1 200"), "{got}");
        }
    }
    assert!(refused > 0, "no knock was refused at the limit");
    assert!(
        used < 30,
        "{used} ticks of CPU in a second out of descriptors"
    );

    // Once the silent ones go, plain requests are served again, and once
    // the WebSockets go, so are upgrades.
    drop(silent);
    eventually("/healthz answers again", || async {
        probe(&s).await.starts_with("HTTP/1.1 200")
    })
    .await;
    assert!(matches!(
        open().await,
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) if r.status() == 503
    ));
    drop(sockets);
    let mut again = None;
    for _ in 0..100 {
        if let Ok((ws, _)) = open().await {
            again = Some(ws);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(again.is_some(), "upgrades are let in again");
}
