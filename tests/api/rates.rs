//! One budget per user, whatever the connection or the protocol.

use crate::helpers::*;
use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

fn send(n: usize) -> serde_json::Value {
    json!({"type": "send", "room": "general", "content": format!("m{n}"), "client_id": format!("c{n}")})
}

#[tokio::test]
async fn a_users_connections_share_one_send_budget_on_both_protocols() {
    // 2 per second, bursts of 4.
    let s = spawn_with(|c| c.rate_limit = 2).await;
    let (token, other) = (s.user("chatty").await, s.user("calm").await);
    let mut first = s.v1("/ws/general", &token).await;
    next_of(&mut first, "subscribed").await;
    let mut second = s.v1("/ws/general", &token).await;
    next_of(&mut second, "subscribed").await;
    for n in 0..4 {
        send_json(&mut first, send(n)).await;
        next_of(&mut first, "ack").await;
    }
    // A second connection does not bring a second budget.
    send_json(&mut second, send(4)).await;
    let refused = next_of(&mut second, "error").await;
    assert_eq!(refused["code"], "rate_limited", "{refused}");
    let hint = refused["retry_after_ms"].as_u64().expect("a retry hint");
    assert!((1..=1000).contains(&hint), "{refused}");
    // Nor does the chapter's protocol: its message is dropped, not stored.
    let mut compat = s.compat("general", &token).await;
    next_text(&mut compat).await; // its join line
    compat
        .send(Message::Text("over the budget".into()))
        .await
        .expect("sent");
    // Someone else's budget is their own.
    let mut calm = s.v1("/ws/general", &other).await;
    next_of(&mut calm, "subscribed").await;
    send_json(&mut calm, send(9)).await;
    next_of(&mut calm, "ack").await;
    // By now the compat frame was read (frames of one socket are read in
    // order, and calm's message came after it): history has no trace of it.
    let contents = s.contents("general", &other).await;
    assert!(
        !contents.iter().any(|c| c == "over the budget"),
        "{contents:?}"
    );
    assert_eq!(contents.len(), 5, "{contents:?}");
}

#[tokio::test]
async fn a_chapter_client_that_keeps_flooding_is_closed() {
    let s = spawn_with(|c| c.rate_limit = 1).await;
    let token = s.user("flooder").await;
    let mut ws = s.compat("general", &token).await;
    next_text(&mut ws).await;
    for n in 0..60 {
        if ws
            .send(Message::Text(format!("flood {n}").into()))
            .await
            .is_err()
        {
            break;
        }
    }
    let close = next_close(&mut ws).await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1008, "{close:?}");
    assert!(close.reason.contains("too fast"), "{close:?}");
}

#[tokio::test]
async fn history_pages_count_against_the_replay_budget() {
    // The smallest budget still holds one page (1,000 messages) at once.
    let s = spawn_with(|c| c.replay_rate = 1).await;
    let token = s.user("reader").await;
    for _ in 0..10 {
        let (status, _) = s
            .get_json("/rooms/general/messages?limit=100", Some(&token))
            .await;
        assert_eq!(status, 200);
    }
    let r = s
        .http
        .get(s.url("/rooms/general/messages?limit=100"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let other = s.user("other-reader").await;
    let (status, _) = s
        .get_json("/messages/general?limit=100", Some(&other))
        .await;
    assert_eq!(status, 200, "another user's budget is untouched");
}
