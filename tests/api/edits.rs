//! Issue 13 from the outside: edits, deletions, reactions and replies as
//! entries of each room's one ordered stream, over palaver.v1 and HTTP.
//! Who may do what and the refusals, exactly-once, resume (also across a
//! restart), what the chapter's socket and history show, and hidden rooms.
//!
//! A socket whose events a test reads in order is never the one that sends
//! commands: `v1_command` skips what arrives before its answer.

use crate::helpers::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A message id no test server reaches.
const NO_SUCH_ID: i64 = 999_999_999;

fn edit(room: &str, id: i64, content: &str) -> Value {
    json!({"type": "edit", "room": room, "id": id, "content": content})
}

fn delete(room: &str, id: i64) -> Value {
    json!({"type": "delete", "room": room, "id": id})
}

fn react(room: &str, id: i64, emoji: &str) -> Value {
    json!({"type": "react", "room": room, "id": id, "emoji": emoji})
}

fn unreact(room: &str, id: i64, emoji: &str) -> Value {
    json!({"type": "unreact", "room": room, "id": id, "emoji": emoji})
}

fn reply(room: &str, content: &str, client_id: &str, to: i64) -> Value {
    json!({"type": "send", "room": room, "content": content, "client_id": client_id, "reply_to": to})
}

fn with_id(mut command: Value, client_id: &str) -> Value {
    command["client_id"] = json!(client_id);
    command
}

fn message_path(room: &str, id: i64) -> String {
    format!("/rooms/{room}/messages/{id}")
}

fn versions_path(room: &str, id: i64) -> String {
    format!("/rooms/{room}/messages/{id}/versions")
}

/// A change's position, from its ack.
fn stream_id(ack: &Value) -> i64 {
    ack["stream_id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no stream_id in {ack}"))
}

/// A v1 command that must be refused with `code`; the error.
async fn refused_v1(ws: &mut Ws, command: Value, code: &str) -> Value {
    let what = command.to_string();
    let answer = v1_command(ws, command).await;
    assert_eq!(
        (answer["type"].as_str(), answer["code"].as_str()),
        (Some("error"), Some(code)),
        "{what} -> {answer}"
    );
    assert!(answer["message"].is_string(), "{what} -> {answer}");
    answer
}

/// Asserts an HTTP refusal: `status`, with a JSON `detail`.
#[track_caller]
fn refused(answer: &(u16, Value), status: u16, what: &str) {
    assert_eq!(answer.0, status, "{what}: {}", answer.1);
    assert!(
        answer.1["detail"].is_string(),
        "{what}: no detail in {}",
        answer.1
    );
}

/// Sends `content` and returns its id. The client_id does not contain the
/// content, so that a search of the store for the content finds the
/// message's own row only.
async fn say(ws: &mut Ws, room: &str, content: &str) -> i64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let client_id = format!("say-{}", N.fetch_add(1, Ordering::Relaxed));
    let ack = v1_done(
        ws,
        json!({"type": "send", "room": room, "content": content, "client_id": client_id}),
    )
    .await;
    ack["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id in {ack}"))
}

/// A v1 socket subscribed to `rooms`, each subscribe answered before the next.
async fn joined(s: &TestServer, token: &str, rooms: &[&str]) -> Ws {
    let mut ws = s.v1("/ws", token).await;
    for room in rooms {
        v1_join(&mut ws, room).await;
    }
    ws
}

/// `room`'s stored messages as the holder of `token` sees them, oldest first.
async fn history(s: &TestServer, room: &str, token: &str) -> Vec<Value> {
    let path = format!("/rooms/{room}/messages?after=0&limit=1000");
    let (status, page) = s.get_json(&path, Some(token)).await;
    assert_eq!(status, 200, "{path}: {page}");
    page["messages"].as_array().cloned().unwrap_or_default()
}

/// Message `id` of `room`'s history, as the holder of `token` sees it.
async fn stored(s: &TestServer, room: &str, token: &str, id: i64) -> Value {
    let all = history(s, room, token).await;
    all.iter()
        .find(|m| m["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("message {id} not in {all:?}"))
}

/// A message's reaction aggregate, by emoji (the order is the server's).
fn reactions_of(message: &Value) -> Vec<Value> {
    let mut all = message["reactions"].as_array().cloned().unwrap_or_default();
    all.sort_by_key(|r| r["emoji"].as_str().unwrap_or_default().to_owned());
    all
}

/// The contents of `GET /messages/{room}` (the chapter's history, newest first).
async fn chapter_contents(s: &TestServer, room: &str, token: &str) -> Vec<String> {
    let (status, body) = s.get_json(&format!("/messages/{room}"), Some(token)).await;
    assert_eq!(status, 200, "{body}");
    body.as_array()
        .unwrap_or_else(|| panic!("a list: {body}"))
        .iter()
        .map(|m| m["content"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Whether any value of `rows`, read as text or as bytes, contains `needle`.
fn any_holds<R>(rows: &[R], needle: &str) -> bool
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Option<Vec<u8>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    rows.iter().any(|row| {
        (0..row.len()).any(|i| {
            row.try_get::<Option<String>, _>(i)
                .ok()
                .flatten()
                .is_some_and(|v| v.contains(needle))
                || row
                    .try_get::<Option<Vec<u8>>, _>(i)
                    .ok()
                    .flatten()
                    .is_some_and(|v| String::from_utf8_lossy(&v).contains(needle))
        })
    })
}

/// The tables of the server's store holding a text (or blob) value that
/// contains `needle`: where a content that must be gone could still be.
async fn kept_in_store(s: &TestServer, needle: &str) -> Vec<String> {
    // Each backend's tables, and every row of each, read the same way.
    macro_rules! scan {
        ($pool:expr, $tables:expr) => {{
            let pool = $pool;
            let tables: Vec<String> = sqlx::query_scalar($tables)
                .fetch_all(&pool)
                .await
                .expect("tables");
            let mut found = Vec::new();
            for table in tables {
                let rows = sqlx::query(&format!("SELECT * FROM \"{table}\""))
                    .fetch_all(&pool)
                    .await
                    .expect("rows");
                if any_holds(&rows, needle) {
                    found.push(table);
                }
            }
            pool.close().await;
            found
        }};
    }
    match &s.config.database_url {
        Some(url) => scan!(
            sqlx::PgPool::connect(url).await.expect("connect"),
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        ),
        None => {
            let url = format!("sqlite://{}", s.dir.path().join("palaver.db").display());
            scan!(
                sqlx::SqlitePool::connect(&url).await.expect("connect"),
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            )
        }
    }
}

#[tokio::test]
async fn an_edit_reaches_the_room_in_stream_order_and_history_and_versions_show_it() {
    let s = spawn_with(|c| c.rate_limit = 0).await;
    let alice = s.user("ed-alice").await;
    let bob = s.user("ed-bob").await;
    let mut author = joined(&s, &alice, &["general"]).await;
    let mut watch = joined(&s, &bob, &["general"]).await;

    let id = say(&mut author, "general", "ed-first").await;
    let before = say(&mut author, "general", "ed-before").await;
    let ack = v1_done(
        &mut author,
        with_id(edit("general", id, "ed-fixed"), "ed-e1"),
    )
    .await;
    assert_eq!(
        (&ack["action"], &ack["room"], &ack["id"], &ack["client_id"]),
        (
            &json!("edit"),
            &json!("general"),
            &json!(id),
            &json!("ed-e1")
        ),
        "{ack}"
    );
    assert!(ack["ts"].is_string(), "{ack}");
    assert!(ack.get("duplicate").is_none(), "{ack}");
    let edited = stream_id(&ack);
    let after = say(&mut author, "general", "ed-after").await;

    let seen = stream_until(&mut watch, "general", "ed-after").await;
    assert_eq!(
        stream_shape(&seen),
        [
            ("message".to_owned(), id),
            ("message".to_owned(), before),
            ("edited".to_owned(), edited),
            ("message".to_owned(), after),
        ],
        "the edit between the messages sent before and after it: {seen:?}"
    );
    assert_ascending(&seen);
    for field in ["edited_at", "deleted", "reactions", "reply_to"] {
        assert!(
            seen[0].get(field).is_none(),
            "a new message has no {field}: {}",
            seen[0]
        );
    }
    let event = &seen[2];
    assert_eq!(
        (&event["id"], &event["user"], &event["content"]),
        (&json!(id), &json!("ed-alice"), &json!("ed-fixed")),
        "{event}"
    );
    assert!(
        event["edited_at"].is_string() && event["ts"].is_string(),
        "{event}"
    );

    // The same over HTTP.
    let (status, body) = s
        .patch_json(
            &message_path("general", id),
            Some(&alice),
            &json!({"content": "ed-fixed-again"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["id"], &body["user"], &body["content"]),
        (&json!(id), &json!("ed-alice"), &json!("ed-fixed-again")),
        "{body}"
    );
    assert!(body["edited_at"].is_string(), "{body}");
    let marker = say(&mut author, "general", "ed-marker").await;
    let seen = stream_until(&mut watch, "general", "ed-marker").await;
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(
        (&seen[0]["type"], &seen[0]["id"], &seen[0]["content"]),
        (&json!("edited"), &json!(id), &json!("ed-fixed-again")),
        "{seen:?}"
    );
    assert_ascending(&seen);
    assert!(position(&seen[0]) > after, "{seen:?}");

    // An edit to the same content changes nothing: no position, no event.
    let same = v1_done(&mut author, edit("general", id, "ed-fixed-again")).await;
    assert!(same.get("stream_id").is_none(), "{same}");
    let last = say(&mut author, "general", "ed-marker2").await;
    let seen = stream_until(&mut watch, "general", "ed-marker2").await;
    assert_eq!(
        stream_shape(&seen),
        [("message".to_owned(), last)],
        "{seen:?}"
    );

    // History: messages only, the edited one as it is now.
    let messages = history(&s, "general", &bob).await;
    let ids: Vec<i64> = messages.iter().filter_map(|m| m["id"].as_i64()).collect();
    assert_eq!(ids, [id, before, after, marker, last], "{messages:?}");
    assert_eq!(messages[0]["content"], "ed-fixed-again", "{messages:?}");
    assert!(messages[0]["edited_at"].is_string(), "{messages:?}");
    assert!(messages[1].get("edited_at").is_none(), "{messages:?}");

    // Every version, oldest first, for any member of the room.
    let (status, body) = s.get_json(&versions_path("general", id), Some(&bob)).await;
    assert_eq!(status, 200, "{body}");
    let versions = body["versions"].as_array().cloned().unwrap_or_default();
    let contents: Vec<&str> = versions
        .iter()
        .filter_map(|v| v["content"].as_str())
        .collect();
    assert_eq!(
        contents,
        ["ed-first", "ed-fixed", "ed-fixed-again"],
        "{body}"
    );
    let times: Vec<chrono::DateTime<chrono::FixedOffset>> = versions
        .iter()
        .map(|v| {
            v["ts"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .unwrap_or_else(|| panic!("no RFC 3339 ts in {v}"))
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{body}");
}

#[tokio::test]
async fn edits_that_may_not_be_are_refused_and_change_nothing() {
    let s = spawn_with(|c| {
        c.rate_limit = 0;
        c.max_message_bytes = 100;
    })
    .await;
    let alice = s.user("rf-alice").await;
    let bob = s.user("rf-bob").await;
    let watcher = s.user("rf-watch").await;
    let mut author = joined(&s, &alice, &["general", "random"]).await;
    let mut other = joined(&s, &bob, &["general"]).await;
    let mut watch = joined(&s, &watcher, &["general"]).await;

    let mine = say(&mut author, "general", "rf-said").await;
    let elsewhere = say(&mut author, "random", "rf-in-random").await;
    let gone = say(&mut author, "general", "rf-gone").await;
    v1_done(&mut author, delete("general", gone)).await;
    let change = stream_id(&v1_done(&mut author, edit("general", mine, "rf-said-v2")).await);
    let body = |content: &str| json!({ "content": content });

    // Someone else's message.
    let e = refused_v1(
        &mut other,
        with_id(edit("general", mine, "rf-bob-was-here"), "rf-b1"),
        "forbidden",
    )
    .await;
    assert_eq!(e["client_id"], "rf-b1", "{e}");
    refused(
        &s.patch_json(&message_path("general", mine), Some(&bob), &body("x"))
            .await,
        403,
        "edit someone else's message",
    );
    // No such message in this room: unknown, another room's, a change's
    // position, deleted.
    for (id, what) in [
        (NO_SUCH_ID, "an unknown id"),
        (elsewhere, "another room's message"),
        (change, "a change's stream_id"),
        (gone, "a deleted message"),
    ] {
        refused_v1(&mut author, edit("general", id, "rf-nope"), "not_found").await;
        let answer = s
            .patch_json(&message_path("general", id), Some(&alice), &body("rf-nope"))
            .await;
        assert_eq!(
            answer,
            (404, json!({"detail": "Message not found"})),
            "{what}"
        );
    }
    // Content as for a send.
    let big = "x".repeat(101);
    refused_v1(&mut author, edit("general", mine, &big), "too_large").await;
    refused(
        &s.patch_json(&message_path("general", mine), Some(&alice), &body(&big))
            .await,
        422,
        "too long",
    );
    refused_v1(&mut author, edit("general", mine, " \n "), "empty_message").await;
    refused(
        &s.patch_json(&message_path("general", mine), Some(&alice), &body("  "))
            .await,
        422,
        "blank",
    );
    // A room this socket is not subscribed to.
    refused_v1(
        &mut author,
        edit("python", mine, "rf-nope"),
        "not_subscribed",
    )
    .await;

    // None of it reached the room or the store.
    say(&mut author, "general", "rf-marker").await;
    let seen = stream_until(&mut watch, "general", "rf-marker").await;
    let edits: Vec<i64> = seen
        .iter()
        .filter(|e| e["type"] == "edited")
        .map(position)
        .collect();
    assert_eq!(edits, [change], "only the one allowed edit: {seen:?}");
    assert_eq!(
        stored(&s, "general", &alice, mine).await["content"],
        "rf-said-v2"
    );
    assert_eq!(
        stored(&s, "random", &alice, elsewhere).await["content"],
        "rf-in-random"
    );
    assert!(kept_in_store(&s, "rf-bob-was-here").await.is_empty());
    assert!(kept_in_store(&s, "rf-nope").await.is_empty());
}

#[tokio::test]
async fn past_the_edit_window_an_edit_is_too_late() {
    const WINDOW: Duration = Duration::from_secs(2);
    let s = spawn_with(|c| {
        c.rate_limit = 0;
        c.edit_window = Some(WINDOW);
    })
    .await;
    let alice = s.user("wn-alice").await;
    let mut author = joined(&s, &alice, &["general"]).await;
    // Taken before the send: the message is younger than this.
    let sent = Instant::now();
    let id = say(&mut author, "general", "wn-original").await;
    v1_done(&mut author, edit("general", id, "wn-at-once")).await;

    let deadline = Instant::now() + PATIENCE;
    for n in 0.. {
        let answer = v1_command(&mut author, edit("general", id, &format!("wn-{n}"))).await;
        if answer["type"] == "error" {
            assert_eq!(answer["code"], "too_late", "{answer}");
            assert!(
                sent.elapsed() >= WINDOW,
                "refused after {:?}, within the window of {WINDOW:?}",
                sent.elapsed()
            );
            break;
        }
        assert_eq!(answer["type"], "ack", "{answer}");
        assert!(
            Instant::now() < deadline,
            "still editable after {PATIENCE:?}"
        );
        // Polled: no event says that a window has passed.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let answer = s
        .patch_json(
            &message_path("general", id),
            Some(&alice),
            &json!({"content": "wn-http"}),
        )
        .await;
    assert_eq!(
        answer,
        (403, json!({"detail": "The edit window has passed"}))
    );
    // The window is for edits only.
    v1_done(&mut author, react("general", id, "👍")).await;
    v1_done(&mut author, delete("general", id)).await;
}

#[tokio::test]
async fn without_edit_history_versions_are_404_and_only_the_current_content_is_kept() {
    let s = spawn_with(|c| {
        c.rate_limit = 0;
        c.keep_edit_history = false;
    })
    .await;
    let alice = s.user("nh-alice").await;
    let mut author = joined(&s, &alice, &["general"]).await;
    let id = say(&mut author, "general", "nh-first-words").await;
    v1_done(&mut author, edit("general", id, "nh-second-words")).await;
    let (status, body) = s
        .patch_json(
            &message_path("general", id),
            Some(&alice),
            &json!({"content": "nh-current-words"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let answer = s
        .get_json(&versions_path("general", id), Some(&alice))
        .await;
    assert_eq!(
        answer,
        (
            404,
            json!({"detail": "Edit history is not kept on this server"})
        )
    );
    let now = stored(&s, "general", &alice, id).await;
    assert_eq!(now["content"], "nh-current-words", "{now}");
    assert!(now["edited_at"].is_string(), "{now}");
    assert!(
        !kept_in_store(&s, "nh-current-words").await.is_empty(),
        "the search of the store finds what is there"
    );
    for old in ["nh-first-words", "nh-second-words"] {
        let found = kept_in_store(&s, old).await;
        assert!(found.is_empty(), "{old:?} still stored in {found:?}");
    }
}

#[tokio::test]
async fn authors_moderators_owners_and_admins_delete_and_history_keeps_a_tombstone() {
    let s = spawn_with(|c| c.rate_limit = 0).await;
    let owner = s.user("dl-owner").await;
    let moderator = s.user("dl-mod").await;
    let alice = s.user("dl-alice").await;
    let bob = s.user("dl-bob").await;
    let watcher = s.user("dl-watch").await;
    let admin = s.user("dl-admin").await;
    s.make_admin("dl-admin").await;
    let room = "hall";
    s.create_room(&owner, room, "public").await;
    for name in ["dl-mod", "dl-alice", "dl-bob", "dl-watch"] {
        s.invite(&owner, room, name).await;
    }
    let (status, body) = s
        .patch_json(
            &format!("/rooms/{room}/members/dl-mod"),
            Some(&owner),
            &json!({"role": "moderator"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut author = joined(&s, &alice, &[room]).await;
    let mut plain = joined(&s, &bob, &[room]).await;
    let mut moderating = joined(&s, &moderator, &[room]).await;
    let mut watch = joined(&s, &watcher, &[room]).await;

    let one = say(&mut author, room, "dl-one-v1").await;
    v1_done(&mut author, edit(room, one, "dl-one-v2")).await;
    v1_done(&mut plain, react(room, one, "👍")).await;
    let two = say(&mut author, room, "dl-two").await;
    let three = say(&mut author, room, "dl-three").await;
    let four = say(&mut author, room, "dl-four").await;
    let five = say(&mut author, room, "dl-five").await;
    let kept = say(&mut author, room, "dl-kept").await;
    let bobs = say(&mut plain, room, "dl-bobs").await;

    let ack = v1_done(&mut author, with_id(delete(room, one), "dl-d1")).await;
    assert_eq!(
        (&ack["action"], &ack["room"], &ack["id"], &ack["client_id"]),
        (&json!("delete"), &json!(room), &json!(one), &json!("dl-d1")),
        "{ack}"
    );
    let first = stream_id(&ack);
    assert_eq!(
        s.delete(&message_path(room, two), Some(&alice)).await,
        (204, Value::Null),
        "the author, over HTTP"
    );
    let e = refused_v1(&mut plain, delete(room, three), "forbidden").await;
    assert!(e.get("client_id").is_none(), "{e}");
    refused(
        &s.delete(&message_path(room, three), Some(&bob)).await,
        403,
        "a plain member deletes another's message",
    );
    v1_done(&mut moderating, delete(room, three)).await;
    assert_eq!(
        s.delete(&message_path(room, four), Some(&owner)).await.0,
        204,
        "the owner, over HTTP"
    );
    assert_eq!(
        s.delete(&message_path(room, five), Some(&admin)).await.0,
        204,
        "a server admin, not in the room"
    );
    // Twice: gone is gone.
    refused_v1(&mut author, delete(room, one), "not_found").await;
    for (id, token) in [(two, &alice), (three, &moderator)] {
        let answer = s.delete(&message_path(room, id), Some(token)).await;
        assert_eq!(answer, (404, json!({"detail": "Message not found"})));
    }
    let marker = say(&mut author, room, "dl-marker").await;

    let seen = stream_until(&mut watch, room, "dl-marker").await;
    assert_ascending(&seen);
    let deletions: Vec<(i64, &str)> = seen
        .iter()
        .filter(|e| e["type"] == "deleted")
        .map(|e| {
            (
                e["id"].as_i64().unwrap_or(0),
                e["by"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        deletions,
        [
            (one, "dl-alice"),
            (two, "dl-alice"),
            (three, "dl-mod"),
            (four, "dl-owner"),
            (five, "dl-admin"),
        ],
        "{seen:?}"
    );
    let first_seen = seen.iter().find(|e| e["type"] == "deleted").cloned();
    assert_eq!(
        first_seen.as_ref().map(position),
        Some(first),
        "{first_seen:?}"
    );
    assert!(first_seen.is_some_and(|e| e["ts"].is_string()), "{seen:?}");

    // History keeps the places, without the contents.
    let messages = history(&s, room, &watcher).await;
    let ids: Vec<i64> = messages.iter().filter_map(|m| m["id"].as_i64()).collect();
    assert_eq!(
        ids,
        [one, two, three, four, five, kept, bobs, marker],
        "{messages:?}"
    );
    for (m, by) in messages.iter().zip([
        None,
        None,
        Some("dl-mod"),
        Some("dl-owner"),
        Some("dl-admin"),
    ]) {
        assert_eq!(
            (&m["deleted"], &m["content"], &m["user"]),
            (&json!(true), &json!(""), &json!("dl-alice")),
            "{m}"
        );
        assert!(m["ts"].is_string(), "{m}");
        assert_eq!(m.get("deleted_by").and_then(Value::as_str), by, "{m}");
        assert!(
            m.get("reactions").is_none_or(|r| r == &json!([])),
            "a deleted message's reactions are erased: {m}"
        );
    }
    for m in &messages[5..] {
        assert!(
            m.get("deleted").is_none() && m.get("deleted_by").is_none(),
            "{m}"
        );
    }
    assert_eq!(
        chapter_contents(&s, room, &watcher).await,
        ["dl-marker", "dl-bobs", "dl-kept"],
        "the chapter's history (newest first) omits deleted messages"
    );
    for id in [one, five] {
        refused(
            &s.get_json(&versions_path(room, id), Some(&alice)).await,
            404,
            "the versions of a deleted message",
        );
    }
    refused_v1(&mut plain, react(room, one, "🎉"), "not_found").await;
    refused(
        &s.request(
            Method::PUT,
            &reaction_path(room, one, "🎉"),
            Some(&bob),
            None,
        )
        .await,
        404,
        "react to a deleted message",
    );
    for content in ["dl-one-v1", "dl-one-v2", "dl-two", "dl-five"] {
        let found = kept_in_store(&s, content).await;
        assert!(found.is_empty(), "{content:?} still stored in {found:?}");
    }
}

#[tokio::test]
async fn a_muted_member_may_delete_their_own_message_but_not_edit_or_react() {
    let s = spawn_with(|c| c.rate_limit = 0).await;
    let owner = s.user("mt-owner").await;
    let muted = s.user("mt-muted").await;
    let watcher = s.user("mt-watch").await;
    let room = "hushed";
    s.create_room(&owner, room, "public").await;
    let mut speaker = joined(&s, &owner, &[room]).await;
    let mut quiet = joined(&s, &muted, &[room]).await;
    let mut watch = joined(&s, &watcher, &[room]).await;
    let theirs = say(&mut quiet, room, "mt-before").await;
    let also = say(&mut quiet, room, "mt-also").await;
    let other = say(&mut speaker, room, "mt-owners").await;
    v1_done(&mut quiet, react(room, other, "👍")).await;

    let (status, body) = s
        .post_json(
            &format!("/rooms/{room}/mutes"),
            Some(&owner),
            &json!({"username": "mt-muted"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    next_of(&mut quiet, "muted").await;
    refused_v1(&mut quiet, edit(room, theirs, "mt-edited"), "muted").await;
    refused_v1(&mut quiet, react(room, other, "🎉"), "muted").await;
    refused_v1(&mut quiet, unreact(room, other, "👍"), "muted").await;
    refused(
        &s.patch_json(
            &message_path(room, theirs),
            Some(&muted),
            &json!({"content": "mt-edited"}),
        )
        .await,
        403,
        "a muted member edits",
    );
    refused(
        &s.request(
            Method::PUT,
            &reaction_path(room, other, "🎉"),
            Some(&muted),
            None,
        )
        .await,
        403,
        "a muted member reacts",
    );
    let ack = v1_done(&mut quiet, delete(room, theirs)).await;
    let deleted = stream_id(&ack);
    assert_eq!(
        s.delete(&message_path(room, also), Some(&muted)).await.0,
        204,
        "a muted member deletes their own message over HTTP"
    );
    say(&mut speaker, room, "mt-marker").await;

    let seen = stream_until(&mut watch, room, "mt-marker").await;
    let changes: Vec<(String, i64)> = stream_shape(&seen)
        .into_iter()
        .filter(|(kind, _)| kind != "message")
        .collect();
    assert_eq!(changes.len(), 3, "{seen:?}");
    assert_eq!(changes[0].0, "reaction", "the reaction before the mute");
    assert_eq!(changes[1], ("deleted".to_owned(), deleted), "{seen:?}");
    assert_eq!(changes[2].0, "deleted", "{seen:?}");
    let now = stored(&s, room, &owner, other).await;
    assert_eq!(
        reactions_of(&now),
        [json!({"emoji": "👍", "count": 1, "me": false})],
        "{now}"
    );
}

#[tokio::test]
async fn reactions_count_once_per_user_and_emoji_and_history_says_whose() {
    let s = spawn_with(|c| c.rate_limit = 0).await;
    let alice = s.user("rx-alice").await;
    let bob = s.user("rx-bob").await;
    let carol = s.user("rx-carol").await;
    let watcher = s.user("rx-watch").await;
    let mut author = joined(&s, &alice, &["general"]).await;
    let mut reactor = joined(&s, &bob, &["general"]).await;
    let _carol_ws = joined(&s, &carol, &["general"]).await;
    let mut watch = joined(&s, &watcher, &["general"]).await;
    let id = say(&mut author, "general", "rx-target").await;
    let thumbs = reaction_path("general", id, "👍");

    let ack = v1_done(&mut reactor, with_id(react("general", id, "👍"), "rx-1")).await;
    assert_eq!(
        (&ack["action"], &ack["id"], &ack["client_id"]),
        (&json!("react"), &json!(id), &json!("rx-1")),
        "{ack}"
    );
    let first = stream_id(&ack);
    let answer = s.request(Method::PUT, &thumbs, Some(&carol), None).await;
    assert_eq!(
        answer,
        (200, json!({"emoji": "👍", "count": 2, "me": true}))
    );
    // Again, by each: no second reaction, no event.
    let again = v1_done(&mut reactor, with_id(react("general", id, "👍"), "rx-2")).await;
    assert!(
        again.get("stream_id").is_none() && again.get("duplicate").is_none(),
        "{again}"
    );
    let answer = s.request(Method::PUT, &thumbs, Some(&carol), None).await;
    assert_eq!(
        answer,
        (200, json!({"emoji": "👍", "count": 2, "me": true}))
    );
    let parrot = stream_id(&v1_done(&mut reactor, react("general", id, ":party_parrot:")).await);
    let marker = say(&mut author, "general", "rx-marker").await;

    let seen = stream_until(&mut watch, "general", "rx-marker").await;
    assert_ascending(&seen);
    let reactions: Vec<&Value> = seen.iter().filter(|e| e["type"] == "reaction").collect();
    assert_eq!(reactions.len(), 3, "{seen:?}");
    assert_eq!(position(reactions[0]), first);
    assert_eq!(position(reactions[2]), parrot);
    let what = |e: &Value| {
        (
            e["id"].clone(),
            e["emoji"].clone(),
            e["user"].clone(),
            e["added"].clone(),
            e["count"].clone(),
        )
    };
    assert_eq!(
        reactions.iter().map(|e| what(e)).collect::<Vec<_>>(),
        [
            (
                json!(id),
                json!("👍"),
                json!("rx-bob"),
                json!(true),
                json!(1)
            ),
            (
                json!(id),
                json!("👍"),
                json!("rx-carol"),
                json!(true),
                json!(2)
            ),
            (
                json!(id),
                json!(":party_parrot:"),
                json!("rx-bob"),
                json!(true),
                json!(1)
            ),
        ]
    );
    assert_eq!(
        stream_shape(&seen).last(),
        Some(&("message".to_owned(), marker)),
        "nothing after the marker was asked for"
    );

    // The aggregate, with `me` for whoever asks.
    let agg = |thumbs_me: bool, parrot_me: bool| {
        vec![
            json!({"emoji": ":party_parrot:", "count": 1, "me": parrot_me}),
            json!({"emoji": "👍", "count": 2, "me": thumbs_me}),
        ]
    };
    for (token, expected) in [
        (&bob, agg(true, true)),
        (&carol, agg(true, false)),
        (&alice, agg(false, false)),
    ] {
        let m = stored(&s, "general", token, id).await;
        assert_eq!(reactions_of(&m), expected, "{m}");
    }

    // Taking back, each way, twice.
    let ack = v1_done(&mut reactor, unreact("general", id, "👍")).await;
    assert_eq!(ack["action"], "unreact", "{ack}");
    let removed = stream_id(&ack);
    let again = v1_done(&mut reactor, unreact("general", id, "👍")).await;
    assert!(again.get("stream_id").is_none(), "{again}");
    for _ in 0..2 {
        let answer = s.request(Method::DELETE, &thumbs, Some(&carol), None).await;
        assert_eq!(
            answer,
            (200, json!({"emoji": "👍", "count": 0, "me": false}))
        );
    }
    say(&mut author, "general", "rx-marker2").await;
    let seen = stream_until(&mut watch, "general", "rx-marker2").await;
    assert_ascending(&seen);
    assert_eq!(
        seen.iter()
            .filter(|e| e["type"] == "reaction")
            .map(what)
            .collect::<Vec<_>>(),
        [
            (
                json!(id),
                json!("👍"),
                json!("rx-bob"),
                json!(false),
                json!(1)
            ),
            (
                json!(id),
                json!("👍"),
                json!("rx-carol"),
                json!(false),
                json!(0)
            ),
        ],
        "{seen:?}"
    );
    assert_eq!(position(&seen[0]), removed, "{seen:?}");
    assert_eq!(seen.len(), 3, "{seen:?}");
    let m = stored(&s, "general", &carol, id).await;
    assert_eq!(
        reactions_of(&m),
        [json!({"emoji": ":party_parrot:", "count": 1, "me": false})],
        "an emoji nobody reacts with any more is not listed: {m}"
    );

    // Messages nobody may act on: none, and a change's position.
    for no_message in [NO_SUCH_ID, removed] {
        refused_v1(
            &mut reactor,
            react("general", no_message, "👍"),
            "not_found",
        )
        .await;
        refused_v1(
            &mut reactor,
            unreact("general", no_message, "👍"),
            "not_found",
        )
        .await;
        refused_v1(&mut author, delete("general", no_message), "not_found").await;
    }
    let answer = s
        .request(
            Method::PUT,
            &reaction_path("general", NO_SUCH_ID, "👍"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(answer, (404, json!({"detail": "Message not found"})));
}

#[tokio::test]
async fn an_emoji_is_one_emoji_or_a_short_name_of_at_most_32_bytes() {
    let s = spawn_with(|c| c.rate_limit = 0).await;
    let alice = s.user("em-alice").await;
    let mut ws = joined(&s, &alice, &["general"]).await;
    let id = say(&mut ws, "general", "em-target").await;
    let longest = format!(":{}:", "a".repeat(30));
    let too_long = format!(":{}:", "a".repeat(31));
    assert_eq!((longest.len(), too_long.len()), (32, 33));

    for emoji in [
        "👍",
        "👍🏽",
        "👨‍👩‍👧",
        "🇫🇷",
        "❤️",
        ":+1:",
        ":party_parrot:",
        ":a-b_c+1:",
        &longest,
    ] {
        let ack = v1_done(&mut ws, react("general", id, emoji)).await;
        assert!(ack["stream_id"].is_i64(), "{emoji:?}: {ack}");
    }
    let answer = s
        .request(
            Method::PUT,
            &reaction_path("general", id, ":tada:"),
            Some(&alice),
            None,
        )
        .await;
    assert_eq!(
        answer,
        (200, json!({"emoji": ":tada:", "count": 1, "me": true}))
    );

    for emoji in [
        "",
        "a",
        "hello",
        "👍👍",
        "👍 ",
        ":Upper:",
        ":two words:",
        ":a:b:",
        "tada:",
        &too_long,
    ] {
        let e = refused_v1(&mut ws, react("general", id, emoji), "bad_emoji").await;
        assert!(e["message"].is_string(), "{emoji:?}: {e}");
        refused_v1(&mut ws, unreact("general", id, emoji), "bad_emoji").await;
    }
    for emoji in ["hello", ":UPPER:", too_long.as_str()] {
        refused(
            &s.request(
                Method::PUT,
                &reaction_path("general", id, emoji),
                Some(&alice),
                None,
            )
            .await,
            422,
            emoji,
        );
    }
    let m = stored(&s, "general", &alice, id).await;
    assert_eq!(
        reactions_of(&m).len(),
        10,
        "the accepted ones, each once: {m}"
    );
}

#[tokio::test]
async fn a_reply_carries_the_originals_author_and_an_excerpt_that_follows_it() {
    let s = spawn_with(|c| c.rate_limit = 0).await;
    let alice = s.user("rp-alice").await;
    let bob = s.user("rp-bob").await;
    let watcher = s.user("rp-watch").await;
    let mut author = joined(&s, &alice, &["general", "random"]).await;
    let mut replier = joined(&s, &bob, &["general"]).await;
    let mut watch = joined(&s, &watcher, &["general"]).await;
    // Characters, not bytes: 120 two-byte ones.
    let original = say(&mut author, "general", &"é".repeat(120)).await;
    let exact = say(&mut author, "general", &"o".repeat(100)).await;
    let elsewhere = say(&mut author, "random", "rp-in-random").await;
    let cut = format!("{}…", "é".repeat(100));

    let answer = v1_done(
        &mut replier,
        reply("general", "rp-answer", "rp-1", original),
    )
    .await;
    let answer_id = answer["id"].as_i64().expect("an id");
    let live = stream_until(&mut watch, "general", "rp-answer").await;
    let live = live.last().cloned().unwrap_or_default();
    assert_eq!(
        live["reply_to"],
        json!({"id": original, "author": "rp-alice", "excerpt": cut}),
        "{live}"
    );
    let full = v1_done(&mut replier, reply("general", "rp-full", "rp-2", exact)).await;
    let full_id = full["id"].as_i64().expect("an id");
    let live = stream_until(&mut watch, "general", "rp-full").await;
    assert_eq!(
        live.last().map(|m| m["reply_to"].clone()),
        Some(json!({"id": exact, "author": "rp-alice", "excerpt": "o".repeat(100)})),
        "100 characters are not cut"
    );
    let plain = say(&mut replier, "general", "rp-plain").await;
    assert_eq!(
        stored(&s, "general", &watcher, answer_id).await["reply_to"],
        json!({"id": original, "author": "rp-alice", "excerpt": cut})
    );
    assert!(
        stored(&s, "general", &watcher, plain)
            .await
            .get("reply_to")
            .is_none()
    );

    // Not a message of this room: refused with the send's client_id.
    let edit_ack = v1_done(&mut author, edit("general", original, "rp-short now")).await;
    for (to, client_id) in [
        (elsewhere, "rp-x1"),
        (NO_SUCH_ID, "rp-x2"),
        (stream_id(&edit_ack), "rp-x3"),
    ] {
        let e = refused_v1(
            &mut replier,
            reply("general", "rp-refused", client_id, to),
            "not_found",
        )
        .await;
        assert_eq!(e["client_id"], client_id, "{e}");
    }
    assert!(
        !s.contents("general", &bob)
            .await
            .contains(&"rp-refused".to_owned()),
        "a refused reply is not stored"
    );
    // Nor is its client_id used up.
    let ack = v1_done(
        &mut replier,
        json!({"type": "send", "room": "general", "content": "rp-retry", "client_id": "rp-x1"}),
    )
    .await;
    assert!(ack.get("duplicate").is_none(), "{ack}");

    // The excerpt follows the original: edited, then deleted.
    assert_eq!(
        stored(&s, "general", &watcher, answer_id).await["reply_to"],
        json!({"id": original, "author": "rp-alice", "excerpt": "rp-short now"})
    );
    v1_done(&mut author, delete("general", original)).await;
    assert_eq!(
        stored(&s, "general", &watcher, answer_id).await["reply_to"],
        json!({"id": original, "author": "rp-alice", "excerpt": "", "deleted": true})
    );
    assert_eq!(
        stored(&s, "general", &watcher, full_id).await["reply_to"]["excerpt"],
        "o".repeat(100)
    );
    // A replay carries it too, as it is now.
    let mut again = s.v1("/ws", &watcher).await;
    let sub = v1_subscribe(&mut again, "general", Some(original - 1)).await;
    assert_eq!(sub["type"], "subscribed", "{sub}");
    let replayed = stream_until(&mut again, "general", "rp-answer").await;
    assert_eq!(
        replayed.last().map(|m| m["reply_to"].clone()),
        Some(json!({"id": original, "author": "rp-alice", "excerpt": "", "deleted": true})),
        "{replayed:?}"
    );
}

#[tokio::test]
async fn a_change_resent_with_its_client_id_has_one_effect_and_one_event() {
    let s = spawn_with(|c| c.rate_limit = 0).await;
    let alice = s.user("eo-alice").await;
    let bob = s.user("eo-bob").await;
    let watcher = s.user("eo-watch").await;
    let mut author = joined(&s, &alice, &["general"]).await;
    let mut reactor = joined(&s, &bob, &["general"]).await;
    let mut watch = joined(&s, &watcher, &["general"]).await;
    let a = say(&mut author, "general", "eo-a").await;
    let b = say(&mut author, "general", "eo-b").await;

    // Who sends it: the author (true) or bob.
    for (by_author, command, action) in [
        (
            true,
            with_id(edit("general", a, "eo-a2"), "eo-edit"),
            "edit",
        ),
        (true, with_id(delete("general", b), "eo-delete"), "delete"),
        (
            false,
            with_id(react("general", a, "🎉"), "eo-react"),
            "react",
        ),
        (
            false,
            with_id(unreact("general", a, "🎉"), "eo-unreact"),
            "unreact",
        ),
    ] {
        let ws = if by_author { &mut author } else { &mut reactor };
        let first = v1_done(ws, command.clone()).await;
        assert!(first.get("duplicate").is_none(), "{first}");
        stream_id(&first);
        let again = v1_done(ws, command).await;
        assert_eq!(
            (&again["duplicate"], &again["action"], &again["id"]),
            (&json!(true), &json!(action), &first["id"]),
            "{again}"
        );
    }

    // Sent, then the socket is gone before the ack could be read; resent
    // on a new one.
    let command = with_id(react("general", a, "👍"), "eo-react2");
    send_json(&mut reactor, command.clone()).await;
    drop(reactor);
    let mut reactor = joined(&s, &bob, &["general"]).await;
    v1_done(&mut reactor, command).await;

    // Client ids are shared by all commands: a send's, reused on an edit.
    let c = v1_done(
        &mut author,
        json!({"type": "send", "room": "general", "content": "eo-c", "client_id": "eo-shared"}),
    )
    .await["id"]
        .as_i64()
        .expect("an id");
    let again = v1_done(
        &mut author,
        with_id(edit("general", c, "eo-c2"), "eo-shared"),
    )
    .await;
    assert_eq!(again["duplicate"], true, "{again}");
    say(&mut author, "general", "eo-marker").await;

    let seen = stream_until(&mut watch, "general", "eo-marker").await;
    assert_ascending(&seen);
    let changes: Vec<[Value; 4]> = seen
        .iter()
        .filter(|e| e["type"] != "message")
        .map(|e| {
            [
                e["type"].clone(),
                e["id"].clone(),
                e["emoji"].clone(),
                e["added"].clone(),
            ]
        })
        .collect();
    let n = Value::Null;
    assert_eq!(
        changes,
        [
            [json!("edited"), json!(a), n.clone(), n.clone()],
            [json!("deleted"), json!(b), n.clone(), n.clone()],
            [json!("reaction"), json!(a), json!("🎉"), json!(true)],
            [json!("reaction"), json!(a), json!("🎉"), json!(false)],
            [json!("reaction"), json!(a), json!("👍"), json!(true)],
        ],
        "one event per change: {seen:?}"
    );
    assert_eq!(stored(&s, "general", &alice, a).await["content"], "eo-a2");
    assert_eq!(stored(&s, "general", &alice, c).await["content"], "eo-c");
}

/// The scenario of a reader who misses every kind of change: it reads up to
/// a message, goes away while alice edits (twice, once a message deleted
/// after), deletes, three reactions come and a message; then, the server
/// restarted or not, it resumes with the last position it saw and must get
/// exactly what it missed, in order, once, each entry as things are now.
async fn missed_changes_are_replayed(restart: bool) {
    let s = spawn_with(|c| c.rate_limit = 0).await;
    let alice = s.user("rs-alice").await;
    let bob = s.user("rs-bob").await;
    let carol = s.user("rs-carol").await;
    let mut author = joined(&s, &alice, &["general"]).await;
    let mut live = joined(&s, &carol, &["general"]).await;
    let mut reader = joined(&s, &bob, &["general"]).await;
    let one = say(&mut author, "general", "rs-one").await;
    let two = say(&mut author, "general", "rs-two").await;
    let seen = stream_until(&mut reader, "general", "rs-two").await;
    let since = seen.last().map(position).expect("rs-two");
    drop(reader);

    let acks = [
        v1_done(&mut author, edit("general", one, "rs-one-v2")).await,
        v1_done(&mut author, edit("general", two, "rs-two-v2")).await,
        v1_done(&mut author, delete("general", two)).await,
        v1_done(&mut author, react("general", one, "👍")).await,
    ];
    let answer = s
        .request(
            Method::PUT,
            &reaction_path("general", one, "👍"),
            Some(&bob),
            None,
        )
        .await;
    assert_eq!(answer.0, 200, "{answer:?}");
    let tada = v1_done(&mut author, react("general", one, "🎉")).await;
    let three = say(&mut author, "general", "rs-three").await;
    let last_edit = v1_done(&mut author, edit("general", one, "rs-one-v3")).await;
    let end = say(&mut author, "general", "rs-end").await;

    let everything = stream_until(&mut live, "general", "rs-end").await;
    let missed: Vec<Value> = everything
        .into_iter()
        .filter(|e| position(e) > since)
        .collect();
    assert_ascending(&missed);
    let kinds: Vec<&str> = missed.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "edited", "edited", "deleted", "reaction", "reaction", "reaction", "message", "edited",
            "message"
        ],
        "{missed:?}"
    );
    let mut positions: Vec<i64> = acks.iter().map(stream_id).collect();
    positions.push(position(&missed[4]));
    positions.extend([stream_id(&tada), three, stream_id(&last_edit), end]);
    let expected: Vec<(String, i64)> = kinds
        .iter()
        .map(|k| (*k).to_owned())
        .zip(positions)
        .collect();
    assert_eq!(
        stream_shape(&missed),
        expected,
        "the live order is the acks'"
    );

    let s = if restart {
        drop((author, live));
        let (dir, mut config) = s.stop().await;
        config.port = 0;
        start(dir, config).await
    } else {
        s
    };
    let mut reader = s.v1("/ws", &bob).await;
    let sub = v1_subscribe(&mut reader, "general", Some(since)).await;
    assert_eq!(sub["type"], "subscribed", "{sub}");
    let replayed = stream_until(&mut reader, "general", "rs-end").await;
    assert_eq!(
        stream_shape(&replayed),
        expected,
        "exactly what was missed, in order, once"
    );
    let state = |e: &Value| {
        json!({"id": e["id"], "content": e["content"], "deleted": e["deleted"], "by": e["by"],
               "user": e["user"], "emoji": e["emoji"], "added": e["added"], "count": e["count"]})
    };
    let now: Vec<Value> = replayed.iter().map(state).collect();
    let n = Value::Null;
    let entry = |id: i64, content: &Value, deleted: &Value, by: &Value, user: &str| {
        json!({"id": id, "content": content, "deleted": deleted, "by": by, "user": user,
               "emoji": n, "added": n, "count": n})
    };
    let reaction = |user: &str, emoji: &str, count: i64| {
        json!({"id": one, "content": n, "deleted": n, "by": n, "user": user,
               "emoji": emoji, "added": true, "count": count})
    };
    assert_eq!(
        now,
        [
            // Edits carry the content as it is now; of a deleted message, none.
            entry(one, &json!("rs-one-v3"), &n, &n, "rs-alice"),
            entry(two, &json!(""), &json!(true), &n, "rs-alice"),
            json!({"id": two, "content": n, "deleted": n, "by": "rs-alice", "user": n,
                   "emoji": n, "added": n, "count": n}),
            // Reactions carry the count as it is now.
            reaction("rs-alice", "👍", 2),
            reaction("rs-bob", "👍", 2),
            reaction("rs-alice", "🎉", 1),
            entry(three, &json!("rs-three"), &n, &n, "rs-alice"),
            entry(one, &json!("rs-one-v3"), &n, &n, "rs-alice"),
            entry(end, &json!("rs-end"), &n, &n, "rs-alice"),
        ],
        "{replayed:?}"
    );
    assert!(
        replayed[0]["edited_at"].is_string() && replayed[7]["edited_at"].is_string(),
        "{replayed:?}"
    );

    // Then live, with nothing replayed twice.
    let mut author = joined(&s, &alice, &["general"]).await;
    let fresh = say(&mut author, "general", "rs-live").await;
    let next = stream_until(&mut reader, "general", "rs-live").await;
    assert_eq!(
        stream_shape(&next),
        [("message".to_owned(), fresh)],
        "{next:?}"
    );

    // From before the first message: the messages as they are now.
    let mut again = s.v1("/ws", &bob).await;
    let sub = v1_subscribe(&mut again, "general", Some(one - 1)).await;
    assert_eq!(sub["type"], "subscribed", "{sub}");
    let all = stream_until(&mut again, "general", "rs-live").await;
    let mut shape = vec![("message".to_owned(), one), ("message".to_owned(), two)];
    shape.extend(expected);
    shape.push(("message".to_owned(), fresh));
    assert_eq!(stream_shape(&all), shape, "{all:?}");
    let first = &all[0];
    assert_eq!(first["content"], "rs-one-v3", "{first}");
    assert!(first["edited_at"].is_string(), "{first}");
    assert_eq!(
        reactions_of(first),
        [
            json!({"emoji": "🎉", "count": 1, "me": false}),
            json!({"emoji": "👍", "count": 2, "me": true}),
        ],
        "{first}"
    );
    let tombstone = &all[1];
    assert_eq!(
        (
            &tombstone["deleted"],
            &tombstone["content"],
            &tombstone["user"]
        ),
        (&json!(true), &json!(""), &json!("rs-alice")),
        "{tombstone}"
    );
    assert!(tombstone.get("deleted_by").is_none(), "{tombstone}");
}

#[tokio::test]
async fn a_resume_gets_every_missed_change_once_in_order_then_live() {
    missed_changes_are_replayed(false).await;
}

#[tokio::test]
async fn a_resume_after_a_restart_gets_every_missed_change_once_in_order() {
    missed_changes_are_replayed(true).await;
}

#[tokio::test]
async fn the_chapter_socket_sees_none_of_the_changes_and_its_history_hides_the_deleted() {
    let s = spawn_with(|c| c.rate_limit = 0).await;
    let alice = s.user("ch-alice").await;
    let carol = s.user("ch-carol").await;
    let mut author = joined(&s, &alice, &["general"]).await;
    let mut chapter = s.compat("general", &carol).await;
    assert_eq!(
        next_text(&mut chapter).await,
        "User 'ch-carol' joined room 'general'."
    );
    let kept = say(&mut author, "general", "ch-kept").await;
    let gone = say(&mut author, "general", "ch-gone").await;
    for line in ["[general] ch-alice: ch-kept", "[general] ch-alice: ch-gone"] {
        assert_eq!(next_text(&mut chapter).await, line);
    }

    v1_done(&mut author, edit("general", kept, "ch-kept-edited")).await;
    let (status, body) = s
        .patch_json(
            &message_path("general", kept),
            Some(&alice),
            &json!({"content": "ch-kept-final"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    v1_done(&mut author, react("general", kept, "👍")).await;
    let answer = s
        .request(
            Method::PUT,
            &reaction_path("general", kept, "🎉"),
            Some(&carol),
            None,
        )
        .await;
    assert_eq!(answer.0, 200, "{answer:?}");
    v1_done(&mut author, unreact("general", kept, "👍")).await;
    v1_done(&mut author, delete("general", gone)).await;
    say(&mut author, "general", "ch-marker").await;
    assert_eq!(
        next_text(&mut chapter).await,
        "[general] ch-alice: ch-marker",
        "the next frame after the changes is the message sent after them"
    );
    assert_eq!(
        chapter_contents(&s, "general", &carol).await,
        ["ch-marker", "ch-kept-final"],
        "newest first, as it is now, without the deleted one"
    );
}

#[tokio::test]
async fn a_hidden_room_answers_every_new_route_and_command_as_a_missing_one() {
    const MISSING: &str = "never-created-13";
    let s = spawn().await;
    let owner = s.user("ac-owner").await;
    let outsider = s.user("ac-outsider").await;
    let room = "vault";
    s.create_room(&owner, room, "private").await;
    let mut inside = joined(&s, &owner, &[room]).await;
    let id = say(&mut inside, room, "ac-secret").await;

    let routes = [
        (
            Method::PATCH,
            message_path("{room}", id),
            Some(json!({"content": "ac-mine"})),
        ),
        (Method::DELETE, message_path("{room}", id), None),
        (Method::PUT, reaction_path("{room}", id, "👍"), None),
        (Method::DELETE, reaction_path("{room}", id, "👍"), None),
        (Method::GET, versions_path("{room}", id), None),
    ];
    for (method, path, body) in &routes {
        let on = |r: &str| path.replace("{room}", r);
        let hidden = s
            .request(method.clone(), &on(room), Some(&outsider), body.as_ref())
            .await;
        let missing = s
            .request(method.clone(), &on(MISSING), Some(&outsider), body.as_ref())
            .await;
        assert_eq!(
            hidden,
            (404, json!({"detail": "Room not found"})),
            "{method} {path}"
        );
        assert_eq!(hidden, missing, "{method} {path}");
    }

    let mut ws = s.v1("/ws", &outsider).await;
    let sub = v1_subscribe(&mut ws, room, None).await;
    assert_eq!(sub["code"], "unknown_room", "{sub}");
    let commands = |r: &str| {
        [
            edit(r, id, "ac-mine"),
            delete(r, id),
            react(r, id, "👍"),
            unreact(r, id, "👍"),
            reply(r, "ac-reply", "ac-1", id),
        ]
    };
    for (hidden, missing) in commands(room).into_iter().zip(commands(MISSING)) {
        let what = hidden.to_string();
        let hidden = v1_command(&mut ws, hidden).await;
        let missing = v1_command(&mut ws, missing).await;
        let seen = |e: &Value| (e["type"].clone(), e["code"].clone(), e["message"].clone());
        assert_eq!(
            hidden["code"], "not_subscribed",
            "{what} -> {hidden} (the socket could not subscribe)"
        );
        assert_eq!(seen(&hidden), seen(&missing), "{what}");
    }

    // Nothing happened to the message.
    let m = stored(&s, room, &owner, id).await;
    assert_eq!(m["content"], "ac-secret", "{m}");
    assert!(
        m.get("edited_at").is_none() && m.get("deleted").is_none(),
        "{m}"
    );
    assert!(reactions_of(&m).is_empty(), "{m}");
    assert_eq!(s.contents(room, &owner).await, ["ac-secret"]);
}
