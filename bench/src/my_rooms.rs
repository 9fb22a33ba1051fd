//! `my-rooms`: `GET /users/me/rooms` for a user who is a member of N rooms;
//! how fast the server answers it and how big the answer is.

use super::BenchError;
use super::client::{self, Node};
use super::report::{self, CpuMark, CpuUsed, Latency};
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub rooms: usize,
    pub requests: usize,
    pub concurrency: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Rooms this run created (the user owns them all).
    pub rooms: usize,
    /// Rooms in the answer: more than `rooms` if the user was already a
    /// member of others (an earlier run against the same server).
    pub listed: usize,
    pub body_bytes: usize,
    pub requests: usize,
    pub concurrency: usize,
    pub setup_s: f64,
    pub seconds: f64,
    pub requests_per_s: f64,
    pub latency: Latency,
    pub cpu: CpuUsed,
}

/// Creating rooms is a write each: a few at a time, not hundreds.
const CREATE_AT_ONCE: usize = 8;

fn room(run_id: &str, n: usize) -> String {
    format!("bench-mine-{run_id}-{n}")
}

pub async fn run(
    node: &Node,
    token: &str,
    load: Load,
    server_pid: Option<u32>,
) -> Result<Outcome, BenchError> {
    let started = Instant::now();
    let run_id = client::run_id();
    let rooms: Vec<String> = (0..load.rooms).map(|n| room(&run_id, n)).collect();
    client::ensure_rooms_at_once(node, token, &rooms, CREATE_AT_ONCE).await?;
    let http = reqwest::Client::new();
    let url = format!("{}/users/me/rooms", node.base);

    // The figures mean nothing unless the list holds this run's rooms.
    let body = get(&http, &url, token).await?;
    let listed: Value = serde_json::from_slice(&body)
        .map_err(|e| BenchError::Setup(format!("GET /users/me/rooms: not JSON: {e}")))?;
    let names: std::collections::HashSet<&str> = listed["rooms"]
        .as_array()
        .map(|rooms| rooms.iter().filter_map(|r| r["name"].as_str()).collect())
        .unwrap_or_default();
    let missing = rooms.iter().filter(|r| !names.contains(r.as_str())).count();
    if missing > 0 {
        return Err(BenchError::Setup(format!(
            "GET /users/me/rooms lists {} rooms, {missing} of the {} just created missing",
            names.len(),
            load.rooms
        )));
    }
    let setup_s = started.elapsed().as_secs_f64();

    // Closed loop: `concurrency` workers, each sending its next request as
    // soon as the last one's body has arrived, over kept-alive connections.
    let next = Arc::new(AtomicUsize::new(0));
    let cpu = CpuMark::now(server_pid);
    let timed = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..load.concurrency.clamp(1, load.requests.max(1)) {
        let (http, url, token, next) = (http.clone(), url.clone(), token.to_owned(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut histogram = report::histogram();
            while next.fetch_add(1, Ordering::Relaxed) < load.requests {
                let sent = Instant::now();
                get(&http, &url, &token).await?;
                // Saturated at the histogram's bounds: never fails.
                let _ = histogram.record(report::micros(sent.elapsed()));
            }
            Ok::<_, BenchError>(histogram)
        }));
    }
    let mut histogram = report::histogram();
    for worker in workers {
        let h = worker
            .await
            .map_err(|e| BenchError::Setup(e.to_string()))??;
        // Same bounds on both sides: never fails.
        let _ = histogram.add(&h);
    }
    let seconds = timed.elapsed().as_secs_f64();
    let cpu = cpu.since(server_pid);
    Ok(Outcome {
        rooms: load.rooms,
        listed: names.len(),
        body_bytes: body.len(),
        requests: load.requests,
        concurrency: load.concurrency,
        setup_s,
        seconds,
        requests_per_s: if seconds > 0.0 {
            load.requests as f64 / seconds
        } else {
            0.0
        },
        latency: Latency::of(&histogram),
        cpu,
    })
}

/// The whole body of a 200, or an error that says what came instead.
async fn get(http: &reqwest::Client, url: &str, token: &str) -> Result<Vec<u8>, BenchError> {
    let failed = |e: reqwest::Error| BenchError::Request(format!("GET {url}: {e}"));
    let response = http
        .get(url)
        .bearer_auth(token)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .map_err(failed)?;
    let status = response.status();
    let body = response.bytes().await.map_err(failed)?;
    if status != reqwest::StatusCode::OK {
        return Err(BenchError::Request(format!(
            "GET {url}: HTTP {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        )));
    }
    Ok(body.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names_are_valid_for_the_server() {
        let name = room(&client::run_id(), 99_999);
        assert!(palaver::model::RoomName::parse(&name).is_ok(), "{name}");
    }
}
