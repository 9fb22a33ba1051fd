//! Several palaver nodes as one chat: PostgreSQL for the store, Redis for
//! fan-out and presence. These need the real services, so they are ignored
//! unless asked for (`cargo test -- --include-ignored`, as .ci/run does), and
//! then fail without PALAVER_TEST_DATABASE_URL=postgres://… and
//! PALAVER_TEST_REDIS_URL=redis://…: a cluster test that did not run must
//! never count as passed.

use crate::helpers::*;
use futures_util::{FutureExt, SinkExt, StreamExt};
use palaver::Config;
use palaver::auth::token::Secret;
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;
use tokio_tungstenite::tungstenite::Message;

const SECRET: &str = "cluster-test-secret-that-is-long-enough-0123456789";
const REDIS_ENV: &str = "PALAVER_TEST_REDIS_URL";

/// The database and Redis URLs; a test that needs them fails without them.
fn services() -> (String, String) {
    match (std::env::var(TEST_DATABASE_ENV), std::env::var(REDIS_ENV)) {
        (Ok(db), Ok(redis)) => (db, redis),
        _ => panic!(
            "this test needs PostgreSQL and Redis: set {TEST_DATABASE_ENV}=postgres://… \
             and {REDIS_ENV}=redis://… (or leave it ignored)"
        ),
    }
}

/// Two nodes on one fresh schema and one cluster name.
async fn two_nodes(redis: &str) -> (TestServer, TestServer) {
    two_nodes_with(redis, |_| {}).await
}

/// Two nodes as `two_nodes`, both with `tune` applied.
async fn two_nodes_with(redis: &str, tune: impl FnOnce(&mut Config)) -> (TestServer, TestServer) {
    let dir_a = tempfile::tempdir().unwrap();
    let mut a = test_config(&dir_a);
    a.bus = redis.to_owned();
    a.cluster = format!("test-{}", rand_suffix());
    a.jwt_secret = Some(Secret::new(SECRET.as_bytes().to_vec()));
    a.rate_limit = 0;
    tune(&mut a);
    let mut b = a.clone();
    let dir_b = tempfile::tempdir().unwrap();
    b.data_dir = dir_b.path().to_owned();
    let node_a = start(dir_a, a).await;
    let node_b = start(dir_b, b).await;
    (node_a, node_b)
}

fn rand_suffix() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// Cuts every node's bus subscription (they resubscribe by themselves);
/// how many were cut.
async fn cut_subscriptions(admin: &mut redis::aio::MultiplexedConnection) -> i64 {
    redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(admin)
        .await
        .expect("CLIENT KILL")
}

/// How many connections listen on the bus's channel.
async fn subscribers(mut admin: redis::aio::MultiplexedConnection, channel: String) -> i64 {
    let counts: Vec<(String, i64)> = redis::cmd("PUBSUB")
        .arg("NUMSUB")
        .arg(&channel)
        .query_async(&mut admin)
        .await
        .expect("PUBSUB NUMSUB");
    counts.first().map_or(0, |(_, n)| *n)
}

async fn online(s: &TestServer, room: &str) -> Vec<String> {
    let (_, body) = s.get_json(&format!("/rooms/{room}"), None).await;
    serde_json::from_value(body["online"].clone()).unwrap_or_default()
}

#[tokio::test]
#[ignore = "needs PostgreSQL and Redis (PALAVER_TEST_DATABASE_URL, PALAVER_TEST_REDIS_URL)"]
async fn a_generated_per_node_key_is_refused() {
    let (_, redis) = services();
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(&dir);
    config.bus = redis;
    init_logging();
    match palaver::serve(config).await {
        Err(err) => assert!(err.to_string().contains("PALAVER_JWT_SECRET"), "{err}"),
        Ok(_) => panic!("a node with a generated key must not join a cluster"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and Redis (PALAVER_TEST_DATABASE_URL, PALAVER_TEST_REDIS_URL)"]
async fn both_nodes_see_every_message_with_the_same_ids_in_the_same_order() {
    let (_, redis) = services();
    let (a, b) = two_nodes(&redis).await;
    // Accounts live in the shared database; a token from A works on B.
    let mut tokens = Vec::new();
    for i in 0..4 {
        tokens.push(a.user(&format!("node-user{i}")).await);
    }
    let mut clients = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        let node = if i % 2 == 0 { &a } else { &b };
        let mut ws = node.v1("/ws/general", token).await;
        next_of(&mut ws, "subscribed").await;
        clients.push(ws);
    }
    // All four send 50 messages at once, two through each node.
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, ws)| {
            tokio::spawn(async move {
                let (mut write, mut read) = ws.split();
                let sender = tokio::spawn(async move {
                    for n in 0..50 {
                        let cmd = json!({"type": "send", "room": "general", "content": format!("{i}-{n}"), "client_id": format!("{i}-{n}")});
                        write.send(Message::Text(cmd.to_string().into())).await.unwrap();
                    }
                    write
                });
                let mut ids = Vec::new();
                while ids.len() < 200 {
                    match tokio::time::timeout(PATIENCE, read.next()).await {
                        Ok(Some(Ok(Message::Text(t)))) => {
                            let v: Value = serde_json::from_str(t.as_str()).unwrap();
                            if v["type"] == "message" {
                                ids.push(v["id"].as_i64().unwrap());
                            }
                        }
                        Ok(Some(Ok(_))) => {}
                        other => panic!("client {i} stopped after {} messages: {other:?}", ids.len()),
                    }
                }
                let _write_half = sender.await.expect("sender");
                ids
            })
        })
        .collect();
    let mut seen = Vec::new();
    for t in tasks {
        seen.push(t.await.unwrap());
    }
    assert!(seen[0].windows(2).all(|w| w[0] < w[1]), "in id order");
    for other in &seen[1..] {
        assert_eq!(
            other, &seen[0],
            "every client, on either node, sees one order"
        );
    }
    let page = |s: &TestServer| {
        let token = tokens[0].clone();
        let url = s.url("/rooms/general/messages?after=0&limit=1000");
        let http = s.http.clone();
        async move {
            let v: Value = http
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            v["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["id"].as_i64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    let (history_a, history_b) = (page(&a).await, page(&b).await);
    assert_eq!(history_a, seen[0], "history on A is what was delivered");
    assert_eq!(history_b, history_a, "history is the same from both nodes");
}

#[tokio::test]
#[ignore = "needs PostgreSQL and Redis (PALAVER_TEST_DATABASE_URL, PALAVER_TEST_REDIS_URL)"]
async fn presence_is_the_union_of_the_nodes() {
    let (_, redis) = services();
    let (a, b) = two_nodes(&redis).await;
    let (t1, t2) = (a.user("on-node-a").await, a.user("on-node-b").await);
    let mut on_a = a.v1("/ws/general", &t1).await;
    next_of(&mut on_a, "subscribed").await;
    let mut on_b = b.v1("/ws/general", &t2).await;
    let snapshot = next_of(&mut on_b, "subscribed").await;
    assert_eq!(
        snapshot["presence"],
        json!(["on-node-a", "on-node-b"]),
        "B's snapshot includes A's user"
    );
    // A hears of B's user (at the next presence poll).
    assert_eq!(next_presence_of(&mut on_a, "on-node-b").await, "joined");
    assert_eq!(online(&a, "general").await, ["on-node-a", "on-node-b"]);
    assert_eq!(online(&b, "general").await, ["on-node-a", "on-node-b"]);
    drop(on_b);
    assert_eq!(next_presence_of(&mut on_a, "on-node-b").await, "left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and Redis (PALAVER_TEST_DATABASE_URL, PALAVER_TEST_REDIS_URL)"]
async fn a_killed_node_drops_out_of_presence_within_its_ttl() {
    let (db, redis) = services();
    let dir = tempfile::tempdir().unwrap();
    let mut config: Config = test_config(&dir);
    config.bus = redis.clone();
    config.cluster = format!("kill-{}", rand_suffix());
    config.jwt_secret = Some(Secret::new(SECRET.as_bytes().to_vec()));
    config.node_ttl = Duration::from_secs(3);
    let database_url = config.database_url.clone().unwrap_or(db);
    let a = start(dir, config.clone()).await;

    // Node B is a child process of the real binary, so it can be SIGKILLed.
    let dir_b = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_palaver"))
        .args([
            "--port",
            "0",
            "--node-ttl",
            "3s",
            "--bus",
            &redis,
            "--cluster",
            &config.cluster,
        ])
        .arg("--data-dir")
        .arg(dir_b.path())
        .args(["--database-url", &database_url])
        .env("PALAVER_JWT_SECRET", SECRET)
        .stdout(std::process::Stdio::piped())
        .stderr(child_stderr())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    forward_stderr(&mut child);
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(PATIENCE, lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();

    let watcher_token = a.user("watcher").await;
    let doomed_token = a.user("doomed").await;
    let mut watcher = a.v1("/ws/general", &watcher_token).await;
    next_of(&mut watcher, "subscribed").await;
    let b_ws = format!("ws://{addr}/ws/general?token={doomed_token}");
    let (mut doomed, _) = tokio_tungstenite::connect_async(b_ws).await.unwrap();
    assert_eq!(
        next_text(&mut doomed).await,
        "User 'doomed' joined room 'general'."
    );
    assert_eq!(next_presence_of(&mut watcher, "doomed").await, "joined");

    child.start_kill().unwrap();
    let killed = Instant::now();
    let left = tokio::time::timeout(
        Duration::from_secs(15),
        next_presence_of(&mut watcher, "doomed"),
    )
    .await
    .expect("the dead node's user leaves");
    assert_eq!(left, "left");
    let took = killed.elapsed();
    eprintln!("presence expiry after SIGKILL with node TTL 3 s: {took:?}");
    assert!(took <= Duration::from_secs(3 + 2), "{took:?}");
    assert_eq!(online(&a, "general").await, ["watcher"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and Redis (PALAVER_TEST_DATABASE_URL, PALAVER_TEST_REDIS_URL)"]
async fn cutting_the_bus_loses_no_stored_message() {
    let (_, redis) = services();
    let (a, b) = two_nodes(&redis).await;
    let (ts, tr) = (a.user("bus-sender").await, a.user("bus-reader").await);
    let mut reader = b.v1("/ws/general", &tr).await;
    next_of(&mut reader, "subscribed").await;
    let mut sender = a.v1("/ws/general", &ts).await;
    next_of(&mut sender, "subscribed").await;

    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    for n in 0..100 {
        if n % 25 == 10 {
            // Every node's subscription is cut; published events are lost
            // until they resubscribe.
            let killed = cut_subscriptions(&mut admin).await;
            // The first cut must hit both nodes, or nothing was tested; by
            // the later ones a node may not have resubscribed yet.
            if n == 10 {
                assert!(killed >= 2, "cut {killed} subscriptions, not both nodes'");
            }
        }
        let cmd = json!({"type": "send", "room": "general", "content": format!("m{n}"), "client_id": format!("m{n}")});
        sender
            .send(Message::Text(cmd.to_string().into()))
            .await
            .unwrap();
        // Paced on purpose, so that messages are published while the nodes
        // are cut off and resubscribing, not all before the first cut.
        if n % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }
    let mut got = Vec::new();
    while got.len() < 100 {
        let m = tokio::time::timeout(Duration::from_secs(15), next_of(&mut reader, "message"))
            .await
            .unwrap_or_else(|_| panic!("only {} of 100 arrived", got.len()));
        got.push(m["content"].as_str().unwrap().to_owned());
    }
    let expected: Vec<String> = (0..100).map(|n| format!("m{n}")).collect();
    assert_eq!(got, expected, "all, once, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and Redis (PALAVER_TEST_DATABASE_URL, PALAVER_TEST_REDIS_URL)"]
async fn a_session_ended_on_one_node_closes_its_sockets_on_the_other() {
    let (_, redis) = services();
    let (a, b) = two_nodes(&redis).await;
    let token = a.user("roamer").await;
    let bystander = a.user("stayer").await;
    let mut v1_on_b = b.v1("/ws/general", &token).await;
    next_of(&mut v1_on_b, "subscribed").await;
    let mut compat_on_b = b.compat("general", &token).await;
    next_text(&mut compat_on_b).await;
    let mut other_on_b = b.v1("/ws/general", &bystander).await;
    next_of(&mut other_on_b, "subscribed").await;

    let (status, _) = a.post_json("/logout", Some(&token), &json!({})).await;
    assert_eq!(status, 204);
    for ws in [&mut v1_on_b, &mut compat_on_b] {
        let frame = next_close(ws).await.expect("a close frame");
        assert_eq!(u16::from(frame.code), 4001);
        assert_eq!(frame.reason.as_str(), "session ended");
    }
    assert_eq!(b.get_json("/users/me", Some(&token)).await.0, 401);
    // Another user's socket on that node is not touched.
    send_json(&mut other_on_b, json!({"type": "ping"})).await;
    next_of(&mut other_on_b, "pong").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and Redis (PALAVER_TEST_DATABASE_URL, PALAVER_TEST_REDIS_URL)"]
async fn the_send_budget_is_shared_by_a_users_sockets_on_each_node() {
    let (_, redis) = services();
    // 2 per second, bursts of 4; per node, as docs/security.md says.
    let (a, b) = two_nodes_with(&redis, |c| c.rate_limit = 2).await;
    let token = a.user("busy").await;
    let send = |n: u32| json!({"type": "send", "room": "general", "content": format!("m{n}"), "client_id": format!("c{n}")});
    let mut budgets = Vec::new();
    for node in [&a, &b] {
        let mut first = node.v1("/ws/general", &token).await;
        next_of(&mut first, "subscribed").await;
        let mut second = node.v1("/ws/general", &token).await;
        next_of(&mut second, "subscribed").await;
        let mut accepted = 0;
        for n in 0..6 {
            // Alternating sockets: one budget between them.
            let ws = if n % 2 == 0 { &mut first } else { &mut second };
            send_json(ws, send(n + budgets.len() as u32 * 10)).await;
            loop {
                let v = next_json(ws).await;
                match v["type"].as_str() {
                    Some("ack") => {
                        accepted += 1;
                        break;
                    }
                    Some("error") => {
                        assert_eq!(v["code"], "rate_limited", "{v}");
                        break;
                    }
                    _ => {}
                }
            }
        }
        budgets.push(accepted);
    }
    // Each node grants its burst (4, perhaps one more earned meanwhile) to
    // the user's sockets together, not 4 to each socket.
    for accepted in &budgets {
        assert!((4..=5).contains(accepted), "{budgets:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and Redis (PALAVER_TEST_DATABASE_URL, PALAVER_TEST_REDIS_URL)"]
async fn a_session_ended_while_the_bus_was_cut_still_closes_its_sockets_elsewhere() {
    let (_, redis) = services();
    let (a, b) = two_nodes(&redis).await;
    let channel = format!("{}:events", a.config.cluster);
    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let mut missed = false;
    for attempt in 0..5 {
        let token = a.user(&format!("cut-off{attempt}")).await;
        let mut on_b = b.v1("/ws/general", &token).await;
        next_of(&mut on_b, "subscribed").await;
        eventually("both nodes subscribed", || {
            subscribers(admin.clone(), channel.clone()).map(|n| n == 2)
        })
        .await;
        cut_subscriptions(&mut admin).await;
        let (status, _) = a.post_json("/logout", Some(&token), &json!({})).await;
        assert_eq!(status, 204);
        // Nobody was subscribed from before the logout to after it: B
        // cannot have heard of it from the bus. (Otherwise try again: a
        // node resubscribed too soon, and this round tested nothing.)
        if subscribers(admin.clone(), channel.clone()).await == 0 {
            missed = true;
        }
        let frame = next_close(&mut on_b).await.expect("a close frame");
        assert_eq!(u16::from(frame.code), 4001);
        assert_eq!(frame.reason.as_str(), "session ended");
        if missed {
            break;
        }
    }
    assert!(missed, "the logout was never published while B was cut off");
}

/// A kick published while B heard nothing of the bus: B asks the store,
/// once it is back, and removes the member all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and Redis (PALAVER_TEST_DATABASE_URL, PALAVER_TEST_REDIS_URL)"]
async fn a_kick_while_the_bus_was_cut_still_removes_the_member_elsewhere() {
    let (_, redis) = services();
    let (a, b) = two_nodes(&redis).await;
    let channel = format!("{}:events", a.config.cluster);
    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut admin = client.get_multiplexed_async_connection().await.unwrap();
    let owner = a.user("cut-owner").await;
    let mut missed = false;
    for attempt in 0..5 {
        let room = format!("cut-room{attempt}");
        let name = format!("cut-victim{attempt}");
        let victim = a.user(&name).await;
        a.create_room(&owner, &room, "private").await;
        a.invite(&owner, &room, &name).await;
        let mut on_b = b.v1("/ws", &victim).await;
        v1_join(&mut on_b, &room).await;
        eventually("both nodes subscribed", || {
            subscribers(admin.clone(), channel.clone()).map(|n| n == 2)
        })
        .await;
        cut_subscriptions(&mut admin).await;
        let r = a
            .http
            .delete(a.url(&format!("/rooms/{room}/members/{name}")))
            .bearer_auth(&owner)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
        if subscribers(admin.clone(), channel.clone()).await == 0 {
            missed = true;
        }
        let removed = next_of(&mut on_b, "removed").await;
        assert_eq!(removed["room"], json!(room), "{removed}");
        if missed {
            break;
        }
    }
    assert!(missed, "the kick was never published while B was cut off");
}

/// Issue 12 over two nodes: a member connected to B, kicked over HTTP on A,
/// with a message sent on A as soon as the kick returns. B must remove them
/// before it delivers that message, on both protocols.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and Redis (PALAVER_TEST_DATABASE_URL, PALAVER_TEST_REDIS_URL)"]
async fn a_kick_on_one_node_removes_the_member_on_the_other_before_the_next_message() {
    let (_, redis) = services();
    let (a, b) = two_nodes(&redis).await;
    let owner = a.user("cl-owner").await;
    let victim = a.user("cl-victim").await;
    let stayer = a.user("cl-stayer").await;
    let room = "backroom";
    a.create_room(&owner, room, "private").await;
    a.invite(&owner, room, "cl-victim").await;
    a.invite(&owner, room, "cl-stayer").await;

    let mut victim_v1 = b.v1("/ws", &victim).await;
    v1_join(&mut victim_v1, room).await;
    v1_join(&mut victim_v1, "general").await;
    let mut victim_chapter = b.compat(room, &victim).await;
    assert_eq!(
        next_text(&mut victim_chapter).await,
        "User 'cl-victim' joined room 'backroom'."
    );
    let mut stayer_on_b = b.v1("/ws", &stayer).await;
    v1_join(&mut stayer_on_b, room).await;
    let mut speaker = a.v1("/ws", &owner).await;
    v1_join(&mut speaker, room).await;
    v1_join(&mut speaker, "general").await;
    // A's messages reach B: the bus is up for both before the kick.
    v1_say(&mut speaker, room, "cl-before").await;
    v1_until_message(&mut victim_v1, room, "cl-before", &[]).await;
    v1_until_message(&mut stayer_on_b, room, "cl-before", &[]).await;

    let r = a
        .http
        .delete(a.url(&format!("/rooms/{room}/members/cl-victim")))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    v1_say(&mut speaker, room, "cl-after").await;
    v1_say(&mut speaker, "general", "cl-marker").await;

    let removed = removed_until(&mut victim_v1, "cl-marker", "cl-after").await;
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(
        (&removed[0]["room"], &removed[0]["reason"]),
        (&json!(room), &json!("kicked")),
        "{removed:?}"
    );
    let close = tokio::time::timeout(PATIENCE, async {
        loop {
            match victim_chapter.next().await {
                Some(Ok(Message::Text(t))) => assert!(
                    !t.contains("cl-after"),
                    "the kicked chapter socket got the message sent after the kick: {t}"
                ),
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    })
    .await
    .expect("the chapter socket is closed in time")
    .expect("a close frame");
    assert_eq!(
        (u16::from(close.code), close.reason.as_str()),
        (4003, "removed from this room")
    );
    // Delivery on B went on for the others.
    v1_until_message(&mut stayer_on_b, room, "cl-after", &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and Redis (PALAVER_TEST_DATABASE_URL, PALAVER_TEST_REDIS_URL)"]
async fn an_invite_or_a_dm_on_one_node_reaches_the_invitee_on_the_other() {
    let (_, redis) = services();
    let (a, b) = two_nodes(&redis).await;
    let owner = a.user("ci-owner").await;
    let guest = a.user("ci-guest").await;
    let mut on_b = b.v1("/ws", &guest).await;
    send_json(&mut on_b, json!({"type": "ping", "ref": "ready"})).await;
    next_of(&mut on_b, "pong").await;

    a.create_room(&owner, "parlour", "private").await;
    a.invite(&owner, "parlour", "ci-guest").await;
    let added = next_of(&mut on_b, "room_added").await;
    assert_eq!(added["room"]["name"], "parlour", "{added}");
    assert_eq!(added["room"]["role"], "member", "{added}");
    v1_join(&mut on_b, "parlour").await;

    let dm = a.dm(&owner, &["ci-guest"]).await;
    let added = next_of(&mut on_b, "room_added").await;
    assert_eq!(added["room"]["name"], dm.as_str(), "{added}");
    assert_eq!(added["room"]["visibility"], "direct", "{added}");
}

/// A chapter socket's text frames up to its close, and the close.
async fn chapter_until_close(ws: &mut Ws) -> (Vec<String>, (u16, String)) {
    let mut texts = Vec::new();
    let close = tokio::time::timeout(PATIENCE, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => texts.push(t.to_string()),
                Some(Ok(Message::Close(Some(c)))) => {
                    return (u16::from(c.code), c.reason.to_string());
                }
                Some(Ok(Message::Close(None))) | None => return (0, "no close frame".into()),
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("expected a close frame, got error {e}"),
            }
        }
    })
    .await
    .expect("closed in time");
    (texts, close)
}

/// Ban, mute and room deletion done over HTTP on A, for sockets on B.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and Redis (PALAVER_TEST_DATABASE_URL, PALAVER_TEST_REDIS_URL)"]
async fn a_ban_a_mute_and_a_deletion_on_one_node_act_on_the_other() {
    let (_, redis) = services();
    let (a, b) = two_nodes(&redis).await;
    let owner = a.user("cm-owner").await;
    let banned = a.user("cm-banned").await;
    let muted = a.user("cm-muted").await;
    let stayer = a.user("cm-stayer").await;
    let room = "arena";
    a.create_room(&owner, room, "public").await;

    let mut banned_v1 = b.v1("/ws", &banned).await;
    v1_join(&mut banned_v1, room).await;
    v1_join(&mut banned_v1, "general").await;
    let mut banned_chapter = b.compat(room, &banned).await;
    next_text(&mut banned_chapter).await;
    let mut muted_v1 = b.v1("/ws", &muted).await;
    v1_join(&mut muted_v1, room).await;
    let mut muted_chapter = b.compat(room, &muted).await;
    next_text(&mut muted_chapter).await;
    let mut stayer_on_b = b.v1("/ws", &stayer).await;
    v1_join(&mut stayer_on_b, room).await;
    let mut speaker = a.v1("/ws", &owner).await;
    v1_join(&mut speaker, room).await;
    v1_join(&mut speaker, "general").await;
    v1_say(&mut speaker, room, "cm-warm").await;
    v1_until_message(&mut stayer_on_b, room, "cm-warm", &[]).await;

    let (status, body) = a
        .post_json(
            &format!("/rooms/{room}/bans"),
            Some(&owner),
            &json!({"username": "cm-banned", "reason": "rude"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    v1_say(&mut speaker, room, "cm-after-ban").await;
    v1_say(&mut speaker, "general", "cm-ban-marker").await;
    let removed = removed_until(&mut banned_v1, "cm-ban-marker", "cm-after-ban").await;
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(
        (&removed[0]["reason"], &removed[0]["message"]),
        (&json!("banned"), &json!("rude")),
        "{removed:?}"
    );
    let (texts, close) = chapter_until_close(&mut banned_chapter).await;
    assert!(
        !texts.iter().any(|t| t.contains("cm-after-ban")),
        "{texts:?}"
    );
    assert_eq!(close, (4003, "banned from this room".into()));
    assert_eq!(
        v1_subscribe(&mut banned_v1, room, None).await["code"],
        "forbidden"
    );

    let (status, body) = a
        .post_json(
            &format!("/rooms/{room}/mutes"),
            Some(&owner),
            &json!({"username": "cm-muted"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(next_of(&mut muted_v1, "muted").await["room"], room);
    let refused = v1_send(&mut muted_v1, room, "cm-muted-v1").await;
    assert_eq!(refused["code"], "muted", "{refused}");
    send_text(&mut muted_chapter, "cm-muted-chapter").await;
    v1_say(&mut speaker, room, "cm-mute-marker").await;
    v1_until_message(
        &mut stayer_on_b,
        room,
        "cm-mute-marker",
        &["cm-muted-v1", "cm-muted-chapter"],
    )
    .await;

    let r = a
        .http
        .delete(a.url(&format!("/rooms/{room}")))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        next_of(&mut stayer_on_b, "room_removed").await["room"],
        room
    );
    let (_, close) = chapter_until_close(&mut muted_chapter).await;
    assert_eq!(close, (4004, "room deleted".into()));
    assert_eq!(
        b.get_json(&format!("/rooms/{room}"), Some(&stayer)).await.0,
        404
    );
}

/// Issue 13 over two nodes: a reader on A goes away at a message, misses an
/// edit, a deletion, three reactions (one of them through B) and a message
/// made through A, and resumes on B; it must get exactly those, in order, once. Both nodes'
/// live subscribers see the room's stream in one order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL and Redis (PALAVER_TEST_DATABASE_URL, PALAVER_TEST_REDIS_URL)"]
async fn changes_missed_on_one_node_are_replayed_once_in_order_on_the_other() {
    let (_, redis) = services();
    let (a, b) = two_nodes(&redis).await;
    let alice = a.user("cx-alice").await;
    let bob = a.user("cx-bob").await;
    let watch_a = a.user("cx-watch-a").await;
    let watch_b = a.user("cx-watch-b").await;
    let mut author = a.v1("/ws", &alice).await;
    v1_join(&mut author, "general").await;
    let mut on_a = a.v1("/ws", &watch_a).await;
    v1_join(&mut on_a, "general").await;
    let mut on_b = b.v1("/ws", &watch_b).await;
    v1_join(&mut on_b, "general").await;
    let mut reader = a.v1("/ws", &bob).await;
    v1_join(&mut reader, "general").await;

    let sent = |content: &str| json!({"type": "send", "room": "general", "content": content, "client_id": format!("id-{content}")});
    let one = v1_done(&mut author, sent("cx-one")).await["id"]
        .as_i64()
        .unwrap();
    // A's messages reach B: the bus is up for both before anything counts.
    // Both watchers are read past it, so that they compare from there.
    v1_until_message(&mut on_b, "general", "cx-one", &[]).await;
    v1_until_message(&mut on_a, "general", "cx-one", &[]).await;
    let two = v1_done(&mut author, sent("cx-two")).await["id"]
        .as_i64()
        .unwrap();
    let seen = stream_until(&mut reader, "general", "cx-two").await;
    let since = position(seen.last().unwrap());
    assert_eq!(since, two);
    drop(reader);

    let edited = v1_done(
        &mut author,
        json!({"type": "edit", "room": "general", "id": one, "content": "cx-one-v2"}),
    )
    .await;
    let deleted = v1_done(
        &mut author,
        json!({"type": "delete", "room": "general", "id": two}),
    )
    .await;
    let react =
        |emoji: &str| json!({"type": "react", "room": "general", "id": one, "emoji": emoji});
    let thumbs = v1_done(&mut author, react("👍")).await;
    // One change through B, so that both nodes feed the stream.
    let r = b
        .http
        .put(b.url(&reaction_path("general", one, "👍")))
        .bearer_auth(&bob)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let tada = v1_done(&mut author, react("🎉")).await;
    let three = v1_done(&mut author, sent("cx-three")).await["id"]
        .as_i64()
        .unwrap();

    let live_a = stream_until(&mut on_a, "general", "cx-three").await;
    let live_b = stream_until(&mut on_b, "general", "cx-three").await;
    assert_ascending(&live_a);
    assert_eq!(
        stream_shape(&live_b),
        stream_shape(&live_a),
        "both nodes' subscribers see one order"
    );
    let missed: Vec<Value> = live_a.into_iter().filter(|e| position(e) > since).collect();
    let kinds: Vec<&str> = missed.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(
        kinds,
        [
            "edited", "deleted", "reaction", "reaction", "reaction", "message"
        ],
        "{missed:?}"
    );
    let stream_id = |ack: &Value| ack["stream_id"].as_i64().unwrap();
    let acked = [
        stream_id(&edited),
        stream_id(&deleted),
        stream_id(&thumbs),
        position(&missed[3]),
        stream_id(&tada),
        three,
    ];
    assert_eq!(
        stream_shape(&missed)
            .into_iter()
            .map(|(_, p)| p)
            .collect::<Vec<_>>(),
        acked,
        "the live order is the acks'"
    );

    let mut back = b.v1("/ws", &bob).await;
    let sub = v1_subscribe(&mut back, "general", Some(since)).await;
    assert_eq!(sub["type"], "subscribed", "{sub}");
    let replayed = stream_until(&mut back, "general", "cx-three").await;
    assert_eq!(
        stream_shape(&replayed),
        stream_shape(&missed),
        "exactly what was missed, in order, once"
    );
    assert_eq!(replayed[0]["content"], "cx-one-v2", "{replayed:?}");
    assert_eq!(replayed[1]["id"], two, "{replayed:?}");
    let counts: Vec<(&Value, &Value, &Value)> = replayed[2..5]
        .iter()
        .map(|e| (&e["user"], &e["emoji"], &e["count"]))
        .collect();
    assert_eq!(
        counts,
        [
            (&json!("cx-alice"), &json!("👍"), &json!(2)),
            (&json!("cx-bob"), &json!("👍"), &json!(2)),
            (&json!("cx-alice"), &json!("🎉"), &json!(1)),
        ],
        "{replayed:?}"
    );
}
