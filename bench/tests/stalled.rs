//! `palaver-bench stalled` against a real server: the members that read
//! lose nothing, the never-reading ones are cut off (4000), and the report
//! carries the memory figure.

// A test that cannot unwrap what it set up has failed: that is what these panics say.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_reading_members_are_cut_off_and_the_figure_is_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = palaver::Config::with_data_dir(dir.path());
    config.port = 0;
    config.rate_limit = 0;
    // ~5 MB reach each never-reading member in the run, well past this
    // budget and its socket's buffers; the readers, on a loaded machine,
    // may still fall 0.6 s behind (a 16 KiB message counts about 32 KiB:
    // its text and its frame) without being cut off themselves.
    config.outbound_queue_bytes = 2 * 1024 * 1024;
    let server = palaver::serve(config).await.expect("server starts");
    let base = format!("http://{}", server.local_addr());
    // The server runs in this process: its RSS is this process's.
    let pid = std::process::id().to_string();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_palaver-bench"))
        .args([
            "--url",
            &base,
            "--users",
            "4",
            "--server-pid",
            &pid,
            "--json",
        ])
        .args(["stalled", "--rooms", "2", "--members", "2", "--rate", "100"])
        .args(["--size", "16384", "--warmup", "200ms", "--duration", "3s"])
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
    assert_eq!(r["reading"]["lost"], 0, "{r}");
    assert_eq!(r["stalled_members"], 2, "{r}");
    assert_eq!(r["stalled_cut_off"], 2, "{r}");
    assert!(r["rss_growth_per_stalled_member"].is_number(), "{r}");
    server.shutdown().await;
}
