//! The chapter's WebSocket contract: `/ws/{room}?token=`, its exact text
//! frames, room isolation, history, and the guarantees behind them.

use crate::helpers::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::collections::HashSet;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

#[tokio::test]
async fn upgrade_without_a_valid_token_is_refused_before_any_frame() {
    let s = spawn().await;
    for url in [
        format!("{}/ws/general", s.ws_base),
        format!("{}/ws/general?token=garbage", s.ws_base),
    ] {
        match tokio_tungstenite::connect_async(url).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 401);
            }
            other => panic!("expected 401, got {:?}", other.map(|(_, r)| r.status())),
        }
    }
}

#[tokio::test]
async fn a_bearer_header_works_as_well_as_the_query_token() {
    let s = spawn().await;
    let token = s.user("gina").await;
    let mut req = format!("{}/ws/general", s.ws_base)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    assert_eq!(
        next_text(&mut ws).await,
        "User 'gina' joined room 'general'."
    );
}

#[tokio::test]
async fn unknown_room_is_closed_with_1008() {
    let s = spawn().await;
    let token = s.user("hank").await;
    let mut ws = s.compat("no-such-room", &token).await;
    let frame = next_close(&mut ws).await.expect("close frame");
    assert_eq!(u16::from(frame.code), 1008);
    assert_eq!(frame.reason.as_str(), "Invalid chat room");
}

#[tokio::test]
async fn join_chat_leave_with_the_chapters_frames_and_rooms_stay_apart() {
    let s = spawn().await;
    let (a, b, c) = (
        s.user("ann").await,
        s.user("ben").await,
        s.user("cat").await,
    );

    let mut ann = s.compat("general", &a).await;
    assert_eq!(
        next_text(&mut ann).await,
        "User 'ann' joined room 'general'."
    );
    let mut ben = s.compat("general", &b).await;
    assert_eq!(
        next_text(&mut ben).await,
        "User 'ben' joined room 'general'."
    );
    assert_eq!(
        next_text(&mut ann).await,
        "User 'ben' joined room 'general'."
    );
    let mut cat = s.compat("python", &c).await;
    assert_eq!(
        next_text(&mut cat).await,
        "User 'cat' joined room 'python'."
    );

    send_text(&mut ann, "hello <b>world</b>").await;
    assert_eq!(
        next_text(&mut ann).await,
        "[general] ann: hello <b>world</b>"
    );
    assert_eq!(
        next_text(&mut ben).await,
        "[general] ann: hello <b>world</b>"
    );
    send_text(&mut cat, "anyone?").await;
    assert_eq!(next_text(&mut cat).await, "[python] cat: anyone?");

    ben.close(None).await.unwrap();
    assert_eq!(next_text(&mut ann).await, "User 'ben' left room 'general'.");
    // Nothing of general reached python, nothing of python reached general.
    assert_silent(&mut cat, Duration::from_millis(300)).await;
    assert_silent(&mut ann, Duration::from_millis(300)).await;

    let (status, history) = s.get_json("/messages/general", Some(&a)).await;
    assert_eq!(status, 200);
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), 1);
    let m = &history[0];
    assert_eq!(m["content"], "hello <b>world</b>");
    assert_eq!(m["room_name"], "general");
    assert_eq!(m["owner"]["username"], "ann");
    assert!(m["id"].is_i64() && m["owner"]["id"].is_i64());
    let ts = m["timestamp"].as_str().unwrap();
    assert!(ts.ends_with('Z') && ts.contains('T'), "{ts}");
}

#[tokio::test]
async fn history_is_per_room_newest_first_with_skip_and_limit() {
    let s = spawn().await;
    let token = s.user("dora").await;
    let mut general = s.compat("general", &token).await;
    next_text(&mut general).await;
    for i in 0..5 {
        send_text(&mut general, &format!("g{i}")).await;
        next_text(&mut general).await;
    }
    let mut random = s.compat("random", &token).await;
    next_text(&mut random).await;
    send_text(&mut random, "r0").await;
    next_text(&mut random).await;

    let contents = |v: Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|m| m["content"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, all) = s.get_json("/messages/general", Some(&token)).await;
    assert_eq!(contents(all), ["g4", "g3", "g2", "g1", "g0"]);
    let (_, page) = s
        .get_json("/messages/general?skip=1&limit=2", Some(&token))
        .await;
    assert_eq!(contents(page), ["g3", "g2"]);
    let (_, random_history) = s.get_json("/messages/random", Some(&token)).await;
    assert_eq!(contents(random_history), ["r0"]);
}

#[tokio::test]
async fn blank_text_is_ignored_and_bad_frames_close_with_clear_codes() {
    let s = spawn_with(|c| c.max_message_bytes = 1024).await;
    let token = s.user("eve").await;

    let mut ws = s.compat("general", &token).await;
    next_text(&mut ws).await;
    send_text(&mut ws, "   \n\t").await;
    send_text(&mut ws, "").await;
    assert_silent(&mut ws, Duration::from_millis(300)).await;

    // Just over the limit, inside the transport's envelope: 1009.
    send_text(&mut ws, &"x".repeat(1025)).await;
    assert_eq!(u16::from(next_close(&mut ws).await.unwrap().code), 1009);

    // Far over the limit: the transport refuses it, still 1009.
    let mut ws = s.compat("general", &token).await;
    next_text(&mut ws).await;
    let _ = ws.send(Message::Text("y".repeat(1024 * 1024).into())).await;
    assert_eq!(u16::from(next_close(&mut ws).await.unwrap().code), 1009);

    let mut ws = s.compat("general", &token).await;
    next_text(&mut ws).await;
    ws.send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    assert_eq!(u16::from(next_close(&mut ws).await.unwrap().code), 1003);

    // Nothing of it was stored.
    let (_, history) = s.get_json("/messages/general", Some(&token)).await;
    assert_eq!(history, serde_json::json!([]));
}

#[tokio::test]
async fn a_message_of_exactly_the_limit_is_accepted() {
    let s = spawn_with(|c| c.max_message_bytes = 1024).await;
    let token = s.user("fay").await;
    let mut ws = s.compat("general", &token).await;
    next_text(&mut ws).await;
    let text = "é".repeat(512); // 1024 bytes of UTF-8
    send_text(&mut ws, &text).await;
    assert_eq!(next_text(&mut ws).await, format!("[general] fay: {text}"));
}

/// What a_client_that_never_reads_does_not_hold_up_the_room may take: it
/// takes under 2 s in a debug build; a room that waited on the sleeper would
/// stall for good.
const BUSY_ROOM_BOUND: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_does_not_hold_up_the_room() {
    // A small byte budget, so that the sleeper passes it early in the run;
    // and no send budget, since the sender is a machine flooding on purpose.
    let s = spawn_with(|c| {
        c.outbound_queue_bytes = 512 * 1024;
        c.rate_limit = 0;
    })
    .await;
    let (t1, t2, t3) = (
        s.user("quick1").await,
        s.user("quick2").await,
        s.user("sleepy").await,
    );
    let mut sleepy = s.compat("general", &t3).await;
    assert_eq!(
        next_text(&mut sleepy).await,
        "User 'sleepy' joined room 'general'."
    );
    // Each join is done before the next connects (a join reads the user's
    // access first, so back-to-back connections may join in either order).
    let mut q1 = s.compat("general", &t1).await;
    assert_eq!(
        next_text(&mut q1).await,
        "User 'quick1' joined room 'general'."
    );
    let mut q2 = s.compat("general", &t2).await;
    // Drain the join notices of the readers.
    while next_text(&mut q1).await != "User 'quick2' joined room 'general'." {}
    next_text(&mut q2).await;

    // 4000 messages of 8 KB: far more than the sleeper's budget and the
    // kernel's socket buffers hold. The two readers read while quick1
    // sends; quick1 keeps at most 20 messages ahead of the slower reader,
    // well within a reader's budget (each message counts about twice its
    // size), so the readers are never the slow ones, whatever the machine's
    // speed.
    const TOTAL: usize = 4000;
    const GONE: &str = "User 'sleepy' left room 'general'.";
    let payload = "z".repeat(8000);
    let started = std::time::Instant::now();
    let (mut q1_write, q1_read) = q1.split();
    let (progress_tx, progress): (Vec<_>, Vec<_>) =
        (0..2).map(|_| tokio::sync::watch::channel(0usize)).unzip();
    // Told when a reader hears the sleeper was cut off.
    let left = std::sync::Arc::new(tokio::sync::Notify::new());
    let readers: Vec<_> = [q1_read, q2.split().1]
        .into_iter()
        .zip(progress_tx)
        .map(|(mut read, progress)| {
            let left = left.clone();
            tokio::spawn(async move {
                let (mut seen, mut saw_leave) = (0, false);
                while seen < TOTAL || !saw_leave {
                    let frame = tokio::time::timeout(PATIENCE, read.next()).await;
                    let Ok(Some(Ok(Message::Text(text)))) = frame else {
                        panic!("reader stopped after {seen} (leave seen: {saw_leave}): {frame:?}");
                    };
                    if let Some(rest) = text.strip_prefix("[general] quick1: ") {
                        let n: usize = rest.split(' ').next().unwrap().parse().unwrap();
                        assert_eq!(n, seen, "in order");
                        seen += 1;
                        progress.send_replace(seen);
                    } else if text == GONE {
                        saw_leave = true;
                        left.notify_one();
                    }
                }
            })
        })
        .collect();
    // Once the room hears the sleeper is gone, the sleeper reads again:
    // what its socket still holds, then the close frame behind it. (Read
    // only then: until the server gave up on it, it must not read.)
    let sleeper = tokio::spawn(async move {
        left.notified().await;
        let mut buffered = 0;
        tokio::time::timeout(PATIENCE, async {
            loop {
                match sleepy.next().await {
                    Some(Ok(Message::Close(frame))) => {
                        return (Ok(frame.map(|f| u16::from(f.code))), buffered);
                    }
                    Some(Ok(_)) => buffered += 1,
                    other => return (Err(format!("{other:?}")), buffered),
                }
            }
        })
        .await
        .expect("the sleeper's close frame in time")
    });
    for i in 0..TOTAL {
        for reader in &progress {
            let mut reader = reader.clone();
            // A reader that panicked drops its sender; its join below says why.
            let _ = reader.wait_for(|&seen| i <= 20 + seen).await;
        }
        q1_write
            .send(Message::Text(format!("{i} {payload}").into()))
            .await
            .unwrap();
    }
    for reader in readers {
        reader.await.unwrap();
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed < BUSY_ROOM_BOUND,
        "{TOTAL} messages to two readers past a stalled one took {elapsed:?}"
    );
    // The sleeper was cut off with the slow-consumer code, not waited for.
    let (close, buffered) = sleeper.await.unwrap();
    assert_eq!(close, Ok(Some(4000)), "after {buffered} frames");
    assert!(buffered < TOTAL, "cut off, not served to the end");
}

#[tokio::test]
async fn fifty_clients_twenty_messages_each_all_see_one_order() {
    // 1,050 frames reach every client in a burst; this test is about order,
    // so the queue bounds (a slow-consumer matter) are set well above that.
    let s = spawn_with(|c| {
        c.outbound_queue = 8192;
        c.outbound_queue_bytes = 8 << 20;
    })
    .await;
    let mut tokens = Vec::new();
    for i in 0..50 {
        tokens.push(s.user(&format!("user{i:02}")).await);
    }
    let mut sockets = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        let mut ws = s.compat("general", t).await;
        // The join is done once its own notice comes (it reads the
        // user's access first): only then is the next one surely later.
        assert_eq!(
            next_text(&mut ws).await,
            format!("User 'user{i:02}' joined room 'general'.")
        );
        sockets.push(ws);
    }
    // The join notices of later joiners.
    for (i, ws) in sockets.iter_mut().enumerate() {
        for _ in i + 1..50 {
            next_text(ws).await;
        }
    }
    let mut readers = Vec::new();
    for (i, ws) in sockets.into_iter().enumerate() {
        let (mut write, mut read) = ws.split();
        readers.push(tokio::spawn(async move {
            let sender = tokio::spawn(async move {
                for n in 0..20 {
                    write
                        .send(Message::Text(format!("m{i}-{n}").into()))
                        .await
                        .unwrap();
                }
                write
            });
            let mut got = Vec::with_capacity(1000);
            while got.len() < 1000 {
                match tokio::time::timeout(std::time::Duration::from_secs(20), read.next()).await {
                    Ok(Some(Ok(Message::Text(t)))) => got.push(t.to_string()),
                    Ok(Some(Ok(_))) => {}
                    other => panic!("reader {i}: {other:?} after {}", got.len()),
                }
            }
            let _write_half = sender.await.expect("sender");
            got
        }));
    }
    let mut orders = Vec::new();
    for r in readers {
        orders.push(r.await.unwrap());
    }
    let first = &orders[0];
    assert_eq!(
        first.iter().collect::<HashSet<_>>().len(),
        1000,
        "no duplicates"
    );
    for order in &orders {
        assert_eq!(order, first, "every client sees the same order");
    }
    // And each sender's own messages in the order sent.
    for i in 0..50 {
        let prefix = format!("[general] user{i:02}: m{i}-");
        let mine: Vec<usize> = first
            .iter()
            .filter_map(|t| t.strip_prefix(&prefix))
            .map(|n| n.parse().unwrap())
            .collect();
        assert_eq!(mine, (0..20).collect::<Vec<_>>());
    }
}

#[tokio::test]
async fn restart_keeps_users_messages_and_tokens() {
    let s = spawn().await;
    let token = s.user("ivan").await;
    let mut ws = s.compat("general", &token).await;
    next_text(&mut ws).await;
    send_text(&mut ws, "before restart").await;
    next_text(&mut ws).await;
    drop(ws);
    let (dir, mut config) = s.stop().await;
    // The same data dir (and database), on a new port.
    config.port = 0;
    let s = start(dir, config).await;
    let (status, me) = s.get_json("/users/me", Some(&token)).await;
    assert_eq!(status, 200, "old token still valid");
    assert_eq!(me["username"], "ivan");
    assert_eq!(s.login("ivan", "password-ivan").await.status(), 200);
    let (_, history) = s.get_json("/messages/general", Some(&token)).await;
    assert_eq!(history[0]["content"], "before restart");
}

#[tokio::test]
async fn shutdown_closes_sockets_with_1001() {
    let s = spawn().await;
    let token = s.user("judy").await;
    let mut ws = s.compat("general", &token).await;
    next_text(&mut ws).await;
    let server = s.server.as_ref().unwrap().shutdown_token();
    server.cancel();
    let frame = next_close(&mut ws).await.expect("close frame");
    assert_eq!(u16::from(frame.code), 1001);
}

#[tokio::test]
async fn a_peer_that_stops_answering_pings_is_dropped() {
    let s = spawn_with(|c| c.ping_interval = Duration::from_millis(200)).await;
    let token = s.user("kim").await;
    // lee registers first: kim is dropped two intervals after it stopped
    // reading, and lee must be in the room by then to hear it.
    let lee = s.user("lee").await;
    let mut ws = s.compat("general", &token).await;
    next_text(&mut ws).await;
    let mut watcher = s.compat("general", &lee).await;
    next_text(&mut watcher).await;
    // lee keeps reading (and so answering pings); kim reads nothing, so
    // after two intervals the server gives up on kim and the room hears it.
    tokio::time::timeout(PATIENCE, async {
        while next_text(&mut watcher).await != "User 'kim' left room 'general'." {}
    })
    .await
    .expect("kim dropped for not answering pings");
    // And lee, who answered, is still served.
    send_text(&mut watcher, "still here").await;
    assert_eq!(next_text(&mut watcher).await, "[general] lee: still here");
    drop(ws);
}
