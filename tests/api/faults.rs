//! Faults: a database that fills up and frees again, on a running server.
//!
//! SQLite's `max_page_count` (here in the database URL) makes writes past the
//! cap fail exactly as on a full disk ("database or disk is full"), without
//! a small filesystem to mount. The cap is per connection, so the test fills
//! the room under it with a ballast table through its own, uncapped
//! connection, and frees space again by dropping that table: its pages go
//! back to the file's free list, where the server's writer finds them.
//! The cap makes SQLite undo the failed statement only; a real full disk can
//! end the whole transaction, which left the writer stuck before: that state
//! is covered by a unit test in `store::sqlite`.

use crate::helpers::*;
use serde_json::{Value, json};
use std::collections::HashSet;

/// The cap, in pages; the ballast leaves `HEADROOM` pages of it free.
const CAP: i64 = 400;
const HEADROOM: i64 = 24;
/// More sends than the headroom can take: the test fails if none is refused.
const MAX_SENDS: usize = 2000;

async fn sqlite(db: &std::path::Path) -> sqlx::SqlitePool {
    sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .expect("a second connection to the database")
}

async fn scalar(pool: &sqlx::SqlitePool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.expect(sql)
}

/// Sends one message and waits for what the server says about it.
async fn send(ws: &mut Ws, client_id: &str) -> Value {
    let content = format!("{client_id} {}", "x".repeat(600));
    send_json(
        ws,
        json!({"type": "send", "room": "general", "content": content, "client_id": client_id, "ref": client_id}),
    )
    .await;
    loop {
        let v = next_json(ws).await;
        if v["ref"] == client_id {
            return v;
        }
    }
}

fn is_ack(reply: &Value) -> bool {
    reply["type"] == "ack"
}

fn is_store_failed(reply: &Value) -> bool {
    reply["type"] == "error" && reply["code"] == "store_failed"
}

/// Every message of `general`, oldest first, through the HTTP API.
async fn history(s: &TestServer, token: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut path = "/rooms/general/messages?limit=100".to_owned();
    loop {
        let (status, page) = s.get_json(&path, Some(token)).await;
        assert_eq!(status, 200, "history: {page}");
        let mut messages = page["messages"].as_array().cloned().unwrap_or_default();
        messages.extend(all);
        all = messages;
        if page["has_more"] != true {
            return all;
        }
        path = format!(
            "/rooms/general/messages?limit=100&before={}",
            page["next_before"]
        );
    }
}

#[tokio::test]
async fn a_full_database_refuses_sends_and_recovers_without_a_restart() {
    // SQLite whatever the suite runs on: the fault is SQLite's page cap.
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("palaver.db");
    let mut config = test_config(&dir);
    config.database_url = Some(format!("sqlite://{}?max_page_count={CAP}", db.display()));
    config.rate_limit = 1_000_000;
    let s = start(dir, config).await;
    let (sender, watcher) = (s.user("fay").await, s.user("gus").await);

    let (status, body) = s.get_json("/readyz", None).await;
    assert_eq!((status, body), (200, json!({"status": "ready"})));

    let ballast = sqlite(&db).await;
    let page_size = scalar(&ballast, "PRAGMA page_size").await;
    let pages = scalar(&ballast, "PRAGMA page_count").await;
    let fill = (CAP - pages - HEADROOM) * page_size;
    assert!(fill > 0, "the schema alone takes {pages} of {CAP} pages");
    for sql in [
        "CREATE TABLE ballast (b BLOB)".to_owned(),
        format!("INSERT INTO ballast VALUES (zeroblob({fill}))"),
    ] {
        sqlx::query(&sql).execute(&ballast).await.expect(&sql);
    }

    // The watcher collects what is delivered until the last message.
    let mut watch = s.v1("/ws/general", &watcher).await;
    next_of(&mut watch, "subscribed").await;
    let delivered = tokio::spawn(async move {
        let mut seen = Vec::new();
        loop {
            let m = next_of(&mut watch, "message").await;
            let last = m["client_id"] == "after";
            seen.push(m["client_id"].as_str().unwrap_or_default().to_owned());
            if last {
                return seen;
            }
        }
    });

    let mut ws = s.v1("/ws/general", &sender).await;
    next_of(&mut ws, "subscribed").await;
    let mut acked = Vec::new();
    let mut refused = Vec::new();
    for i in 0..MAX_SENDS {
        let client_id = format!("m{i}");
        let reply = send(&mut ws, &client_id).await;
        if is_ack(&reply) {
            assert!(refused.is_empty(), "{client_id} stored after a refusal");
            acked.push(client_id);
        } else {
            assert!(is_store_failed(&reply), "{client_id}: {reply}");
            refused.push(client_id);
            // A few more, so that failing again on the same writer is covered.
            if refused.len() == 3 {
                break;
            }
        }
    }
    assert_eq!(refused.len(), 3, "the database never filled up");
    assert!(
        !acked.is_empty(),
        "nothing was stored before the disk filled"
    );

    let (status, body) = s.get_json("/readyz", None).await;
    assert_eq!(status, 503, "{body}");
    let detail = body["detail"].as_str().expect("a detail");
    assert!(!detail.contains("database or disk"), "{detail}");
    assert_eq!(s.get_json("/healthz", None).await.0, 200);

    // The space comes back; the same server stores again, a resend included.
    sqlx::query("DROP TABLE ballast")
        .execute(&ballast)
        .await
        .expect("drop the ballast");
    ballast.close().await;
    let resend = send(&mut ws, &refused[0]).await;
    assert!(is_ack(&resend), "a resend after space came back: {resend}");
    assert_ne!(resend["duplicate"], true, "{resend}");
    let after = send(&mut ws, "after").await;
    assert!(is_ack(&after), "a send after space came back: {after}");
    eventually("/readyz ready again", || async {
        s.get_json("/readyz", None).await.0 == 200
    })
    .await;

    let mut expected = acked.clone();
    expected.extend([refused[0].clone(), "after".to_owned()]);
    let seen = tokio::time::timeout(PATIENCE, delivered)
        .await
        .expect("everything delivered in time")
        .expect("watcher");
    assert_eq!(seen, expected, "delivered: the acked messages, in order");

    let stored: Vec<String> = history(&s, &sender)
        .await
        .iter()
        .map(|m| m["client_id"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(stored, expected, "stored: the acked messages, in order");
    let unacked: HashSet<&String> = refused[1..].iter().collect();
    assert!(stored.iter().all(|c| !unacked.contains(c)));
}
