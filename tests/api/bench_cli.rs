//! `palaver bench` hands over to the `palaver-bench` binary beside palaver
//! (the load generator is its own crate, in bench/, with its own tests).
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

/// A directory holding this build's palaver (and whatever else a test puts
/// there), as an installed copy would be.
fn palaver_alone() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("temp dir");
    let palaver = dir.path().join("palaver");
    std::fs::hard_link(env!("CARGO_BIN_EXE_palaver"), &palaver)
        .or_else(|_| std::fs::copy(env!("CARGO_BIN_EXE_palaver"), &palaver).map(|_| ()))
        .expect("palaver in the temp dir");
    (dir, palaver)
}

fn fake_bench(dir: &Path) {
    let bench = dir.join("palaver-bench");
    std::fs::write(
        &bench,
        "#!/bin/sh\nfor a in \"$@\"; do echo \"arg: $a\"; done\nexit 3\n",
    )
    .expect("write fake bench");
    std::fs::set_permissions(&bench, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn bench_passes_every_argument_and_the_exit_status_through() {
    let (dir, palaver) = palaver_alone();
    fake_bench(dir.path());
    let output = Command::new(&palaver)
        .args([
            "bench",
            "--url",
            "http://a,http://b",
            "--json",
            "fanout",
            "--help",
        ])
        .output()
        .expect("palaver runs");
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "arg: --url\narg: http://a,http://b\narg: --json\narg: fanout\narg: --help\n"
    );
}

#[test]
fn bench_without_the_bench_binary_says_how_to_build_it() {
    let (_dir, palaver) = palaver_alone();
    let output = Command::new(&palaver)
        .args(["bench", "fanout"])
        .output()
        .expect("palaver runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("palaver-bench not found"), "{stderr}");
    assert!(
        stderr.contains("cargo build --release --workspace"),
        "{stderr}"
    );
}
