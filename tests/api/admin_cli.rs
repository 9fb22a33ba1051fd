//! `palaver admin user promote|demote|disable|enable NAME`: the real binary
//! run against a running server's store, as an operator would.

use crate::helpers::*;
use futures_util::StreamExt;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// The server re-checks its sockets' sessions every 5 s; a disabled user's
/// sockets must be closed by then, with a margin for a loaded machine.
const RECHECK_BOUND: Duration = Duration::from_secs(15);

async fn user_command(s: &TestServer, action: &str, name: &str) {
    let output = s.palaver_admin(&["user", action, name]).await;
    assert!(
        output.status.success(),
        "admin user {action} {name} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

async fn is_admin(s: &TestServer, token: &str) -> bool {
    let (status, me) = s.get_json("/users/me", Some(token)).await;
    assert_eq!(status, 200, "{me}");
    me["admin"]
        .as_bool()
        .unwrap_or_else(|| panic!("no admin flag in {me}"))
}

/// The close code of `ws`, which must come within `RECHECK_BOUND` (pings
/// are answered meanwhile, so only the server's re-check can close it).
async fn closed_within_bound(ws: &mut Ws) -> u16 {
    tokio::time::timeout(RECHECK_BOUND, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => {
                    return frame.map_or(0, |f| u16::from(f.code));
                }
                Some(Ok(_)) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    })
    .await
    .expect("the disabled user's socket is closed in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn promote_demote_disable_and_enable_act_on_a_running_server() {
    let s = spawn().await;
    let token = s.user("cli-user").await;
    assert!(!is_admin(&s, &token).await);
    assert_eq!(s.get_json("/admin/users", Some(&token)).await.0, 403);

    user_command(&s, "promote", "cli-user").await;
    eventually("the promoted user is an admin", || async {
        is_admin(&s, &token).await
    })
    .await;
    let (status, users) = s.get_json("/admin/users", Some(&token)).await;
    assert_eq!(status, 200, "{users}");

    // Demoting signs the user out everywhere: no token or socket keeps an
    // admin's rights.
    user_command(&s, "demote", "cli-user").await;
    assert_eq!(s.get_json("/users/me", Some(&token)).await.0, 401);
    let token = s.token("cli-user", "password-cli-user").await;
    assert!(!is_admin(&s, &token).await);
    assert_eq!(s.get_json("/admin/users", Some(&token)).await.0, 403);

    let mut v1 = s.v1("/ws/general", &token).await;
    next_of(&mut v1, "subscribed").await;
    let mut chapter = s.compat("general", &token).await;
    next_text(&mut chapter).await;
    user_command(&s, "disable", "cli-user").await;
    let (v1_code, chapter_code) = tokio::join!(
        closed_within_bound(&mut v1),
        closed_within_bound(&mut chapter)
    );
    // 4001: the session ended, as for a logout.
    assert_eq!((v1_code, chapter_code), (4001, 4001));
    assert_eq!(s.get_json("/users/me", Some(&token)).await.0, 401);
    let refused = s.login("cli-user", "password-cli-user").await;
    assert!(
        refused.status().is_client_error(),
        "a disabled user logs in: {}",
        refused.status()
    );

    user_command(&s, "enable", "cli-user").await;
    let token = s.token("cli-user", "password-cli-user").await;
    assert!(!is_admin(&s, &token).await);
}

#[tokio::test]
async fn an_unknown_user_is_an_error_naming_them() {
    let s = spawn().await;
    for action in ["promote", "demote", "disable", "enable"] {
        let output = s.palaver_admin(&["user", action, "cli-nobody"]).await;
        assert!(!output.status.success(), "{action} of nobody succeeded");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("cli-nobody"), "{action}: {stderr}");
    }
}
