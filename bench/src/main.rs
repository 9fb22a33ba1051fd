//! `palaver-bench` (also run as `palaver bench`): a load generator that
//! speaks both protocols to one or more palaver nodes and checks every
//! delivery (loss, duplicates, order).
//!
//! Modes: `fanout`, `ramp`, `connections`, `ingest`, `resume`, `stalled`,
//! `my-rooms`, `mixed`.
//! See docs/benchmarks.md for the method and the figures.

mod client;
mod connections;
mod fanout;
mod mixed;
mod my_rooms;
mod report;
mod resume;
mod stalled;
mod track;

use client::{Node, Wire};
use serde_json::json;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
enum BenchError {
    #[error("setup: {0}")]
    Setup(String),
    #[error("connect: {0}")]
    Connect(String),
    #[error("request: {0}")]
    Request(String),
    #[error("too many open files")]
    FileLimit,
    #[error("writing {0}: {1}")]
    Output(String, std::io::Error),
    #[error("not converged: {0}")]
    Diverged(String),
}

/// Load-test one or more running palaver servers (see docs/benchmarks.md).
#[derive(Debug, clap::Parser)]
#[command(name = "palaver-bench", version)]
struct BenchArgs {
    #[command(subcommand)]
    mode: Mode,
    /// Server base URL; repeat (or comma-separate) to spread clients over several nodes.
    #[arg(
        long = "url",
        global = true,
        value_delimiter = ',',
        default_value = "http://127.0.0.1:8000"
    )]
    urls: Vec<String>,
    /// The server's pid, to report its CPU seconds and memory (one node).
    #[arg(long, global = true)]
    server_pid: Option<u32>,
    /// Print one JSON object instead of a table.
    #[arg(long, global = true)]
    json: bool,
    /// Accounts to spread the connections over (registered on first use).
    #[arg(long, global = true, default_value_t = 50)]
    users: usize,
    /// Wire protocol of the clients.
    #[arg(long, global = true, value_enum, default_value = "v1")]
    wire: Wire,
}

#[derive(Debug, clap::Args, Clone)]
struct LoadArgs {
    #[arg(long, default_value_t = 4)]
    rooms: usize,
    #[arg(long, default_value_t = 50)]
    members: usize,
    #[arg(long, default_value_t = 5)]
    senders: usize,
    /// Messages per second per sender.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// Members per room that connect and never read (slow consumers).
    #[arg(long, default_value_t = 0)]
    stalled: usize,
    /// Bytes of each message (0: just the bench's probe, about 30).
    #[arg(long, default_value_t = 0)]
    size: usize,
}

/// The `mixed` scenario's load: the flags of `fanout` where they mean the same.
#[derive(Debug, clap::Args, Clone)]
struct MixedArgs {
    #[arg(long, default_value_t = 4)]
    rooms: usize,
    #[arg(long, default_value_t = 50)]
    members: usize,
    #[arg(long, default_value_t = 5)]
    senders: usize,
    /// Commands per second per sender (of all kinds).
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    warmup: Duration,
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    duration: Duration,
    /// The longest wait, after sending, for every answer and for the last
    /// acknowledged entry to reach every member.
    #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
    quiet_timeout: Duration,
}

#[derive(Debug, clap::Subcommand)]
enum Mode {
    /// Rooms x members, some sending at a fixed rate.
    Fanout(LoadArgs),
    /// Fanout at rising rates until p99 passes the SLO or a message is lost.
    Ramp {
        #[command(flatten)]
        load: LoadArgs,
        /// p99 latency objective in milliseconds.
        #[arg(long, default_value_t = 100.0)]
        slo_ms: f64,
        /// Each step multiplies the rate by this.
        #[arg(long, default_value_t = 1.4)]
        factor: f64,
        #[arg(long, default_value_t = 12)]
        max_steps: usize,
        /// Draw latency percentiles against offered load into this SVG file.
        #[arg(long)]
        plot: Option<std::path::PathBuf>,
    },
    /// N idle authenticated sockets: memory per connection, CPU at rest.
    Connections {
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        /// Sockets per room (every join is announced to its room).
        #[arg(long, default_value_t = 1000)]
        members: usize,
        /// How long to measure the idle CPU.
        #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
        idle: Duration,
    },
    /// Many rooms with one member each: stored messages per second.
    Ingest {
        #[arg(long, default_value_t = 100)]
        rooms: usize,
        /// Messages per second per room.
        #[arg(long, default_value_t = 300.0)]
        rate: f64,
        #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
        warmup: Duration,
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration)]
        duration: Duration,
    },
    /// One member per room never reads while the others send: the server's
    /// memory growth per never-reading member (needs --server-pid).
    Stalled {
        #[arg(long, default_value_t = 10)]
        rooms: usize,
        /// Members per room that read (the senders among them), besides
        /// the one that does not.
        #[arg(long, default_value_t = 3)]
        members: usize,
        #[arg(long, default_value_t = 1)]
        senders: usize,
        /// Messages per second per sender.
        #[arg(long, default_value_t = 50.0)]
        rate: f64,
        /// Bytes of each message.
        #[arg(long, default_value_t = 16 * 1024)]
        size: usize,
        #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
        warmup: Duration,
        /// How long the senders send, in each of the two runs.
        #[arg(long, default_value = "15s", value_parser = humantime::parse_duration)]
        duration: Duration,
    },
    /// A client that missed N messages resumes with `since`.
    Resume {
        #[arg(long, default_value_t = 10_000)]
        missed: usize,
        #[arg(long, default_value_t = 5)]
        repeat: usize,
    },
    /// `GET /users/me/rooms` for a user in N rooms (one account of its own;
    /// `--users` does not apply).
    MyRooms {
        #[arg(long, default_value_t = 500)]
        rooms: usize,
        /// Timed requests, after one that checks the list.
        #[arg(long, default_value_t = 200)]
        requests: usize,
        /// Requests in flight at once.
        #[arg(long, default_value_t = 1)]
        concurrency: usize,
    },
    /// Rooms x members, some sending a mix of sends (80 %), reaction
    /// toggles (10 %), edits (5 %) and deletes (5 %); every member's view of
    /// its room must end the same as the server's history (palaver.v1 only;
    /// fresh rooms each run).
    Mixed(MixedArgs),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = <BenchArgs as clap::Parser>::parse();
    match run(args).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("palaver-bench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Every socket is a file: the `connections` mode opens tens of thousands.
/// Returns the limit now in force.
fn raise_file_limit() -> u64 {
    rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024)
}

async fn run(args: BenchArgs) -> Result<(), BenchError> {
    let file_limit = raise_file_limit();
    let mut nodes = Vec::new();
    for url in &args.urls {
        nodes.push(Node::parse(url).await?);
    }
    let Some(first) = nodes.first().cloned() else {
        return Err(BenchError::Setup("no --url".into()));
    };
    // `my-rooms` measures one user's list: an account of its own, so that the
    // rooms other modes created (owned by bench0) do not lengthen it.
    let (prefix, users) = match args.mode {
        Mode::MyRooms { .. } => ("bench-mine", 1),
        _ => ("bench", args.users.max(1)),
    };
    if matches!(args.mode, Mode::Mixed(_)) && args.wire != Wire::V1 {
        return Err(BenchError::Setup(
            "mixed speaks palaver.v1 only: the chapter's protocol cannot edit, delete or react"
                .into(),
        ));
    }
    let tokens = client::accounts(&first, prefix, users).await?;
    // Set by a mode whose report is printed and yet fails the run.
    let mut verdict = Ok(());
    let output = match &args.mode {
        Mode::Fanout(load) => {
            let plan = plan(load, args.wire, "bench-");
            client::ensure_rooms(&first, &tokens[0], &rooms(&plan)).await?;
            let outcome = fanout::run(&nodes, &tokens, &plan, args.server_pid).await?;
            json!({"mode": "fanout", "nodes": args.urls, "result": outcome})
        }
        Mode::Ingest {
            rooms: n,
            rate,
            warmup,
            duration,
        } => {
            let load = LoadArgs {
                rooms: *n,
                members: 1,
                senders: 1,
                rate: *rate,
                warmup: *warmup,
                duration: *duration,
                stalled: 0,
                size: 0,
            };
            let plan = plan(&load, args.wire, "ingest-");
            client::ensure_rooms(&first, &tokens[0], &rooms(&plan)).await?;
            let outcome = fanout::run(&nodes, &tokens, &plan, args.server_pid).await?;
            json!({"mode": "ingest", "nodes": args.urls, "stored_per_s": outcome.deliveries_per_s, "result": outcome})
        }
        Mode::Ramp {
            load,
            slo_ms,
            factor,
            max_steps,
            plot,
        } => {
            let mut points = Vec::new();
            let mut best = None;
            let mut rate = load.rate;
            let mut plan = plan(load, args.wire, "bench-");
            client::ensure_rooms(&first, &tokens[0], &rooms(&plan)).await?;
            for _ in 0..*max_steps {
                plan.rate = rate;
                let outcome = fanout::run(&nodes, &tokens, &plan, args.server_pid).await?;
                let ok = outcome.latency.p99_ms <= *slo_ms
                    && outcome.lost == 0
                    && outcome.duplicates == 0;
                if !args.json {
                    eprintln!(
                        "rate {rate:>8.1}/sender  offered {:>9.0}/s  delivered {:>9.0}/s  p50 {:>7.2} ms  p99 {:>8.2} ms  lost {}  cut off {}  {}",
                        outcome.offered_deliveries_per_s,
                        outcome.deliveries_per_s,
                        outcome.latency.p50_ms,
                        outcome.latency.p99_ms,
                        outcome.lost,
                        outcome.disconnected,
                        if ok { "ok" } else { "over" }
                    );
                }
                points.push(report::RampPoint {
                    offered_deliveries_per_s: outcome.offered_deliveries_per_s,
                    deliveries_per_s: outcome.deliveries_per_s,
                    latency: outcome.latency,
                    lost: outcome.lost,
                    disconnected: outcome.disconnected,
                    close_codes: outcome.close_codes.clone(),
                });
                if !ok {
                    break;
                }
                best = Some(outcome);
                rate *= factor;
            }
            if let Some(path) = plot {
                std::fs::write(path, report::ramp_svg(&points, *slo_ms))
                    .map_err(|e| BenchError::Output(path.display().to_string(), e))?;
            }
            json!({"mode": "ramp", "nodes": args.urls, "slo_p99_ms": slo_ms,
                   "best_sustained": best, "points": points})
        }
        Mode::Connections {
            count,
            members,
            idle,
        } => {
            let outcome = connections::run(
                &nodes,
                &tokens,
                *count,
                *members,
                *idle,
                args.wire,
                args.server_pid,
            )
            .await?;
            json!({"mode": "connections", "generator_file_limit": file_limit, "result": outcome})
        }
        Mode::Stalled {
            rooms: room_count,
            members,
            senders,
            rate,
            size,
            warmup,
            duration,
        } => {
            let load = stalled::Load {
                rooms: *room_count,
                members: *members,
                senders: *senders,
                rate: *rate,
                size: *size,
                warmup: *warmup,
                duration: *duration,
                wire: args.wire,
            };
            client::ensure_rooms(&first, &tokens[0], &rooms(&load.plan())).await?;
            let outcome = stalled::run(&nodes, &tokens, &load, args.server_pid).await?;
            json!({"mode": "stalled", "result": outcome})
        }
        Mode::Resume { missed, repeat } => {
            client::ensure_rooms(&first, &tokens[0], &["resume-bench".to_owned()]).await?;
            let outcome = resume::run(&first, &tokens[0], "resume-bench", *missed, *repeat).await?;
            json!({"mode": "resume", "result": outcome})
        }
        Mode::MyRooms {
            rooms: room_count,
            requests,
            concurrency,
        } => {
            let load = my_rooms::Load {
                rooms: *room_count,
                requests: *requests,
                concurrency: *concurrency,
            };
            let outcome = my_rooms::run(&first, &tokens[0], load, args.server_pid).await?;
            json!({"mode": "my_rooms", "result": outcome})
        }
        Mode::Mixed(load) => {
            let plan = mixed::Plan {
                rooms: load.rooms,
                members: load.members,
                senders: load.senders,
                rate: load.rate,
                warmup: load.warmup,
                duration: load.duration,
                quiet_timeout: load.quiet_timeout,
                room_prefix: format!("mixed-{}-", client::run_id()),
            };
            client::ensure_rooms(&first, &tokens[0], &plan.room_names()).await?;
            let outcome = mixed::run(&nodes, &tokens, &plan, args.server_pid).await?;
            if outcome.differences > 0 {
                for line in &outcome.first_differences {
                    eprintln!("differs: {line}");
                }
                verdict = Err(BenchError::Diverged(format!(
                    "{} differences, the first {} above",
                    outcome.differences,
                    outcome.first_differences.len()
                )));
            }
            json!({"mode": "mixed", "nodes": args.urls, "result": outcome})
        }
    };
    if args.json {
        println!("{output}");
    } else {
        print_table(&output);
    }
    verdict
}

fn plan(load: &LoadArgs, wire: Wire, prefix: &str) -> fanout::Plan {
    fanout::Plan {
        rooms: load.rooms,
        members: load.members,
        senders: load.senders,
        rate: load.rate,
        warmup: load.warmup,
        duration: load.duration,
        wire,
        stalled: load.stalled,
        payload: load.size,
        drain: Duration::from_secs(5),
        room_prefix: prefix.to_owned(),
    }
}

fn rooms(plan: &fanout::Plan) -> Vec<String> {
    (0..plan.rooms).map(|r| plan.room(r)).collect()
}

/// A flat, readable rendering of the result object.
fn print_table(value: &serde_json::Value) {
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match value {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            serde_json::Value::Array(items) if items.iter().any(serde_json::Value::is_object) => {
                for (i, v) in items.iter().enumerate() {
                    walk(&format!("{prefix}[{i}]"), v, out);
                }
            }
            serde_json::Value::Number(n) => {
                let text = n
                    .as_f64()
                    .filter(|f| f.fract() != 0.0)
                    .map_or_else(|| n.to_string(), |f| format!("{f:.3}"));
                out.push((prefix.to_owned(), text));
            }
            other => out.push((prefix.to_owned(), other.to_string())),
        }
    }
    let mut rows = Vec::new();
    walk("", value, &mut rows);
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in rows {
        println!("{k:<width$}  {v}");
    }
}
