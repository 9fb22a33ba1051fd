//! `palaver-bench` against a real server: a small fanout must report every
//! message delivered once, in order (the checks themselves are unit-tested
//! in src/track.rs).

// A test that cannot unwrap what it set up has failed: that is what these panics say.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;

/// A palaver on 127.0.0.1:0 with SQLite in a temporary data dir, as a user
/// would run it for the bench (no rate limit: the senders are machines).
async fn start_server() -> (palaver::Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = palaver::Config::with_data_dir(dir.path());
    config.port = 0;
    config.rate_limit = 0;
    let server = palaver::serve(config).await.expect("server starts");
    (server, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_fanout_reports_no_loss_and_sane_figures() {
    let (server, _dir) = start_server().await;
    let base = format!("http://{}", server.local_addr());
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_palaver-bench"))
        .args(["--url", &base, "--users", "4", "--json", "fanout"])
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
    server.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_server_is_an_error_not_a_report() {
    // A port nothing listens on: the bench must fail and say so.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_palaver-bench"))
        .args(["--url", &format!("http://{addr}"), "--json", "fanout"])
        .output()
        .await
        .expect("bench runs");
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("palaver-bench: "), "{stderr}");
}
