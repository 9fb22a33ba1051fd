//! Registration modes (`--registration open|invite|closed`) and the invite
//! codes `palaver admin invite create` makes, run as the real binary beside
//! the running server, as an operator would.

use crate::helpers::*;
use palaver::config::Registration;
use serde_json::{Value, json};

async fn register_with(s: &TestServer, username: &str, invite: Option<&str>) -> (u16, Value) {
    let mut body = json!({ "username": username, "password": "password-123" });
    if let Some(code) = invite {
        body["invite"] = json!(code);
    }
    s.post_json("/register", None, &body).await
}

/// Runs `palaver admin invite ARGS` on the test server's store while the
/// server runs; returns what it printed, or panics naming why it failed.
async fn admin(s: &TestServer, args: &[&str]) -> String {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_palaver"));
    command
        .args(["admin", "invite"])
        .args(args)
        .arg("--data-dir")
        .arg(s.dir.path());
    if let Some(url) = &s.config.database_url {
        command.args(["--database-url", url]);
    }
    let output = tokio::time::timeout(PATIENCE, command.output())
        .await
        .expect("the admin command ends")
        .expect("the admin command runs");
    assert!(
        output.status.success(),
        "admin invite {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("UTF-8 output")
}

/// A new code from the admin command, as printed (one line).
async fn invite(s: &TestServer, args: &[&str]) -> String {
    let printed = admin(s, &[&["create"], args].concat()).await;
    let code = printed.trim().to_owned();
    assert!(
        code.len() >= 32 && code.chars().all(|c| c.is_ascii_hexdigit()),
        "not a code: {printed:?}"
    );
    code
}

async fn invite_server() -> TestServer {
    spawn_with(|c| c.registration = Registration::Invite).await
}

#[tokio::test]
async fn open_registration_needs_no_invite_and_ignores_one() {
    let s = spawn().await;
    assert_eq!(register_with(&s, "ann", None).await.0, 201);
    assert_eq!(register_with(&s, "bob", Some("whatever")).await.0, 201);
}

#[tokio::test]
async fn closed_registration_refuses_everyone_but_existing_users_log_in() {
    let s = spawn().await;
    s.user("ann").await;
    let (dir, mut config) = s.stop().await;
    config.registration = Registration::Closed;
    let s = start(dir, config).await;
    let (status, body) = register_with(&s, "bob", None).await;
    assert_eq!(status, 403);
    assert_eq!(body["detail"], "Registration is closed on this server");
    s.token("ann", "password-ann").await;
}

#[tokio::test]
async fn invite_registration_tells_a_missing_code_from_an_invalid_one() {
    let s = invite_server().await;
    let (status, body) = register_with(&s, "ann", None).await;
    assert_eq!(status, 403);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("needs an invite code"),
        "{body}"
    );
    let (status, body) = register_with(&s, "ann", Some("")).await;
    assert_eq!((status, body["detail"].as_str().is_some()), (403, true));
    let bogus = "0123456789abcdef0123456789abcdef";
    let (status, body) = register_with(&s, "ann", Some(bogus)).await;
    assert_eq!(status, 403);
    assert!(
        body["detail"].as_str().unwrap().contains("not valid"),
        "{body}"
    );
    assert_eq!(s.login("ann", "password-123").await.status(), 401);
}

#[tokio::test]
async fn a_code_from_the_admin_command_opens_one_account_while_the_server_runs() {
    let s = invite_server().await;
    let code = invite(&s, &[]).await;
    let (status, body) = register_with(&s, "ann", Some(&code)).await;
    assert_eq!(status, 201, "{body}");
    s.token("ann", "password-123").await;
    let (status, body) = register_with(&s, "bob", Some(&code)).await;
    assert_eq!(status, 403);
    assert!(
        body["detail"].as_str().unwrap().contains("not valid"),
        "{body}"
    );
    let listed = admin(&s, &["list"]).await;
    assert!(!listed.contains(&code), "the list shows the code: {listed}");
    assert!(listed.lines().count() == 2, "one invite listed: {listed}");
}

#[tokio::test]
async fn a_code_for_two_uses_opens_exactly_two_accounts() {
    let s = invite_server().await;
    let code = invite(&s, &["--uses", "2", "--expires", "1h"]).await;
    assert_eq!(register_with(&s, "ann", Some(&code)).await.0, 201);
    assert_eq!(register_with(&s, "bob", Some(&code)).await.0, 201);
    assert_eq!(register_with(&s, "cid", Some(&code)).await.0, 403);
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let s = invite_server().await;
    let code = invite(&s, &["--uses", "5", "--expires", "1h"]).await;
    let listed = admin(&s, &["list"]).await;
    assert!(!listed.contains("never"), "no expiry kept: {listed}");
    // An hour is too long to wait for: the code's expiry is moved into the past.
    sql(&s, &["UPDATE invites SET expires_at = 1"]).await;
    let (status, body) = register_with(&s, "ann", Some(&code)).await;
    assert_eq!(status, 403);
    assert!(
        body["detail"].as_str().unwrap().contains("not valid"),
        "{body}"
    );
}

#[tokio::test]
async fn racing_registrations_cannot_share_the_last_use() {
    let s = invite_server().await;
    let code = invite(&s, &[]).await;
    let names: Vec<String> = (0..8).map(|i| format!("racer{i}")).collect();
    let statuses = futures_util::future::join_all(
        names
            .iter()
            .map(|name| register_with(&s, name, Some(&code))),
    )
    .await;
    let created = statuses.iter().filter(|(status, _)| *status == 201).count();
    assert_eq!(created, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|(status, _)| [201, 403].contains(status))
    );
}

#[tokio::test]
async fn a_registration_that_fails_gives_its_use_back() {
    let s = invite_server().await;
    let first = invite(&s, &[]).await;
    assert_eq!(register_with(&s, "ann", Some(&first)).await.0, 201);
    let code = invite(&s, &[]).await;
    let (status, _) = register_with(&s, "ann", Some(&code)).await;
    assert_eq!(status, 400, "the name is taken");
    assert_eq!(register_with(&s, "bob", Some(&code)).await.0, 201);
}

#[tokio::test]
async fn the_admin_command_refuses_a_data_dir_without_a_database() {
    let empty = tempfile::tempdir().expect("temp dir");
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_palaver"))
        .args(["admin", "invite", "create", "--data-dir"])
        .arg(empty.path())
        .output()
        .await
        .expect("the admin command runs");
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no palaver database"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!empty.path().join("palaver.db").exists());
}
