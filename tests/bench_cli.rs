//! `palaver bench` against a real server: a small fanout must report every
//! message delivered once, in order (the checks themselves are unit-tested
//! in src/bench/track.rs).

// Shares the API tests' helpers until it moves to the bench crate.
#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod common;

use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_fanout_reports_no_loss_and_sane_figures() {
    let s = common::spawn_with(|c| c.rate_limit = 0).await;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_palaver"))
        .args([
            "bench", "--url", &s.base, "--users", "4", "--json", "fanout",
        ])
        .args([
            "--rooms",
            "2",
            "--members",
            "5",
            "--senders",
            "2",
            "--rate",
            "50",
        ])
        .args(["--warmup", "200ms", "--duration", "1s"])
        .output()
        .await
        .expect("bench runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    let r = &report["result"];
    assert_eq!(r["lost"], 0, "{r}");
    assert_eq!(r["duplicates"], 0, "{r}");
    assert_eq!(r["out_of_order"], 0, "{r}");
    let sent = r["sent"].as_u64().unwrap();
    assert!(sent >= 2 * 2 * 50, "{r}");
    // Every message reaches all 5 members of its room.
    assert_eq!(r["delivered"].as_u64(), Some(sent * 5), "{r}");
    assert!(r["latency"]["p99_ms"].as_f64().unwrap() > 0.0);
}
