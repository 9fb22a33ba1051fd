//! The data directory: one server at a time, and private files.

use crate::helpers::*;

#[tokio::test]
async fn a_second_server_on_the_same_data_dir_exits_at_once_naming_the_holder() {
    let s = spawn().await;
    let started = std::time::Instant::now();
    let second = tokio::process::Command::new(env!("CARGO_BIN_EXE_palaver"))
        .arg("--data-dir")
        .arg(s.dir.path())
        .args(["--port", "0"])
        .output();
    let second = tokio::time::timeout(std::time::Duration::from_secs(20), second)
        .await
        .expect("the second server gives up instead of serving")
        .expect("runs");
    assert!(!second.status.success());
    let said = String::from_utf8_lossy(&second.stderr);
    let dir = s.dir.path().display().to_string();
    assert!(said.contains(&dir) && said.contains("in use"), "{said}");
    assert!(
        said.contains(&format!("pid {}", std::process::id())),
        "{said}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));

    // The first one is untouched, and once it stops the directory is free.
    assert_eq!(s.get_json("/healthz", None).await.0, 200);
    let (dir, config) = s.stop().await;
    let again = start(dir, config).await;
    assert_eq!(again.get_json("/rooms", None).await.0, 200);
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_its_log_and_the_key_are_readable_by_the_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    // Always SQLite (the config names no other database), on either run.
    let parent = tempfile::tempdir().expect("temp dir");
    let dir = parent.path().join("fresh");
    let mut config = palaver::Config::with_data_dir(&dir);
    config.port = 0;
    init_logging();
    let server = palaver::serve(config).await.expect("starts");
    let addr = server.local_addr();
    // A write, so that the WAL exists.
    let http = reqwest::Client::new();
    let created = http
        .post(format!("http://{addr}/register"))
        .json(&serde_json::json!({"username": "perm", "password": "perm-password"}))
        .send()
        .await
        .expect("register");
    assert_eq!(created.status(), 201);
    let mode = |name: &str| {
        std::fs::metadata(dir.join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(""), 0o700, "the data dir");
    for file in [
        "palaver.db",
        "palaver.db-wal",
        "palaver.db-shm",
        "jwt.key",
        "palaver.lock",
    ] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
    server.shutdown().await;
}

/// What `palaver::serve` says when it cannot start with `database_url`.
async fn start_error(database_url: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&dir);
    config.database_url = Some(database_url.to_owned());
    match palaver::serve(config).await {
        Ok(_) => panic!("started with {database_url}"),
        Err(err) => {
            // The whole chain, as `main` prints it.
            let mut said = err.to_string();
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                said.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            said
        }
    }
}

#[tokio::test]
async fn an_unreachable_database_is_named_with_its_cause_and_without_its_password() {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    let said = start_error("postgres://someone:hunter2-secret@127.0.0.1:1/chat").await;
    assert!(said.contains("PostgreSQL at 127.0.0.1:1"), "{said}");
    assert!(said.contains("\"chat\""), "{said}");
    assert!(said.to_lowercase().contains("refused"), "{said}");
    assert!(!said.contains("hunter2"), "{said}");
}

#[tokio::test]
async fn a_database_file_that_cannot_be_created_is_named_as_such() {
    let said = start_error("sqlite:///nonexistent-palaver-dir/sub/palaver.db").await;
    assert!(
        said.contains("database file /nonexistent-palaver-dir/sub/palaver.db"),
        "{said}"
    );
}
