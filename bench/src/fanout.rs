//! `fanout`: R rooms x C members, S of them sending at M messages/s each,
//! open-loop. Every member checks it got every message once and in order;
//! latency is measured from the planned send time to arrival.

use super::BenchError;
use super::client::{self, Node, Socket, Wire};
use super::report::{CpuMark, CpuUsed, Latency, histogram, micros, rss_bytes};
use super::track::{Probe, Tracker};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct Plan {
    pub rooms: usize,
    pub members: usize,
    pub senders: usize,
    /// Messages per second per sender.
    pub rate: f64,
    pub warmup: Duration,
    pub duration: Duration,
    pub wire: Wire,
    /// Members per room that connect and then never read.
    pub stalled: usize,
    /// Bytes of each message's content (0: just the probe, ~30 bytes).
    pub payload: usize,
    /// How long to wait for the last messages after sending stops.
    pub drain: Duration,
    pub room_prefix: String,
}

impl Plan {
    fn readers_per_room(&self) -> usize {
        self.members - self.stalled
    }

    pub fn offered_deliveries_per_s(&self) -> f64 {
        (self.rooms * self.senders * self.readers_per_room()) as f64 * self.rate
    }

    pub fn room(&self, r: usize) -> String {
        format!("{}{r}", self.room_prefix)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub rooms: usize,
    pub members: usize,
    pub senders_per_room: usize,
    pub rate_per_sender: f64,
    pub stalled_per_room: usize,
    pub offered_deliveries_per_s: f64,
    /// Deliveries of messages planned inside the measured window, per second.
    pub deliveries_per_s: f64,
    pub latency: Latency,
    /// How late senders were against their plan (open loop).
    pub sender_lateness: Latency,
    pub sent: u64,
    pub delivered: u64,
    pub lost: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
    /// Readers the server closed before the end (4000: too slow to keep up,
    /// which counts their missing messages as lost here).
    pub disconnected: u64,
    pub close_codes: Vec<u16>,
    /// Never-reading members whose connection the server ended (read after
    /// the run: what their sockets held, then a close frame or the end).
    pub stalled_cut_off: u64,
    pub stalled_close_codes: Vec<u16>,
    pub connect_s: f64,
    pub cpu: CpuUsed,
    pub server_rss_before: Option<u64>,
    pub server_rss_after: Option<u64>,
}

struct Receiver {
    tracker: Tracker,
    /// Set when the connection ended before the run did (close code, or 0).
    cut_off: Option<u16>,
    latency: Histogram<u64>,
    in_window: u64,
    first_sender: usize,
}

struct Shared {
    origin: Instant,
    window_start_ns: u64,
    window_end_ns: u64,
    delivered: AtomicU64,
    stop: CancellationToken,
}

pub async fn run(
    nodes: &[Node],
    tokens: &[String],
    plan: &Plan,
    server_pid: Option<u32>,
) -> Result<Outcome, BenchError> {
    if plan.senders > plan.members || plan.stalled + plan.senders > plan.members {
        return Err(BenchError::Setup(
            "senders + stalled members must fit in a room".into(),
        ));
    }
    let rss_before = server_pid.and_then(rss_bytes);
    let connect_started = Instant::now();
    let sockets = client::connect_rooms(
        (nodes, tokens),
        (plan.rooms, plan.members),
        |r| plan.room(r),
        plan.wire,
    )
    .await?;
    let connect_s = connect_started.elapsed().as_secs_f64();

    let origin = Instant::now();
    // A moment for the join notices to settle before the first send.
    let start = origin + Duration::from_millis(500);
    let window_start = start + plan.warmup;
    let end = window_start + plan.duration;
    let shared = Arc::new(Shared {
        origin,
        window_start_ns: (window_start - origin).as_nanos() as u64,
        window_end_ns: (end - origin).as_nanos() as u64,
        delivered: AtomicU64::new(0),
        stop: CancellationToken::new(),
    });
    let run_id: Arc<str> = client::run_id().into();

    let total_senders = plan.rooms * plan.senders;
    let mut receivers: Vec<JoinHandle<Receiver>> = Vec::new();
    let mut senders: Vec<JoinHandle<SenderDone>> = Vec::new();
    let mut stalled = Vec::new();
    for (r, room) in sockets.into_iter().enumerate() {
        for (m, ws) in room.into_iter().enumerate() {
            if m >= plan.members - plan.stalled {
                stalled.push(ws);
                continue;
            }
            let (write, read) = ws.split();
            let first_sender = r * plan.senders;
            receivers.push(tokio::spawn(receive(
                read,
                Tracker::new(total_senders),
                first_sender,
                plan.wire,
                shared.clone(),
            )));
            if m < plan.senders {
                let sender = first_sender + m;
                senders.push(tokio::spawn(send(
                    write,
                    plan.clone(),
                    plan.room(r),
                    sender,
                    run_id.clone(),
                    start,
                    end,
                    shared.clone(),
                )));
            } else {
                // Keep the write half alive; pings are answered by the read half.
                tokio::spawn(async move {
                    let _write = write;
                    std::future::pending::<()>().await;
                });
            }
        }
    }

    let cpu = CpuMark::now(server_pid);
    let mut sent = vec![0u64; total_senders];
    let mut lateness = histogram();
    // Sockets stay open until the receivers are done.
    let mut open_sinks = Vec::new();
    for (i, task) in senders.into_iter().enumerate() {
        let (count, late, sink) = task.await.map_err(|e| BenchError::Setup(e.to_string()))?;
        sent[i] = count;
        lateness
            .add(late)
            .map_err(|e| BenchError::Setup(e.to_string()))?;
        open_sinks.push(sink);
    }
    let cpu = cpu.since(server_pid);
    let expected: u64 = sent.iter().sum::<u64>() * plan.readers_per_room() as u64;
    let drain_until = Instant::now() + plan.drain;
    while shared.delivered.load(Ordering::Relaxed) < expected && Instant::now() < drain_until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shared.stop.cancel();
    let rss_after = server_pid.and_then(rss_bytes);
    let (stalled_cut_off, stalled_close_codes) = fates(stalled).await;
    drop(open_sinks);

    let mut latency = histogram();
    let (mut lost, mut duplicates, mut out_of_order, mut in_window, mut delivered) =
        (0, 0, 0, 0, 0);
    let mut close_codes = Vec::new();
    let mut missing_by_sender = vec![Vec::new(); sent.len()];
    let mut gaps = 0;
    for task in receivers {
        let rx = task.await.map_err(|e| BenchError::Setup(e.to_string()))?;
        let room_sent = &sent[rx.first_sender..rx.first_sender + plan.senders];
        lost += rx.tracker.lost(rx.first_sender, room_sent);
        gaps += rx.tracker.gaps;
        let tails = rx.tracker.missing_tails(rx.first_sender, room_sent);
        for (i, missing) in tails.into_iter().enumerate() {
            missing_by_sender[rx.first_sender + i].push(missing);
        }
        duplicates += rx.tracker.duplicates;
        out_of_order += rx.tracker.out_of_order;
        delivered += rx.tracker.received;
        in_window += rx.in_window;
        close_codes.extend(rx.cut_off);
        latency
            .add(&rx.latency)
            .map_err(|e| BenchError::Setup(e.to_string()))?;
    }
    if lost > 0 {
        // Where the loss is tells its cause: skipped in mid-stream, one
        // sender's last messages missing everywhere (they never got in), or
        // some receivers missing everything from some point on.
        eprintln!(
            "lost: {gaps} skipped in mid-stream, {} at the end",
            lost - gaps
        );
        for (sender, missing) in missing_by_sender.iter().enumerate() {
            let total: u64 = missing.iter().sum();
            if total > 0 {
                let receivers = missing.iter().filter(|m| **m > 0).count();
                eprintln!(
                    "lost: sender {sender} sent {}, {total} missing over {receivers} receivers",
                    sent[sender]
                );
            }
        }
    }
    Ok(Outcome {
        rooms: plan.rooms,
        members: plan.members,
        senders_per_room: plan.senders,
        rate_per_sender: plan.rate,
        stalled_per_room: plan.stalled,
        offered_deliveries_per_s: plan.offered_deliveries_per_s(),
        deliveries_per_s: in_window as f64 / plan.duration.as_secs_f64(),
        latency: Latency::of(&latency),
        sender_lateness: Latency::of(&lateness),
        sent: sent.iter().sum(),
        delivered,
        lost,
        duplicates,
        out_of_order,
        disconnected: close_codes.len() as u64,
        close_codes: distinct(close_codes),
        stalled_cut_off,
        stalled_close_codes: distinct(stalled_close_codes),
        connect_s,
        cpu,
        server_rss_before: rss_before,
        server_rss_after: rss_after,
    })
}

async fn receive(
    mut read: SplitStream<Socket>,
    tracker: Tracker,
    first_sender: usize,
    wire: Wire,
    shared: Arc<Shared>,
) -> Receiver {
    let mut rx = Receiver {
        tracker,
        cut_off: None,
        latency: histogram(),
        in_window: 0,
        first_sender,
    };
    loop {
        let frame = tokio::select! {
            _ = shared.stop.cancelled() => break,
            frame = read.next() => frame,
        };
        let frame = match frame {
            Some(Ok(Message::Close(close))) => {
                rx.cut_off = Some(close.map_or(0, |c| u16::from(c.code)));
                break;
            }
            Some(Ok(frame)) => frame,
            _ => {
                rx.cut_off = Some(0);
                break;
            }
        };
        let Message::Text(text) = frame else { continue };
        let (id, content) = match wire {
            Wire::V1 => match client::scan_v1(text.as_str()) {
                Some(found) => found,
                None => continue,
            },
            Wire::Compat => match client::scan_compat(text.as_str()) {
                Some(content) => (0, content),
                None => continue,
            },
        };
        let Some(probe) = Probe::decode(content) else {
            continue;
        };
        let now_ns = shared.origin.elapsed().as_nanos() as u64;
        rx.tracker.see(id, probe);
        shared.delivered.fetch_add(1, Ordering::Relaxed);
        if (shared.window_start_ns..shared.window_end_ns).contains(&probe.sent_ns) {
            rx.in_window += 1;
            let late = Duration::from_nanos(now_ns.saturating_sub(probe.sent_ns));
            let _ = rx.latency.record(micros(late));
        }
    }
    rx
}

type SenderDone = (u64, Histogram<u64>, SplitSink<Socket, Message>);

#[allow(clippy::too_many_arguments)]
async fn send(
    mut write: SplitSink<Socket, Message>,
    plan: Plan,
    room: String,
    sender: usize,
    run_id: Arc<str>,
    start: Instant,
    end: Instant,
    shared: Arc<Shared>,
) -> SenderDone {
    let period = Duration::from_secs_f64(1.0 / plan.rate);
    // Spread the senders' phases so they do not all fire on the same tick.
    let phase = period.mul_f64((sender % 97) as f64 / 97.0);
    let mut lateness = histogram();
    let mut seq = 0u64;
    loop {
        let planned = start + phase + period.mul_f64(seq as f64);
        if planned >= end {
            break;
        }
        tokio::time::sleep_until(planned.into()).await;
        let _ = lateness.record(micros(Instant::now().saturating_duration_since(planned)));
        let probe = Probe {
            sender,
            seq,
            sent_ns: (planned - shared.origin).as_nanos() as u64,
        };
        let content = probe.encode_padded(plan.payload);
        let frame = match plan.wire {
            Wire::V1 => serde_json::json!({
                "type": "send",
                "room": room,
                "content": content,
                "client_id": format!("{run_id}-{sender}-{seq}"),
            })
            .to_string(),
            Wire::Compat => content,
        };
        if write.send(Message::Text(frame.into())).await.is_err() {
            break;
        }
        seq += 1;
    }
    (seq, lateness, write)
}

/// What became of the never-reading members: each reads, at last, what its
/// socket holds, until the server's close frame (its code), the end of the
/// connection (0), or a second of silence (still open, not counted).
async fn fates(stalled: Vec<Socket>) -> (u64, Vec<u16>) {
    let reads: Vec<_> = stalled
        .into_iter()
        .map(|mut ws| {
            tokio::spawn(async move {
                loop {
                    match tokio::time::timeout(Duration::from_secs(1), ws.next()).await {
                        Err(_) => return None,
                        Ok(Some(Ok(Message::Close(close)))) => {
                            return Some(close.map_or(0, |c| u16::from(c.code)));
                        }
                        Ok(Some(Ok(_))) => {}
                        Ok(_) => return Some(0),
                    }
                }
            })
        })
        .collect();
    let mut codes = Vec::new();
    for read in reads {
        if let Ok(Some(code)) = read.await {
            codes.push(code);
        }
    }
    (codes.len() as u64, codes)
}

fn distinct(mut codes: Vec<u16>) -> Vec<u16> {
    codes.sort_unstable();
    codes.dedup();
    codes
}
