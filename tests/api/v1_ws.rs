//! palaver.v1: JSON events, many rooms per socket, acks, exactly-once sends,
//! gap-free resume, presence, typing, and the error codes.

use crate::helpers::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

async fn subscribe(ws: &mut Ws, room: &str, since: Option<i64>) -> Value {
    let mut cmd = json!({"type": "subscribe", "room": room, "ref": format!("sub-{room}")});
    if let Some(since) = since {
        cmd["since"] = json!(since);
    }
    send_json(ws, cmd).await;
    let reply = next_of(ws, "subscribed").await;
    assert_eq!(reply["room"], room);
    reply
}

async fn send_msg(ws: &mut Ws, room: &str, content: &str, client_id: &str) {
    send_json(
        ws,
        json!({"type": "send", "room": room, "content": content, "client_id": client_id, "ref": client_id}),
    )
    .await;
}

#[tokio::test]
async fn subprotocol_selects_json_and_can_carry_the_token() {
    let s = spawn().await;
    let token = s.user("amy").await;
    let mut req = format!("{}/ws/general", s.ws_base)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_str(&format!("palaver.v1, bearer.{token}")).unwrap(),
    );
    let (mut ws, response) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "palaver.v1");
    let hello = next_json(&mut ws).await;
    assert_eq!(
        hello,
        json!({"type": "subscribed", "room": "general", "presence": ["amy"]})
    );

    // ?token= works for v1 too, on the room-less endpoint.
    let mut req = format!("{}/ws?token={token}", s.ws_base)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("palaver.v1"),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    send_json(&mut ws, json!({"type": "ping", "ref": 1})).await;
    assert_eq!(next_json(&mut ws).await, json!({"type": "pong", "ref": 1}));
}

#[tokio::test]
async fn compat_without_a_room_is_refused_with_1008() {
    let s = spawn().await;
    let token = s.user("bob").await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{}/ws?token={token}", s.ws_base))
        .await
        .unwrap();
    assert_eq!(u16::from(next_close(&mut ws).await.unwrap().code), 1008);
}

#[tokio::test]
async fn compat_and_v1_clients_share_a_room() {
    let s = spawn().await;
    let (a, b) = (s.user("cora").await, s.user("dan").await);
    let mut old = s.compat("general", &a).await;
    assert_eq!(
        next_text(&mut old).await,
        "User 'cora' joined room 'general'."
    );
    let mut new = s.v1("/ws", &b).await;
    let sub = subscribe(&mut new, "general", None).await;
    assert_eq!(sub["presence"], json!(["cora", "dan"]));
    assert_eq!(
        next_text(&mut old).await,
        "User 'dan' joined room 'general'."
    );

    send_text(&mut old, "from the chapter").await;
    assert_eq!(
        next_text(&mut old).await,
        "[general] cora: from the chapter"
    );
    let m = next_of(&mut new, "message").await;
    assert_eq!(
        (m["user"].as_str(), m["content"].as_str()),
        (Some("cora"), Some("from the chapter"))
    );
    assert!(m.get("client_id").is_none());

    send_msg(&mut new, "general", "from v1", "c-1").await;
    let ack = next_of(&mut new, "ack").await;
    assert_eq!(ack["client_id"], "c-1");
    assert_eq!(ack["ref"], "c-1");
    assert!(ack["id"].as_i64().unwrap() > m["id"].as_i64().unwrap());
    assert_eq!(next_text(&mut old).await, "[general] dan: from v1");
}

#[tokio::test]
async fn a_resend_with_the_same_client_id_is_stored_and_broadcast_once() {
    let s = spawn().await;
    let (sender, watcher) = (s.user("eli").await, s.user("fox").await);
    let mut watch = s.v1("/ws/general", &watcher).await;
    next_of(&mut watch, "subscribed").await;

    // Send, then vanish before the ack could be read.
    let mut first = s.v1("/ws/general", &sender).await;
    next_of(&mut first, "subscribed").await;
    send_msg(&mut first, "general", "only once", "dup-1").await;
    drop(first);

    // Reconnect, not knowing whether it arrived, and send it again.
    let mut second = s.v1("/ws/general", &sender).await;
    next_of(&mut second, "subscribed").await;
    send_msg(&mut second, "general", "only once", "dup-1").await;
    let ack = next_of(&mut second, "ack").await;
    let id = ack["id"].as_i64().unwrap();

    let seen = next_of(&mut watch, "message").await;
    assert_eq!(seen["id"].as_i64(), Some(id));
    assert_eq!(seen["client_id"], "dup-1");
    // No second broadcast reaches the watcher.
    let more =
        tokio::time::timeout(Duration::from_millis(500), next_of(&mut watch, "message")).await;
    assert!(more.is_err(), "second broadcast: {more:?}");

    let (_, history) = s.get_json("/messages/general", Some(&sender)).await;
    assert_eq!(history.as_array().unwrap().len(), 1);
    assert_eq!(history[0]["id"].as_i64(), Some(id));

    // A third try on a live socket acks with the same id, marked duplicate.
    send_msg(&mut second, "general", "only once", "dup-1").await;
    let again = next_of(&mut second, "ack").await;
    assert_eq!(again["id"].as_i64(), Some(id));
    assert_eq!(again["duplicate"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resume_with_since_replays_everything_missed_exactly_once_in_order() {
    let s = spawn_with(|c| c.rate_limit = 0).await;
    let reader = s.user("gus").await;
    let mut senders = Vec::new();
    for i in 0..3 {
        let token = s.user(&format!("sender{i}")).await;
        let mut ws = s.v1("/ws/general", &token).await;
        next_of(&mut ws, "subscribed").await;
        senders.push(ws);
    }
    let mut ws = s.v1("/ws/general", &reader).await;
    next_of(&mut ws, "subscribed").await;

    // The senders go on for a while: 3 x 200 messages.
    let sending: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(i, ws)| {
            tokio::spawn(async move {
                let (mut write, mut read) = ws.split();
                // Keep reading (the server must not count the sender as slow)
                // until all 200 are acknowledged, i.e. stored.
                let acks = tokio::spawn(async move {
                    let mut acked = 0;
                    while acked < 200 {
                        match read.next().await {
                            Some(Ok(Message::Text(t))) if t.contains(r#""type":"ack""#) => acked += 1,
                            Some(Ok(_)) => {}
                            other => panic!("sender {i} lost its socket: {other:?}"),
                        }
                    }
                });
                for n in 0..200 {
                    let cmd = json!({"type": "send", "room": "general", "content": format!("s{i}-{n}"), "client_id": format!("s{i}-{n}")});
                    write.send(Message::Text(cmd.to_string().into())).await.unwrap();
                    // Paced on purpose: the sending must outlast the
                    // reader's absence, so that it resumes into a live stream.
                    if n % 20 == 0 {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
                acks.await.unwrap();
            })
        })
        .collect();

    // Read a few, then drop the connection mid-stream.
    let mut got: Vec<Value> = Vec::new();
    while got.len() < 30 {
        got.push(next_of(&mut ws, "message").await);
    }
    drop(ws);
    let since = got.last().unwrap()["id"].as_i64().unwrap();
    // Away until something was stored that it did not see.
    eventually("a message stored after the reader left", || async {
        let path = format!("/rooms/general/messages?after={since}&limit=1");
        let (_, page) = s.get_json(&path, Some(&reader)).await;
        page["messages"].as_array().is_some_and(|m| !m.is_empty())
    })
    .await;

    // Come back while the others are still sending, with the last id seen.
    let mut ws = s.v1("/ws", &reader).await;
    subscribe(&mut ws, "general", Some(since)).await;
    while got.len() < 600 {
        got.push(next_of(&mut ws, "message").await);
    }
    for task in sending {
        task.await.unwrap();
    }
    let extra = tokio::time::timeout(Duration::from_millis(300), next_of(&mut ws, "message")).await;
    assert!(extra.is_err(), "a message beyond the 600: {extra:?}");

    let ids: Vec<i64> = got.iter().map(|m| m["id"].as_i64().unwrap()).collect();
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "strictly increasing: no duplicate, in order"
    );
    let (_, page) = s
        .get_json("/rooms/general/messages?after=0&limit=1000", Some(&reader))
        .await;
    let stored: Vec<i64> = page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, stored, "exactly the stored messages, none missed");
}

#[tokio::test]
async fn one_socket_many_rooms_and_unsubscribe_stops_delivery() {
    let s = spawn().await;
    let (a, b) = (s.user("hal").await, s.user("ida").await);
    let mut multi = s.v1("/ws", &a).await;
    subscribe(&mut multi, "general", None).await;
    subscribe(&mut multi, "random", None).await;
    let mut other = s.v1("/ws", &b).await;
    subscribe(&mut other, "general", None).await;
    subscribe(&mut other, "random", None).await;

    send_msg(&mut other, "general", "to general", "g1").await;
    send_msg(&mut other, "random", "to random", "r1").await;
    let m1 = next_of(&mut multi, "message").await;
    let m2 = next_of(&mut multi, "message").await;
    assert_eq!(
        (m1["room"].as_str(), m2["room"].as_str()),
        (Some("general"), Some("random"))
    );

    send_json(
        &mut multi,
        json!({"type": "unsubscribe", "room": "random", "ref": 9}),
    )
    .await;
    assert_eq!(
        next_of(&mut multi, "unsubscribed").await,
        json!({"type": "unsubscribed", "room": "random", "ref": 9})
    );
    send_msg(&mut other, "random", "unheard", "r2").await;
    send_msg(&mut other, "general", "heard", "g2").await;
    let m = next_of(&mut multi, "message").await;
    assert_eq!(m["content"], "heard");
}

#[tokio::test]
async fn presence_is_per_user_not_per_tab() {
    let s = spawn().await;
    let (watcher, jo) = (s.user("kai").await, s.user("joe").await);
    let mut watch = s.v1("/ws/general", &watcher).await;
    next_of(&mut watch, "subscribed").await;

    let mut tab1 = s.v1("/ws/general", &jo).await;
    let sub = next_of(&mut tab1, "subscribed").await;
    assert_eq!(sub["presence"], json!(["joe", "kai"]));
    assert_eq!(next_presence_of(&mut watch, "joe").await, "joined");

    let mut tab2 = s.v1("/ws/general", &jo).await;
    next_of(&mut tab2, "subscribed").await;
    let (_, room) = s.get_json("/rooms/general", None).await;
    assert_eq!(room["online"], json!(["joe", "kai"]));
    assert_eq!(room["online_count"], 2);
    assert_eq!(room["name"], "general");
    assert!(room["created_at"].is_string() && room["topic"].is_string());

    tab1.close(None).await.unwrap();
    // joe is still here in tab2: no "left" for the watcher yet.
    assert_silent(&mut watch, Duration::from_millis(300)).await;
    tab2.close(None).await.unwrap();
    assert_eq!(
        next_json(&mut watch).await,
        json!({"type": "left", "room": "general", "user": "joe"})
    );
    let (_, room) = s.get_json("/rooms/general", None).await;
    assert_eq!(room["online"], json!(["kai"]));
}

#[tokio::test]
async fn typing_reaches_the_others_and_is_never_stored() {
    let s = spawn().await;
    let (a, b) = (s.user("lea").await, s.user("max").await);
    let mut lea = s.v1("/ws/general", &a).await;
    next_of(&mut lea, "subscribed").await;
    let mut max = s.v1("/ws/general", &b).await;
    next_of(&mut max, "subscribed").await;
    assert_eq!(next_presence_of(&mut lea, "max").await, "joined");

    send_json(&mut lea, json!({"type": "typing", "room": "general"})).await;
    assert_eq!(
        next_of(&mut max, "typing").await,
        json!({"type": "typing", "room": "general", "user": "lea"})
    );
    assert_silent(&mut lea, Duration::from_millis(300)).await;
    let (_, history) = s.get_json("/messages/general", Some(&a)).await;
    assert_eq!(history, json!([]));
}

async fn expect_error(ws: &mut Ws, frame: &str, code: &str) -> Value {
    send_text(ws, frame).await;
    let error = next_of(ws, "error").await;
    assert_eq!(error["code"], code, "{frame} -> {error}");
    assert!(error["message"].is_string());
    error
}

#[tokio::test]
async fn every_error_code_is_an_event_not_a_dropped_connection() {
    let s = spawn_with(|c| {
        c.max_message_bytes = 100;
        c.rate_limit = 2;
    })
    .await;
    let token = s.user("ned").await;
    let mut ws = s.v1("/ws", &token).await;

    expect_error(&mut ws, "not json", "bad_json").await;
    expect_error(&mut ws, "[1,2]", "bad_json").await;
    let e = expect_error(&mut ws, r#"{"type":"dance","ref":"r1"}"#, "unknown_command").await;
    assert_eq!(e["ref"], "r1");
    expect_error(&mut ws, r#"{"room":"general"}"#, "unknown_command").await;
    expect_error(
        &mut ws,
        r#"{"type":"send","room":"general"}"#,
        "bad_command",
    )
    .await;
    expect_error(&mut ws, r#"{"type":"subscribe","room":7}"#, "bad_command").await;
    expect_error(
        &mut ws,
        r#"{"type":"subscribe","room":"general","since":-5}"#,
        "bad_command",
    )
    .await;
    expect_error(
        &mut ws,
        r#"{"type":"subscribe","room":"atlantis"}"#,
        "unknown_room",
    )
    .await;
    expect_error(
        &mut ws,
        r#"{"type":"subscribe","room":"Not A Room!"}"#,
        "unknown_room",
    )
    .await;
    expect_error(
        &mut ws,
        r#"{"type":"send","room":"general","content":"hi","client_id":"x"}"#,
        "not_subscribed",
    )
    .await;
    expect_error(
        &mut ws,
        r#"{"type":"unsubscribe","room":"general"}"#,
        "not_subscribed",
    )
    .await;
    expect_error(
        &mut ws,
        r#"{"type":"typing","room":"general"}"#,
        "not_subscribed",
    )
    .await;

    subscribe(&mut ws, "general", None).await;
    let big =
        json!({"type": "send", "room": "general", "content": "x".repeat(101), "client_id": "big"});
    expect_error(&mut ws, &big.to_string(), "too_large").await;
    let blank =
        json!({"type": "send", "room": "general", "content": "  \n ", "client_id": "blank"});
    expect_error(&mut ws, &blank.to_string(), "empty_message").await;
    let no_id = json!({"type": "send", "room": "general", "content": "hi", "client_id": ""});
    expect_error(&mut ws, &no_id.to_string(), "bad_command").await;

    // Rate 2/s, burst 4: the fifth quick send is refused.
    for i in 0..4 {
        send_msg(&mut ws, "general", "quick", &format!("q{i}")).await;
    }
    let limited =
        json!({"type": "send", "room": "general", "content": "one too many", "client_id": "q4"});
    expect_error(&mut ws, &limited.to_string(), "rate_limited").await;

    // Unknown fields are ignored; the connection still works after all that.
    send_json(
        &mut ws,
        json!({"type": "ping", "ref": "alive", "future_field": [1, 2]}),
    )
    .await;
    assert_eq!(next_of(&mut ws, "pong").await["ref"], "alive");
}

#[tokio::test]
async fn a_store_failure_is_reported_and_nothing_is_delivered() {
    let s = spawn().await;
    let token = s.user("ola").await;
    let mut v1 = s.v1("/ws/general", &token).await;
    next_of(&mut v1, "subscribed").await;
    let mut compat = s.compat("general", &token).await;
    next_text(&mut compat).await;

    // Make the real database refuse new messages.
    if on_postgres() {
        sql(&s, &[
            "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk says no'; END $$ LANGUAGE plpgsql",
            "CREATE TRIGGER refuse BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION refuse()",
        ])
        .await;
    } else {
        sql(&s, &["CREATE TRIGGER refuse BEFORE INSERT ON messages BEGIN SELECT RAISE(ABORT, 'disk says no'); END"]).await;
    }

    send_msg(&mut v1, "general", "lost?", "f-1").await;
    let error = next_of(&mut v1, "error").await;
    assert_eq!(error["code"], "store_failed");
    assert_eq!(error["client_id"], "f-1");
    send_text(&mut compat, "not echoed").await;
    assert_silent(&mut compat, Duration::from_millis(300)).await;

    // Once the store recovers, the same client_id goes through.
    let drop = if on_postgres() {
        "DROP TRIGGER refuse ON messages"
    } else {
        "DROP TRIGGER refuse"
    };
    sql(&s, &[drop]).await;
    send_msg(&mut v1, "general", "lost?", "f-1").await;
    let ack = next_of(&mut v1, "ack").await;
    assert_eq!(ack["client_id"], "f-1");
    assert_eq!(next_text(&mut compat).await, "[general] ola: lost?");
}

#[tokio::test]
async fn a_client_that_keeps_misbehaving_is_closed_with_1008() {
    let s = spawn().await;
    let token = s.user("pia").await;
    let mut ws = s.v1("/ws", &token).await;
    for _ in 0..10 {
        send_text(&mut ws, "garbage").await;
    }
    assert_eq!(u16::from(next_close(&mut ws).await.unwrap().code), 1008);
}

#[tokio::test]
async fn rooms_can_be_created_and_used_at_once_over_both_protocols() {
    let s = spawn().await;
    let token = s.user("quinn").await;
    let (status, room) = s
        .post_json(
            "/rooms",
            Some(&token),
            &json!({"name": "rust-lang_2", "topic": "Crabs"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(room["name"], "rust-lang_2");
    assert_eq!(room["topic"], "Crabs");

    let (status, _) = s
        .post_json("/rooms", Some(&token), &json!({"name": "rust-lang_2"}))
        .await;
    assert_eq!(status, 409);
    for bad in ["", "Upper", "has space", &"a".repeat(65)] {
        let (status, body) = s
            .post_json("/rooms", Some(&token), &json!({"name": bad}))
            .await;
        assert_eq!(status, 422, "{bad:?}");
        assert!(body["detail"].is_string());
    }
    let (status, _) = s.post_json("/rooms", None, &json!({"name": "anon"})).await;
    assert_eq!(status, 401);

    let (_, list) = s.get_json("/rooms", None).await;
    assert!(
        list["rooms"]
            .as_array()
            .unwrap()
            .contains(&json!("rust-lang_2"))
    );

    let mut old = s.compat("rust-lang_2", &token).await;
    assert_eq!(
        next_text(&mut old).await,
        "User 'quinn' joined room 'rust-lang_2'."
    );
    let mut new = s.v1("/ws", &token).await;
    subscribe(&mut new, "rust-lang_2", None).await;
    let (_, detail) = s.get_json("/rooms?detail=true", None).await;
    let entry = detail["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "rust-lang_2")
        .cloned()
        .unwrap();
    assert_eq!(entry["online_count"], 1);
    assert_eq!(entry["topic"], "Crabs");
}

#[tokio::test]
async fn cursor_paging_is_exact_while_others_write() {
    let s = spawn_with(|c| c.rate_limit = 0).await;
    let token = s.user("rex").await;
    let mut ws = s.v1("/ws/general", &token).await;
    next_of(&mut ws, "subscribed").await;
    for i in 0..25 {
        send_msg(&mut ws, "general", &format!("m{i}"), &format!("m{i}")).await;
    }
    for _ in 0..25 {
        next_of(&mut ws, "ack").await;
    }

    // Page backwards, 10 at a time, while new messages keep arriving.
    let mut seen = Vec::new();
    let mut path = "/rooms/general/messages?limit=10".to_owned();
    let mut round = 0;
    loop {
        let (status, page) = s.get_json(&path, Some(&token)).await;
        assert_eq!(status, 200, "{page}");
        let mut ids: Vec<i64> = page["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_i64().unwrap())
            .collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "oldest to newest within a page"
        );
        ids.extend(seen);
        seen = ids;
        send_msg(
            &mut ws,
            "general",
            &format!("late{round}"),
            &format!("late{round}"),
        )
        .await;
        round += 1;
        match page["next_before"].as_i64() {
            Some(before) => path = format!("/rooms/general/messages?limit=10&before={before}"),
            None => break,
        }
    }
    assert_eq!(
        seen.len(),
        25,
        "the 25 older messages, no skips, no repeats"
    );

    let (status, body) = s
        .get_json("/rooms/general/messages?before=5&after=1", Some(&token))
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = s
        .get_json("/rooms/general/messages?limit=0", Some(&token))
        .await;
    assert_eq!(status, 422);
    let (status, _) = s.get_json("/rooms/nowhere/messages", Some(&token)).await;
    assert_eq!(status, 404);
}
