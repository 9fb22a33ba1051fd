//! Each connection's outbound queue is bounded in bytes
//! (`--outbound-queue-bytes`): a member that stops reading is closed with
//! 4000 once what waits for it passes the budget, in however many rooms it
//! is, and the others keep receiving; a member that keeps up is not closed,
//! even by a message bigger than the whole budget; and a resume reads its
//! history in pages the budget holds. (The chapter's protocol has its own
//! test in `compat_ws`.)

use crate::helpers::*;
use futures_util::stream::SplitStream;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::sync::Arc;
use tokio::sync::{Notify, watch};
use tokio_tungstenite::tungstenite::Message;

const ROOMS: [&str; 3] = ["general", "python", "random"];

async fn subscribe(ws: &mut Ws, room: &str, since: Option<i64>) {
    let mut cmd = json!({"type": "subscribe", "room": room});
    if let Some(since) = since {
        cmd["since"] = json!(since);
    }
    send_json(ws, cmd).await;
    let reply = next_of(ws, "subscribed").await;
    assert_eq!(reply["room"], room);
}

fn send_cmd(room: &str, content: &str, client_id: &str) -> Message {
    let cmd = json!({"type": "send", "room": room, "content": content, "client_id": client_id});
    Message::Text(cmd.to_string().into())
}

/// Reads a room's messages as a watcher: the contents in order; tells
/// `left` when it sees `gone` leave. Ends once it has `expect` messages and
/// has seen the leave.
async fn watch_room(
    mut read: SplitStream<Ws>,
    gone: &'static str,
    expect: usize,
    progress: watch::Sender<usize>,
    left: Arc<Notify>,
) -> Vec<String> {
    let (mut contents, mut saw_leave) = (Vec::new(), false);
    while contents.len() < expect || !saw_leave {
        let frame = tokio::time::timeout(PATIENCE, read.next()).await;
        let Ok(Some(Ok(Message::Text(text)))) = frame else {
            panic!(
                "watcher stopped after {} (leave seen: {saw_leave}): {frame:?}",
                contents.len()
            );
        };
        let v: Value = serde_json::from_str(text.as_str()).unwrap();
        match v["type"].as_str() {
            Some("message") => {
                contents.push(v["content"].as_str().unwrap().to_owned());
                progress.send_replace(contents.len());
            }
            Some("left") if v["user"] == gone => {
                saw_leave = true;
                left.notify_one();
            }
            _ => {}
        }
    }
    contents
}

/// Reads until the server closes: the close code and how many messages
/// came before it.
async fn read_to_close(ws: &mut Ws) -> (Option<u16>, usize) {
    let mut messages = 0;
    tokio::time::timeout(PATIENCE, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => {
                    return (frame.map(|f| u16::from(f.code)), messages);
                }
                Some(Ok(Message::Text(text))) if text.contains(r#""type":"message""#) => {
                    messages += 1;
                }
                Some(Ok(_)) => {}
                other => panic!("expected a close frame after {messages}, got {other:?}"),
            }
        }
    })
    .await
    .expect("closed in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_never_reads_is_closed_once_its_queue_passes_the_byte_budget() {
    // A budget of 32 messages of 8 KB (each counts about twice its size:
    // the message and the frame made of it); no send budget, since the
    // sender is a machine flooding on purpose.
    const BUDGET: usize = 512 * 1024;
    let s = spawn_with(|c| {
        c.outbound_queue_bytes = BUDGET;
        c.rate_limit = 0;
    })
    .await;
    let sleepy = s.user("sleepy").await;
    let sender = s.user("flood").await;

    // The sleeper is in three rooms on one socket, and from now on reads nothing.
    let mut sleeper = s.v1("/ws", &sleepy).await;
    for room in ROOMS {
        subscribe(&mut sleeper, room, None).await;
    }
    // One watcher per room, reading everything.
    const PER_ROOM: usize = 400;
    let left = Arc::new(Notify::new());
    let (mut watchers, mut progress) = (Vec::new(), Vec::new());
    for (i, room) in ROOMS.into_iter().enumerate() {
        let token = s.user(&format!("watcher{i}")).await;
        let mut ws = s.v1(&format!("/ws/{room}"), &token).await;
        next_of(&mut ws, "subscribed").await;
        let (read_tx, read_rx) = watch::channel(0);
        let read = ws.split().1;
        watchers.push(tokio::spawn(watch_room(
            read,
            "sleepy",
            PER_ROOM,
            read_tx,
            left.clone(),
        )));
        progress.push(read_rx);
    }
    let mut flood = s.v1("/ws", &sender).await;
    for room in ROOMS {
        subscribe(&mut flood, room, None).await;
    }
    let (mut flood_write, mut flood_read) = flood.split();
    // The sender reads its acks and echoes (and paces itself by them too),
    // so that it is not the slow one.
    let (echo_tx, echoes) = watch::channel(0usize);
    let flood_reader = tokio::spawn(async move {
        let mut seen = 0;
        while let Some(Ok(frame)) = flood_read.next().await {
            assert!(!frame.is_close(), "the sender was closed: {frame:?}");
            if frame
                .to_text()
                .is_ok_and(|t| t.contains(r#""type":"message""#))
            {
                seen += 1;
                echo_tx.send_replace(seen);
            }
        }
    });

    // As soon as a room hears that the sleeper left, the sleeper reads
    // again: what its socket still holds, then its close frame.
    let sleeper_reads = tokio::spawn(async move {
        left.notified().await;
        read_to_close(&mut sleeper).await
    });

    // 1,200 messages of 8 KB: ~10 MB for the sleeper, far more than its
    // budget and its socket's buffers. At most 5 per room ahead of the
    // room's watcher, so that neither the watchers nor the sender (which
    // gets the echoes of all three rooms) come near their own budget.
    let payload = "z".repeat(8000);
    for n in 0..PER_ROOM * ROOMS.len() {
        let room = n % ROOMS.len();
        let mut seen = progress[room].clone();
        let _ = seen.wait_for(|&seen| n / ROOMS.len() <= 5 + seen).await;
        let mut echoed = echoes.clone();
        let _ = echoed.wait_for(|&echoed| n <= 15 + echoed).await;
        let content = format!("{n} {payload}");
        flood_write
            .send(send_cmd(ROOMS[room], &content, &format!("f-{n}")))
            .await
            .unwrap();
    }
    for (room, watcher) in watchers.into_iter().enumerate() {
        let contents = watcher.await.unwrap();
        // Every message of its room, once, in order: the others kept receiving.
        let expected: Vec<usize> = (0..PER_ROOM).map(|i| i * ROOMS.len() + room).collect();
        let got: Vec<usize> = contents
            .iter()
            .map(|c| c.split(' ').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(got, expected, "room {}", ROOMS[room]);
    }
    // Every room heard the sleeper leave (the watchers end only then); the
    // sleeper got 4000, and well before the end.
    let (code, messages) = tokio::time::timeout(PATIENCE, sleeper_reads)
        .await
        .expect("the sleeper reads once it is gone")
        .unwrap();
    assert_eq!(code, Some(4000), "after {messages} messages");
    assert!(
        messages < PER_ROOM * ROOMS.len(),
        "cut off, not served to the end"
    );
    // And the sender, which reads everything, was never closed.
    if flood_reader.is_finished() {
        flood_reader.await.unwrap();
        panic!("the sender's socket ended");
    }
    flood_reader.abort();
    drop(flood_write);
}

#[tokio::test]
async fn a_member_that_keeps_up_is_not_closed_even_by_a_message_bigger_than_the_budget() {
    // Every message is twice the budget: a queue takes one whatever its
    // size when nothing else waits, which is always so for a reader that
    // reads each message before the next is sent.
    let s = spawn_with(|c| c.outbound_queue_bytes = 16 * 1024).await;
    let (reader, sender) = (s.user("reader").await, s.user("writer").await);
    let mut r = s.v1("/ws/general", &reader).await;
    next_of(&mut r, "subscribed").await;
    let mut w = s.v1("/ws/general", &sender).await;
    next_of(&mut w, "subscribed").await;
    assert_eq!(next_presence_of(&mut r, "writer").await, "joined");
    let big = "b".repeat(32 * 1024);
    for n in 0..10 {
        w.send(send_cmd(
            "general",
            &format!("{n}{big}"),
            &format!("big-{n}"),
        ))
        .await
        .unwrap();
        for ws in [&mut w, &mut r] {
            let m = next_of(ws, "message").await;
            assert!(m["content"].as_str().unwrap().starts_with(&n.to_string()));
        }
        next_of(&mut w, "ack").await;
    }
    // Still open: a ping is answered.
    send_json(&mut r, json!({"type": "ping", "ref": "still"})).await;
    assert_eq!(next_of(&mut r, "pong").await["ref"], "still");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resume_reads_its_history_in_pages_the_budget_holds() {
    // 64 KiB: pages of 16 KiB of content, so a few of the big messages
    // each, or up to 64 of the small ones.
    let s = spawn_with(|c| {
        c.outbound_queue_bytes = 64 * 1024;
        c.rate_limit = 0;
    })
    .await;
    let token = s.user("gus").await;
    let mut w = s.v1("/ws/python", &token).await;
    next_of(&mut w, "subscribed").await;
    // Big and small ones mixed, each page ending on either limit.
    // A run of small ones fills pages by count instead.
    let content = |n: usize| match n % 10 {
        0..=3 if !(100..200).contains(&n) => format!("{n} {}", "p".repeat(6000)),
        _ => format!("{n} small"),
    };
    const STORED: usize = 300;
    for n in 0..STORED {
        w.send(send_cmd("python", &content(n), &format!("h-{n}")))
            .await
            .unwrap();
        next_of(&mut w, "ack").await;
    }
    // A reader that saw nothing comes with since 0, and the replay, page by
    // page, brings every message, once, in order, and then goes live.
    let mut reader = s.v1("/ws", &token).await;
    subscribe(&mut reader, "python", Some(0)).await;
    for n in 0..STORED {
        let m = next_of(&mut reader, "message").await;
        assert_eq!(m["content"], content(n), "message {n}");
    }
    w.send(send_cmd("python", "live", "h-live")).await.unwrap();
    assert_eq!(next_of(&mut reader, "message").await["content"], "live");
}
