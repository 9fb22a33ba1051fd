//! `stalled`: in each room one member connects and never reads while the
//! others send; what that costs the server in memory, per never-reading
//! member. The same load runs twice on one server: first with everyone
//! reading (so that the allocator and the caches reach their working size),
//! then with the never-reading members; the figure is the second run's
//! peak RSS over the first's, divided by the never-reading members. What a
//! socket's kernel buffers hold is not in the RSS: the figure is what the
//! server holds beyond them.

use super::BenchError;
use super::client::{Node, Wire};
use super::fanout::{self, Plan};
use super::report::rss_bytes;
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub rooms: usize,
    /// Members per room that read (the senders among them), besides the
    /// one that does not.
    pub members_per_room: usize,
    pub senders_per_room: usize,
    pub rate_per_sender: f64,
    pub message_bytes: usize,
    /// One per room.
    pub stalled_members: usize,
    /// Peak RSS while everyone read.
    pub server_rss_peak_reading: Option<u64>,
    /// Peak RSS while one member per room did not.
    pub server_rss_peak_stalled: Option<u64>,
    /// The difference, per never-reading member.
    pub rss_growth_per_stalled_member: Option<f64>,
    /// Never-reading members the server closed (4000: too slow).
    pub stalled_cut_off: u64,
    pub stalled_close_codes: Vec<u16>,
    /// The members that read: everything delivered, once, in order?
    pub lost: u64,
    pub duplicates: u64,
    pub out_of_order: u64,
    pub reading: fanout::Outcome,
    pub stalled: fanout::Outcome,
}

pub struct Load {
    pub rooms: usize,
    /// Members per room that read, the senders among them.
    pub members: usize,
    pub senders: usize,
    pub rate: f64,
    pub size: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub wire: Wire,
}

impl Load {
    pub fn plan(&self) -> Plan {
        Plan {
            rooms: self.rooms,
            members: self.members,
            senders: self.senders,
            rate: self.rate,
            warmup: self.warmup,
            duration: self.duration,
            wire: self.wire,
            stalled: 0,
            payload: self.size,
            drain: Duration::from_secs(5),
            room_prefix: "stalled-".to_owned(),
        }
    }
}

pub async fn run(
    nodes: &[Node],
    tokens: &[String],
    load: &Load,
    server_pid: Option<u32>,
) -> Result<Outcome, BenchError> {
    let mut plan = load.plan();
    let reading = peak_during(server_pid, fanout::run(nodes, tokens, &plan, server_pid)).await;
    let (reading, peak_reading) = (reading.0?, reading.1);
    // The same readers, and one more member in each room that never reads.
    plan.members += 1;
    plan.stalled = 1;
    let stalled = peak_during(server_pid, fanout::run(nodes, tokens, &plan, server_pid)).await;
    let (stalled, peak_stalled) = (stalled.0?, stalled.1);
    let growth = peak_reading
        .zip(peak_stalled)
        .map(|(before, after)| after.saturating_sub(before) as f64 / load.rooms.max(1) as f64);
    Ok(Outcome {
        rooms: load.rooms,
        members_per_room: load.members,
        senders_per_room: load.senders,
        rate_per_sender: load.rate,
        message_bytes: load.size,
        stalled_members: load.rooms,
        server_rss_peak_reading: peak_reading,
        server_rss_peak_stalled: peak_stalled,
        rss_growth_per_stalled_member: growth,
        stalled_cut_off: stalled.stalled_cut_off,
        stalled_close_codes: stalled.stalled_close_codes.clone(),
        lost: stalled.lost,
        duplicates: stalled.duplicates,
        out_of_order: stalled.out_of_order,
        reading,
        stalled,
    })
}

/// Runs `work` while sampling the server's RSS every 20 ms; its result and
/// the highest RSS seen.
async fn peak_during<T>(
    server_pid: Option<u32>,
    work: impl Future<Output = T>,
) -> (T, Option<u64>) {
    let Some(pid) = server_pid else {
        return (work.await, None);
    };
    let peak = Arc::new(AtomicU64::new(rss_bytes(pid).unwrap_or(0)));
    let stop = CancellationToken::new();
    let sampler = tokio::spawn({
        let (peak, stop) = (peak.clone(), stop.clone());
        async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tick.tick() => {
                        if let Some(rss) = rss_bytes(pid) {
                            peak.fetch_max(rss, Ordering::Relaxed);
                        }
                    }
                }
            }
        }
    });
    let result = work.await;
    stop.cancel();
    let _ = sampler.await;
    let peak = peak.load(Ordering::Relaxed);
    (result, (peak > 0).then_some(peak))
}
