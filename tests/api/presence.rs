//! Joins and leaves are told in batches (one per presence tick) so that a
//! filling room does not cost a frame per member per join; these tests pin
//! down what each protocol still promises: the chapter's line per connection,
//! v1's `joined`/`left` per user, a summary that adds up for the v1 clients
//! that ask for one, and no join told after what followed it.

use crate::helpers::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

/// Long enough that connections opened together land in one tick on any
/// machine; the tests never wait for it to pass unless they need the batch.
const LONG_TICK: Duration = Duration::from_secs(2);

/// Asks for presence summaries, as the web client does, and waits until
/// the server granted them.
async fn ask_for_summaries(ws: &mut Ws) {
    send_json(
        ws,
        json!({"type": "hello", "capabilities": ["presence_summary"], "ref": "h"}),
    )
    .await;
    let hello = next_of(ws, "hello").await;
    assert_eq!(
        hello,
        json!({"type": "hello", "capabilities": ["presence_summary"], "ref": "h"})
    );
}

fn names(frame: &Value, key: &str) -> BTreeSet<String> {
    frame[key]
        .as_array()
        .unwrap_or_else(|| panic!("{key} is not a list: {frame}"))
        .iter()
        .map(|n| n.as_str().expect("a name").to_owned())
        .collect()
}

#[tokio::test]
async fn a_room_filling_at_once_hears_one_summary_not_a_frame_per_join() {
    let s = spawn_with(|c| c.presence_tick = LONG_TICK).await;
    let watcher = s.user("watcher").await;
    let mut people = Vec::new();
    for n in 0..8 {
        let name = format!("crowd{n}");
        people.push((name.clone(), s.user(&name).await));
    }

    let mut watch = s.v1("/ws/general", &watcher).await;
    next_of(&mut watch, "subscribed").await;
    ask_for_summaries(&mut watch).await;
    let mut crowd = Vec::new();
    for (_, token) in &people {
        let mut ws = s.v1("/ws/general", token).await;
        next_of(&mut ws, "subscribed").await;
        crowd.push(ws);
    }
    ask_for_summaries(crowd.last_mut().expect("a crowd")).await;

    // Everything the watcher hears until the tick is one summary.
    let summary = next_json(&mut watch).await;
    assert_eq!(summary["type"], "presence", "{summary}");
    assert_eq!(summary["room"], "general");
    let mut expected: BTreeSet<String> = people.iter().map(|(n, _)| n.clone()).collect();
    expected.insert("watcher".into());
    assert_eq!(names(&summary, "joined"), expected);
    assert!(names(&summary, "left").is_empty());
    assert_silent(&mut watch, Duration::from_millis(300)).await;

    // The last to come knew everyone from its snapshot; its summary may name
    // them again, and a client applies it as set changes.
    let last = crowd.last_mut().expect("a crowd");
    let summary = next_of(last, "presence").await;
    assert!(names(&summary, "joined").is_subset(&expected));

    // They all go at once: one summary of who left.
    for ws in &mut crowd {
        ws.close(None).await.expect("close");
    }
    let summary = next_json(&mut watch).await;
    assert_eq!(summary["type"], "presence", "{summary}");
    expected.remove("watcher");
    assert_eq!(names(&summary, "left"), expected);
    assert!(names(&summary, "joined").is_empty());
    let (_, room) = s.get_json("/rooms/general", None).await;
    assert_eq!(room["online"], json!(["watcher"]));
}

#[tokio::test]
async fn someone_who_comes_and_goes_within_a_tick_is_never_announced() {
    let tick = Duration::from_secs(1);
    let s = spawn_with(|c| c.presence_tick = tick).await;
    let (watcher, visitor) = (s.user("stays").await, s.user("visits").await);
    let mut watch = s.v1("/ws/general", &watcher).await;
    next_of(&mut watch, "subscribed").await;
    ask_for_summaries(&mut watch).await;
    // Let the watcher's own join (not shown to itself) go out first.
    assert_silent(&mut watch, tick + Duration::from_millis(300)).await;

    let mut visit = s.v1("/ws/general", &visitor).await;
    next_of(&mut visit, "subscribed").await;
    visit.close(None).await.expect("close");
    assert_silent(&mut watch, tick + Duration::from_millis(500)).await;
    let (_, room) = s.get_json("/rooms/general", None).await;
    assert_eq!(room["online"], json!(["stays"]));
}

#[tokio::test]
async fn a_v1_client_that_asks_for_nothing_hears_every_join_and_leave_one_by_one() {
    let s = spawn_with(|c| c.presence_tick = LONG_TICK).await;
    let watcher = s.user("plain").await;
    let mut people = Vec::new();
    for n in 0..3 {
        let name = format!("guest{n}");
        people.push((name.clone(), s.user(&name).await));
    }
    let mut watch = s.v1("/ws/general", &watcher).await;
    next_of(&mut watch, "subscribed").await;
    let mut guests = Vec::new();
    for (_, token) in &people {
        let mut ws = s.v1("/ws/general", token).await;
        next_of(&mut ws, "subscribed").await;
        guests.push(ws);
    }
    let expected: BTreeSet<String> = people.iter().map(|(n, _)| n.clone()).collect();
    // One tick, three arrivals: three `joined` frames, no summary.
    let mut heard = BTreeSet::new();
    for _ in 0..3 {
        let frame = next_json(&mut watch).await;
        assert_eq!(
            (&frame["type"], &frame["room"]),
            (&json!("joined"), &json!("general")),
            "{frame}"
        );
        heard.insert(frame["user"].as_str().expect("a user").to_owned());
    }
    assert_eq!(heard, expected);
    assert_silent(&mut watch, Duration::from_millis(300)).await;

    for ws in &mut guests {
        ws.close(None).await.expect("close");
    }
    let mut gone = BTreeSet::new();
    for _ in 0..3 {
        let frame = next_json(&mut watch).await;
        assert_eq!(frame["type"], "left", "{frame}");
        gone.insert(frame["user"].as_str().expect("a user").to_owned());
    }
    assert_eq!(gone, expected);
}

#[tokio::test]
async fn hello_grants_only_the_capabilities_the_server_has() {
    let s = spawn().await;
    let token = s.user("curious").await;
    let mut ws = s.v1("/ws", &token).await;
    send_json(
        &mut ws,
        json!({"type": "hello", "capabilities": ["teleport", "presence_summary"]}),
    )
    .await;
    assert_eq!(
        next_json(&mut ws).await,
        json!({"type": "hello", "capabilities": ["presence_summary"]})
    );
    send_json(&mut ws, json!({"type": "hello", "ref": 2})).await;
    assert_eq!(
        next_json(&mut ws).await,
        json!({"type": "hello", "capabilities": [], "ref": 2})
    );
    send_json(&mut ws, json!({"type": "hello", "capabilities": "all"})).await;
    let refused = next_json(&mut ws).await;
    assert_eq!(refused["code"], "bad_command", "{refused}");
}

#[tokio::test]
async fn a_lone_join_is_still_a_joined_frame() {
    let s = spawn().await;
    let (a, b) = (s.user("first").await, s.user("second").await);
    let mut first = s.v1("/ws/general", &a).await;
    next_of(&mut first, "subscribed").await;
    // The watcher's own join is not shown to it; wait out its tick.
    assert_silent(&mut first, Duration::from_millis(300)).await;
    let mut second = s.v1("/ws/general", &b).await;
    next_of(&mut second, "subscribed").await;
    assert_eq!(
        next_json(&mut first).await,
        json!({"type": "joined", "room": "general", "user": "second"})
    );
}

#[tokio::test]
async fn the_chapters_lines_stay_one_per_connection_and_a_newcomer_hears_only_what_follows_it() {
    let s = spawn_with(|c| c.presence_tick = LONG_TICK).await;
    let (a, b) = (s.user("ada").await, s.user("bob").await);
    let mut ada = s.compat("general", &a).await;
    // A join reads the user's access first: bob's must surely come second.
    eventually("ada is in the room", || async {
        let (_, room) = s.get_json("/rooms/general", None).await;
        room["online"] == json!(["ada"])
    })
    .await;
    let mut bob = s.compat("general", &b).await;
    // Both joined within one tick: ada hears both lines in order, bob only
    // his own (he was not there when ada came).
    assert_eq!(
        next_text(&mut ada).await,
        "User 'ada' joined room 'general'."
    );
    assert_eq!(
        next_text(&mut ada).await,
        "User 'bob' joined room 'general'."
    );
    assert_eq!(
        next_text(&mut bob).await,
        "User 'bob' joined room 'general'."
    );
    assert_silent(&mut bob, Duration::from_millis(300)).await;
}

#[tokio::test]
async fn a_join_is_never_told_after_the_joiners_first_message() {
    let s = spawn_with(|c| c.presence_tick = LONG_TICK).await;
    let (a, b) = (s.user("early").await, s.user("eager").await);
    let mut early = s.compat("general", &a).await;
    assert_eq!(
        next_text(&mut early).await,
        "User 'early' joined room 'general'."
    );
    let mut eager = s.compat("general", &b).await;
    send_text(&mut eager, "hi all").await;
    // The message does not wait for the tick, and takes the join with it.
    let started = std::time::Instant::now();
    assert_eq!(
        next_text(&mut early).await,
        "User 'eager' joined room 'general'."
    );
    assert_eq!(next_text(&mut early).await, "[general] eager: hi all");
    assert!(
        started.elapsed() < LONG_TICK,
        "the message waited for the tick"
    );
}
