//! `connections`: as many idle, authenticated sockets as the machine allows,
//! and what they cost the server in memory and in CPU at rest.

use super::BenchError;
use super::client::{self, Node, Socket, Wire};
use super::report::{CpuMark, CpuUsed, rss_bytes};
use futures_util::StreamExt;
use serde::Serialize;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub requested: usize,
    pub connected: usize,
    /// Why fewer than requested, if so.
    pub stopped_by: Option<String>,
    pub members_per_room: usize,
    pub connect_s: f64,
    pub server_rss_before: Option<u64>,
    pub server_rss_after: Option<u64>,
    pub rss_bytes_per_connection: Option<f64>,
    pub idle_s: f64,
    pub idle_cpu: CpuUsed,
}

fn idle_room(n: usize, members_per_room: usize) -> String {
    format!("bench-idle-{}", n / members_per_room.max(1))
}

pub async fn run(
    nodes: &[Node],
    tokens: &[String],
    count: usize,
    members_per_room: usize,
    idle: Duration,
    wire: Wire,
    server_pid: Option<u32>,
) -> Result<Outcome, BenchError> {
    let rooms: Vec<String> = (0..count.div_ceil(members_per_room.max(1)))
        .map(|r| idle_room(r * members_per_room.max(1), members_per_room))
        .collect();
    client::ensure_rooms(&nodes[0], &tokens[0], &rooms).await?;
    let rss_before = server_pid.and_then(rss_bytes);
    let started = Instant::now();
    let mut sockets: Vec<Socket> = Vec::with_capacity(count);
    let mut stopped_by = None;
    // Connect in waves of 256 at once.
    'waves: while sockets.len() < count {
        let wave: Vec<usize> = (sockets.len()..count.min(sockets.len() + 256)).collect();
        let mut pending = Vec::with_capacity(wave.len());
        for n in wave {
            let node = nodes[n % nodes.len()].clone();
            let token = tokens[n % tokens.len()].clone();
            let path = format!("/ws/{}", idle_room(n, members_per_room));
            pending.push(tokio::spawn(async move {
                let mut ws = client::connect(&node, &path, &token, wire, n as u32).await?;
                // The welcome (join line or `subscribed`) proves the socket is
                // in its room; anything else (a close frame) is a failure.
                match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
                    Ok(Some(Ok(Message::Text(_)))) => Ok(ws),
                    other => Err(BenchError::Connect(format!("no welcome: {other:?}"))),
                }
            }));
        }
        for task in pending {
            match task.await.map_err(|e| BenchError::Setup(e.to_string()))? {
                Ok(ws) => sockets.push(ws),
                Err(BenchError::FileLimit) => {
                    stopped_by = Some(
                        "the generator hit its open-file limit (EMFILE): this machine allows \
                         no more sockets per process"
                            .to_owned(),
                    );
                    break 'waves;
                }
                Err(err) => {
                    stopped_by = Some(format!(
                        "connect failed after {} sockets: {err} (the server may have hit its \
                         open-file limit)",
                        sockets.len()
                    ));
                    break 'waves;
                }
            }
        }
    }
    let connect_s = started.elapsed().as_secs_f64();
    let connected = sockets.len();

    // Idle: keep reading (answering the server's pings) and measure the CPU.
    let (keep, mut readers) = (tokio_util::sync::CancellationToken::new(), Vec::new());
    for ws in sockets {
        let keep = keep.clone();
        readers.push(tokio::spawn(async move {
            let mut ws = ws;
            loop {
                tokio::select! {
                    _ = keep.cancelled() => break,
                    frame = ws.next() => if frame.is_none() { break },
                }
            }
            ws
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = server_pid.and_then(rss_bytes);
    let cpu = CpuMark::now(server_pid);
    tokio::time::sleep(idle).await;
    let idle_cpu = cpu.since(server_pid);
    keep.cancel();
    for r in readers {
        let _ = r.await;
    }
    Ok(Outcome {
        requested: count,
        connected,
        stopped_by,
        members_per_room,
        connect_s,
        server_rss_before: rss_before,
        server_rss_after: rss_after,
        rss_bytes_per_connection: rss_before
            .zip(rss_after)
            .filter(|_| connected > 0)
            .map(|(b, a)| (a.saturating_sub(b)) as f64 / connected as f64),
        idle_s: idle.as_secs_f64(),
        idle_cpu,
    })
}
