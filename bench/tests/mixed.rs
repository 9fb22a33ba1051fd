//! `palaver-bench mixed` against a real server: sends, edits, deletes and
//! reaction toggles from several senders, and every member's view of its
//! room ends the same as the server's history (the view and the comparison
//! are unit-tested in src/mixed.rs).

// A test that cannot unwrap what it set up has failed: that is what these panics say.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_mix_converges_on_the_servers_history() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = palaver::Config::with_data_dir(dir.path());
    config.port = 0;
    // The senders are machines: no send budget, no history budget.
    config.rate_limit = 0;
    config.replay_rate = 0;
    let server = palaver::serve(config).await.expect("server starts");
    let base = format!("http://{}", server.local_addr());
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_palaver-bench"))
        .args(["--url", &base, "--users", "4", "--json", "mixed"])
        .args(["--rooms", "2", "--members", "4", "--senders", "2"])
        .args(["--rate", "60", "--warmup", "200ms", "--duration", "2s"])
        .output()
        .await
        .expect("bench runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(report["mode"], "mixed", "{report}");
    let r = &report["result"];
    let converged = r["converged"].as_str().unwrap();
    assert!(converged.starts_with("yes ("), "{r}");
    assert_eq!(r["differences"], 0, "{r}");
    assert_eq!(r["quiet"], true, "{r}");
    assert_eq!(r["unanswered"], 0, "{r}");
    assert_eq!(r["unexpected_errors"], 0, "{r}");
    assert_eq!(r["out_of_order"], 0, "{r}");
    assert_eq!(r["disconnected"], 0, "{r}");
    // 2 rooms x 2 senders x 60/s for 2.2 s: some of every kind, or the
    // convergence above checked less than it says.
    for action in ["send", "react", "unreact", "edit", "delete"] {
        assert!(r["acked"][action].as_u64().unwrap() > 0, "{action}: {r}");
    }
    assert!(r["deleted"].as_u64().unwrap() > 0, "{r}");
    for kind in ["message", "edited", "deleted", "reaction"] {
        assert!(r["deliveries"][kind].as_u64().unwrap() > 0, "{kind}: {r}");
    }
    // Every acked send reached all 4 members of its room.
    assert_eq!(
        r["deliveries"]["message"].as_u64(),
        r["acked"]["send"].as_u64().map(|n| n * 4),
        "{r}"
    );
    assert_eq!(r["messages"], r["acked"]["send"], "{r}");
    assert!(
        r["message_latency"]["p99_ms"].as_f64().unwrap() > 0.0,
        "{r}"
    );
    assert!(r["change_latency"]["count"].as_u64().unwrap() > 0, "{r}");
    server.shutdown().await;
}
