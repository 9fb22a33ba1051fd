//! `resume`: a client that missed N messages subscribes with `since` and
//! gets them all, in order; how long that takes.

use super::BenchError;
use super::client::{self, Node, Wire};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub missed: usize,
    pub replayed: usize,
    pub in_order: bool,
    /// Per repetition: from the subscribe to the last replayed message.
    pub seconds: Vec<f64>,
    pub median_s: f64,
}

pub async fn run(
    node: &Node,
    token: &str,
    room: &str,
    missed: usize,
    repeat: usize,
) -> Result<Outcome, BenchError> {
    // Fill the room with `missed` messages and note where they start.
    let mut writer = client::connect(node, &format!("/ws/{room}"), token, Wire::V1, 0).await?;
    let run_id = client::run_id();
    let mut first_id = None;
    let mut acked = 0;
    let mut sent = 0;
    while acked < missed {
        // Keep a window of 500 in flight.
        while sent < missed && sent - acked < 500 {
            let cmd = json!({"type": "send", "room": room, "content": format!("missed {sent}"), "client_id": format!("{run_id}-{sent}")});
            writer
                .send(Message::Text(cmd.to_string().into()))
                .await
                .map_err(|e| BenchError::Connect(e.to_string()))?;
            sent += 1;
        }
        match tokio::time::timeout(Duration::from_secs(30), writer.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap_or(Value::Null);
                match v["type"].as_str() {
                    Some("ack") => {
                        acked += 1;
                        if first_id.is_none() {
                            first_id = v["id"].as_i64();
                        }
                    }
                    Some("error") => {
                        return Err(BenchError::Setup(format!("filling the room: {v}")));
                    }
                    _ => {}
                }
            }
            Ok(Some(Ok(_))) => {}
            other => return Err(BenchError::Connect(format!("filling the room: {other:?}"))),
        }
    }
    let since = first_id.unwrap_or(1) - 1;
    drop(writer);

    let mut seconds = Vec::new();
    let (mut replayed, mut in_order) = (0, true);
    for _ in 0..repeat.max(1) {
        let mut ws = client::connect(node, "/ws", token, Wire::V1, 1).await?;
        let started = Instant::now();
        let cmd = json!({"type": "subscribe", "room": room, "since": since});
        ws.send(Message::Text(cmd.to_string().into()))
            .await
            .map_err(|e| BenchError::Connect(e.to_string()))?;
        let (mut count, mut last) = (0usize, since);
        while count < missed {
            match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => {
                    if let Some((id, _)) = client::scan_v1(t.as_str()) {
                        in_order &= id > last;
                        last = id;
                        count += 1;
                    }
                }
                Ok(Some(Ok(_))) => {}
                other => {
                    return Err(BenchError::Connect(format!(
                        "replay stopped after {count}: {other:?}"
                    )));
                }
            }
        }
        seconds.push(started.elapsed().as_secs_f64());
        replayed = count;
    }
    let mut sorted = seconds.clone();
    sorted.sort_by(f64::total_cmp);
    Ok(Outcome {
        missed,
        replayed,
        in_order,
        median_s: sorted[sorted.len() / 2],
        seconds,
    })
}
