//! `palaver-bench my-rooms` against a real server: the user's list holds
//! every room the run created, and every timed request is in the figures.

// A test that cannot unwrap what it set up has failed: that is what these panics say.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_holds_the_rooms_and_every_request_is_timed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = palaver::Config::with_data_dir(dir.path());
    config.port = 0;
    config.rate_limit = 0;
    let server = palaver::serve(config).await.expect("server starts");
    let base = format!("http://{}", server.local_addr());
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_palaver-bench"))
        .args(["--url", &base, "--json", "my-rooms"])
        .args(["--rooms", "20", "--requests", "10", "--concurrency", "3"])
        .output()
        .await
        .expect("bench runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(report["mode"], "my_rooms", "{report}");
    let r = &report["result"];
    assert_eq!(r["rooms"], 20, "{r}");
    assert_eq!(r["listed"], 20, "{r}");
    assert_eq!(r["latency"]["count"], 10, "{r}");
    // Each entry carries at least its name, `bench-mine-…`.
    assert!(r["body_bytes"].as_u64().unwrap() > 20 * 11, "{r}");
    assert!(r["requests_per_s"].as_f64().unwrap() > 0.0, "{r}");
    assert!(r["latency"]["p50_ms"].as_f64().unwrap() > 0.0, "{r}");
    server.shutdown().await;
}
