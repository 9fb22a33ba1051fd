//! Issue 12's access matrix: for a private room and for a direct room, who
//! may see it on every path (HTTP, palaver.v1, the chapter's socket,
//! presence, typing, the room lists). Whoever may not see a room must get
//! exactly what a room that does not exist gets, so every such answer is
//! compared with a really missing room's rather than with a constant.

use crate::helpers::*;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// A room nobody created.
const MISSING: &str = "never-created-12";

/// One way of looking at a room.
#[derive(Clone, Copy, Debug)]
enum Probe {
    /// `GET /rooms/{room}` with a token.
    Room,
    /// `GET /rooms/{room}/messages`.
    History,
    /// `GET /messages/{room}`, the chapter's history.
    ChapterHistory,
    /// `GET /rooms/{room}/members`.
    Members,
    /// v1 `subscribe` on `/ws`.
    V1Subscribe,
    /// v1 `subscribe` with `since` (a resume).
    V1Resume,
    /// v1 on `/ws/{room}`.
    V1RoomPath,
    /// The chapter's `/ws/{room}`.
    Chapter,
    /// v1 `typing`, after trying to subscribe.
    Typing,
    /// v1 `send`, after trying to subscribe.
    Send,
    /// v1 `unsubscribe`, after trying to subscribe.
    Unsubscribe,
}

const PROBES: [Probe; 11] = [
    Probe::Room,
    Probe::History,
    Probe::ChapterHistory,
    Probe::Members,
    Probe::V1Subscribe,
    Probe::V1Resume,
    Probe::V1RoomPath,
    Probe::Chapter,
    Probe::Typing,
    Probe::Send,
    Probe::Unsubscribe,
];

/// The first thing a socket gets: a text frame (as JSON if it is) or its close.
async fn first_frame(ws: &mut Ws) -> Value {
    let frame = tokio::time::timeout(PATIENCE, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                other => return other,
            }
        }
    })
    .await
    .expect("a frame in time");
    match frame {
        Some(Ok(Message::Text(t))) => match serde_json::from_str::<Value>(t.as_str()) {
            Ok(v) => json!({ "frame": v }),
            Err(_) => json!({ "text": t.as_str() }),
        },
        Some(Ok(Message::Close(Some(c)))) => {
            json!({ "close": [u16::from(c.code), c.reason.as_str()] })
        }
        other => json!({ "other": format!("{other:?}") }),
    }
}

/// The v1 errors answering `frames` (each sent with a ref), collected until
/// a ping sent after them is answered.
async fn errors_for(ws: &mut Ws, frames: Vec<Value>) -> Value {
    for frame in frames {
        send_json(ws, frame).await;
    }
    send_json(ws, json!({"type": "ping", "ref": "probe-done"})).await;
    let mut errors = Vec::new();
    loop {
        let v = next_json(ws).await;
        match v["type"].as_str() {
            Some("pong") if v["ref"] == "probe-done" => return json!({ "errors": errors }),
            Some("error") => errors.push(v),
            _ => {}
        }
    }
}

fn http((status, body): (u16, Value)) -> Value {
    json!({ "status": status, "body": body })
}

/// What `token`'s holder gets from `probe` on `room`, with the room's name
/// masked so that two rooms' answers compare.
async fn observe(s: &TestServer, token: &str, room: &str, probe: Probe) -> Value {
    let seen = match probe {
        Probe::Room => http(s.get_json(&format!("/rooms/{room}"), Some(token)).await),
        Probe::History => http(
            s.get_json(&format!("/rooms/{room}/messages?after=0"), Some(token))
                .await,
        ),
        Probe::ChapterHistory => http(s.get_json(&format!("/messages/{room}"), Some(token)).await),
        Probe::Members => http(
            s.get_json(&format!("/rooms/{room}/members"), Some(token))
                .await,
        ),
        Probe::V1Subscribe | Probe::V1Resume => {
            let since = matches!(probe, Probe::V1Resume).then_some(0);
            let mut ws = s.v1("/ws", token).await;
            let answer = v1_subscribe(&mut ws, room, since).await;
            let mut seen = json!({ "answer": answer });
            if answer["type"] == "subscribed" && since.is_some() {
                seen["replayed"] = next_of(&mut ws, "message").await["content"].clone();
            }
            let _ = ws.close(None).await;
            seen
        }
        Probe::V1RoomPath => {
            let mut ws = s.v1(&format!("/ws/{room}"), token).await;
            let seen = first_frame(&mut ws).await;
            let _ = ws.close(None).await;
            seen
        }
        Probe::Chapter => {
            let mut ws = s.compat(room, token).await;
            let seen = first_frame(&mut ws).await;
            let _ = ws.close(None).await;
            seen
        }
        Probe::Typing | Probe::Send | Probe::Unsubscribe => {
            let mut ws = s.v1("/ws", token).await;
            let subscribe = json!({"type": "subscribe", "room": room, "ref": "probe-sub"});
            let command = match probe {
                Probe::Typing => json!({"type": "typing", "room": room, "ref": "probe"}),
                Probe::Send => {
                    json!({"type": "send", "room": room, "content": "probe", "client_id": "probe", "ref": "probe"})
                }
                _ => json!({"type": "unsubscribe", "room": room, "ref": "probe"}),
            };
            let mut seen = errors_for(&mut ws, vec![subscribe, command]).await;
            // The subscribe's own answer is the subscribe probes' business.
            if let Some(errors) = seen["errors"].as_array_mut() {
                errors.retain(|e| e["ref"] != "probe-sub");
            }
            let _ = ws.close(None).await;
            seen
        }
    };
    serde_json::from_str(&seen.to_string().replace(room, "<room>")).expect("still JSON")
}

/// Whether `seen` is a successful look at `room` (as masked by `observe`).
fn admitted(probe: Probe, seen: &Value, who: &str, first_message: &str) -> bool {
    let contents = |messages: &Value| -> Vec<String> {
        messages
            .as_array()
            .map(|all| {
                all.iter()
                    .filter_map(|m| m["content"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let ok = seen["status"] == 200;
    match probe {
        Probe::Room => ok && seen["body"]["name"] == "<room>",
        Probe::History => {
            ok && contents(&seen["body"]["messages"]).contains(&first_message.to_owned())
        }
        Probe::ChapterHistory => ok && contents(&seen["body"]).contains(&first_message.to_owned()),
        Probe::Members => ok && seen["body"]["members"].is_array(),
        Probe::V1Subscribe => seen["answer"]["type"] == "subscribed",
        Probe::V1Resume => {
            seen["answer"]["type"] == "subscribed" && seen["replayed"] == first_message
        }
        Probe::V1RoomPath => seen["frame"]["type"] == "subscribed",
        Probe::Chapter => seen["text"] == format!("User '{who}' joined room '<room>'.").as_str(),
        Probe::Typing | Probe::Send | Probe::Unsubscribe => seen["errors"] == json!([]),
    }
}

/// Someone who asks, and whether they may see the room.
struct Actor {
    role: &'static str,
    name: &'static str,
    token: String,
    sees: bool,
}

/// What someone may try on a room over HTTP besides reading it, acting on
/// `target` (a member): `{room}` stands for the room. Only tried by those
/// who may not see the room, who must get a missing room's answer to each
/// (a member would really do them).
fn acts(target: &str) -> Vec<(reqwest::Method, String, Option<Value>)> {
    use reqwest::Method;
    let on_target = format!("/rooms/{{room}}/members/{target}");
    let whom = json!({ "username": target });
    vec![
        (Method::POST, "/rooms/{room}/join".into(), Some(json!({}))),
        (Method::POST, "/rooms/{room}/leave".into(), Some(json!({}))),
        (
            Method::POST,
            "/rooms/{room}/members".into(),
            Some(whom.clone()),
        ),
        (
            Method::PATCH,
            on_target.clone(),
            Some(json!({"role": "owner"})),
        ),
        (Method::DELETE, on_target, None),
        (Method::GET, "/rooms/{room}/bans".into(), None),
        (
            Method::POST,
            "/rooms/{room}/bans".into(),
            Some(whom.clone()),
        ),
        (
            Method::DELETE,
            format!("/rooms/{{room}}/bans/{target}"),
            None,
        ),
        (Method::GET, "/rooms/{room}/mutes".into(), None),
        (Method::POST, "/rooms/{room}/mutes".into(), Some(whom)),
        (
            Method::DELETE,
            format!("/rooms/{{room}}/mutes/{target}"),
            None,
        ),
        (
            Method::PATCH,
            "/rooms/{room}".into(),
            Some(json!({"topic": "mine now"})),
        ),
        // Last: were it obeyed, the room would be gone for the rest.
        (Method::DELETE, "/rooms/{room}".into(), None),
    ]
}

async fn act(
    s: &TestServer,
    token: &str,
    room: &str,
    how: &(reqwest::Method, String, Option<Value>),
) -> Value {
    let (method, path, body) = how;
    let answer = s
        .request(
            method.clone(),
            &path.replace("{room}", room),
            Some(token),
            body.as_ref(),
        )
        .await;
    serde_json::from_str(&http(answer).to_string().replace(room, "<room>")).expect("still JSON")
}

/// Every probe for every actor; the failures, each naming actor and path.
async fn matrix(
    s: &TestServer,
    room: &str,
    actors: &[Actor],
    first_message: &str,
    target: &str,
) -> Vec<String> {
    let mut failures = Vec::new();
    for actor in actors.iter().filter(|a| !a.sees) {
        for how in acts(target) {
            let seen = act(s, &actor.token, room, &how).await;
            let missing = act(s, &actor.token, MISSING, &how).await;
            if seen != missing {
                failures.push(format!(
                    "{} ({}) may not see {room}: {} {} got {seen}, a missing room gets {missing}",
                    actor.role, actor.name, how.0, how.1
                ));
            }
        }
    }
    for actor in actors {
        for probe in PROBES {
            let seen = observe(s, &actor.token, room, probe).await;
            if actor.sees {
                if !admitted(probe, &seen, actor.name, first_message) {
                    failures.push(format!(
                        "{} ({}) may see {room}, but {probe:?} got {seen}",
                        actor.role, actor.name
                    ));
                }
            } else {
                let missing = observe(s, &actor.token, MISSING, probe).await;
                if seen != missing {
                    failures.push(format!(
                        "{} ({}) may not see {room}: {probe:?} got {seen}, a missing room gets {missing}",
                        actor.role, actor.name
                    ));
                }
            }
        }
    }
    failures
}

/// The room lists: never a members-only room in `GET /rooms` (for anyone,
/// with or without detail); in `GET /users/me/rooms` exactly for members.
async fn lists(s: &TestServer, room: &str, actors: &[Actor], members: &[&str]) -> Vec<String> {
    let mut failures = Vec::new();
    let mut askers: Vec<(&str, Option<&str>)> = vec![("anonymous", None)];
    askers.extend(actors.iter().map(|a| (a.role, Some(a.token.as_str()))));
    for (who, token) in &askers {
        for path in ["/rooms", "/rooms?detail=true"] {
            let (status, body) = s.get_json(path, *token).await;
            if status != 200 || body.to_string().contains(room) {
                failures.push(format!("{who}: GET {path} shows {room}: {status} {body}"));
            }
        }
    }
    for actor in actors {
        let (status, body) = s.get_json("/users/me/rooms", Some(&actor.token)).await;
        let listed = body["rooms"]
            .as_array()
            .is_some_and(|rooms| rooms.iter().any(|r| r["name"] == room));
        let member = members.contains(&actor.name);
        if status != 200 || listed != member {
            failures.push(format!(
                "{} ({}): GET /users/me/rooms lists {room}: {listed}, a member: {member}; {status} {body}",
                actor.role, actor.name
            ));
        }
    }
    failures
}

/// Reads `watcher` (subscribed to `room`) up to the message `marker` and
/// says which of `hidden` showed up in anything it got: presence, typing,
/// messages.
async fn leaks_to(watcher: &mut Ws, marker: &str, hidden: &[&str]) -> Vec<String> {
    let mut failures = Vec::new();
    loop {
        let v = next_json(watcher).await;
        let text = v.to_string();
        for name in hidden {
            if text.contains(&format!("\"{name}\"")) {
                failures.push(format!("a room member's socket heard of {name}: {v}"));
            }
        }
        if v["type"] == "message" && v["content"] == marker {
            return failures;
        }
    }
}

fn report(failures: &[String]) {
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_room_is_a_missing_room_to_all_but_its_members_and_admins() {
    let s = spawn_with(|c| c.rate_limit = 0).await;
    let owner = s.user("pr-owner").await;
    let member = s.user("pr-member").await;
    let kicked = s.user("pr-kicked").await;
    let banned = s.user("pr-banned").await;
    let outsider = s.user("pr-outsider").await;
    let admin = s.user("pr-admin").await;
    s.make_admin("pr-admin").await;
    let (_, me) = s.get_json("/users/me", Some(&admin)).await;
    assert_eq!(me["admin"], true, "{me}");

    let room = "hideout";
    let created = s.create_room(&owner, room, "private").await;
    assert_eq!(created["visibility"], "private", "{created}");
    for name in ["pr-member", "pr-kicked", "pr-banned"] {
        s.invite(&owner, room, name).await;
    }
    // Removed before the owner's socket subscribes: what it hears later
    // is all from the probes.
    let (status, body) = s
        .delete(&format!("/rooms/{room}/members/pr-kicked"), Some(&owner))
        .await;
    assert_eq!(status, 204, "kick: {body}");
    let (status, body) = s
        .post_json(
            &format!("/rooms/{room}/bans"),
            Some(&owner),
            &json!({"username": "pr-banned", "reason": "testing"}),
        )
        .await;
    assert_eq!(status, 201, "ban: {body}");
    let mut watcher = s.v1("/ws", &owner).await;
    v1_join(&mut watcher, room).await;
    v1_say(&mut watcher, room, "pr-first").await;

    let actors = [
        Actor {
            role: "non-member",
            name: "pr-outsider",
            token: outsider.clone(),
            sees: false,
        },
        Actor {
            role: "member",
            name: "pr-member",
            token: member.clone(),
            sees: true,
        },
        Actor {
            role: "kicked member",
            name: "pr-kicked",
            token: kicked,
            sees: false,
        },
        Actor {
            role: "banned member",
            name: "pr-banned",
            token: banned,
            sees: false,
        },
        Actor {
            role: "admin",
            name: "pr-admin",
            token: admin.clone(),
            sees: true,
        },
        Actor {
            role: "owner",
            name: "pr-owner",
            token: owner.clone(),
            sees: true,
        },
    ];
    let mut failures = matrix(&s, room, &actors, "pr-first", "pr-member").await;

    // Anonymous: the same 404 as for a missing room.
    let anonymous = http(s.get_json(&format!("/rooms/{room}"), None).await);
    let anonymous_missing = http(s.get_json(&format!("/rooms/{MISSING}"), None).await);
    let masked: Value =
        serde_json::from_str(&anonymous.to_string().replace(room, "<room>")).unwrap();
    let masked_missing: Value =
        serde_json::from_str(&anonymous_missing.to_string().replace(MISSING, "<room>")).unwrap();
    if masked != masked_missing {
        failures.push(format!(
            "anonymous: GET /rooms/{room} got {anonymous}, a missing room gets {anonymous_missing}"
        ));
    }

    failures.extend(lists(&s, room, &actors, &["pr-member", "pr-owner"]).await);
    // The admin read and subscribed without becoming a member.
    let (_, members) = s
        .get_json(&format!("/rooms/{room}/members"), Some(&owner))
        .await;
    let names: Vec<&str> = members["members"]
        .as_array()
        .map(|m| m.iter().filter_map(|m| m["username"].as_str()).collect())
        .unwrap_or_default();
    if names != ["pr-owner", "pr-member"] {
        failures.push(format!("members after the probes: {members}"));
    }

    // Presence: an outsider's socket that tried to subscribe is not in the room.
    let mut lurker = s.v1("/ws", &outsider).await;
    let refused = v1_subscribe(&mut lurker, room, None).await;
    assert_eq!(refused["type"], "error", "{refused}");
    let mut present = s.v1("/ws", &member).await;
    let subscribed = v1_join(&mut present, room).await;
    let presence = subscribed["presence"].to_string();
    if presence.contains("pr-outsider") || !presence.contains("pr-member") {
        failures.push(format!("v1 presence of {room}: {subscribed}"));
    }
    let (status, info) = s.get_json(&format!("/rooms/{room}"), Some(&member)).await;
    let online = info["online"].to_string();
    if status != 200 || online.contains("pr-outsider") || !online.contains("pr-member") {
        failures.push(format!("GET /rooms/{room} online: {status} {info}"));
    }
    // Nothing of what the hidden actors tried (typing, sending, coming
    // online) reached the room: the member's typing and a marker do.
    send_json(&mut present, json!({"type": "typing", "room": room})).await;
    v1_say(&mut present, room, "pr-marker").await;
    failures.extend(
        leaks_to(
            &mut watcher,
            "pr-marker",
            &["pr-outsider", "pr-kicked", "pr-banned"],
        )
        .await,
    );
    drop(lurker);
    report(&failures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_direct_room_is_a_missing_room_to_everyone_outside_it_admins_included() {
    let s = spawn_with(|c| c.rate_limit = 0).await;
    let opener = s.user("dm-opener").await;
    let member = s.user("dm-member").await;
    let leaver = s.user("dm-leaver").await;
    let outsider = s.user("dm-outsider").await;
    let admin = s.user("dm-admin").await;
    s.make_admin("dm-admin").await;

    let room = s.dm(&opener, &["dm-member", "dm-leaver"]).await;
    let (status, body) = s
        .post_json(&format!("/rooms/{room}/leave"), Some(&leaver), &json!({}))
        .await;
    assert_eq!(status, 204, "leave the DM: {body}");
    let mut watcher = s.v1("/ws", &opener).await;
    v1_join(&mut watcher, &room).await;
    v1_say(&mut watcher, &room, "dm-first").await;

    let actors = [
        Actor {
            role: "non-member",
            name: "dm-outsider",
            token: outsider.clone(),
            sees: false,
        },
        Actor {
            role: "member",
            name: "dm-member",
            token: member.clone(),
            sees: true,
        },
        Actor {
            role: "member who left",
            name: "dm-leaver",
            token: leaver,
            sees: false,
        },
        Actor {
            role: "admin (not in it)",
            name: "dm-admin",
            token: admin,
            sees: false,
        },
        Actor {
            role: "opener",
            name: "dm-opener",
            token: opener.clone(),
            sees: true,
        },
    ];
    let mut failures = matrix(&s, &room, &actors, "dm-first", "dm-member").await;
    failures.extend(lists(&s, &room, &actors, &["dm-member", "dm-opener"]).await);

    // A member's list shows the others in the DM.
    let (_, mine) = s.get_json("/users/me/rooms", Some(&member)).await;
    let entry = mine["rooms"]
        .as_array()
        .and_then(|rooms| rooms.iter().find(|r| r["name"] == room.as_str()).cloned());
    match entry {
        Some(entry) if entry["visibility"] == "direct" && entry["members"] == json!(["dm-opener"]) => {}
        other => failures.push(format!(
            "dm-member's GET /users/me/rooms entry for the DM: {other:?} (expected visibility direct, members [\"dm-opener\"], the leaver gone)"
        )),
    }

    let mut present = s.v1("/ws", &member).await;
    v1_join(&mut present, &room).await;
    send_json(&mut present, json!({"type": "typing", "room": room})).await;
    v1_say(&mut present, &room, "dm-marker").await;
    failures.extend(
        leaks_to(
            &mut watcher,
            "dm-marker",
            &["dm-outsider", "dm-leaver", "dm-admin"],
        )
        .await,
    );
    report(&failures);
}
