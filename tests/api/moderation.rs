//! Issue 12: roles and moderation, from the outside. Invites, the rules of
//! rank, kicks, bans, mutes, direct rooms, deleting rooms, who may create
//! rooms, disabled users and the answers to bad input; both protocols.

use crate::helpers::*;
use futures_util::StreamExt;
use palaver::chat::rooms::{DeletedHistory, RoomCreation};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

fn member(room: &str, user: &str) -> String {
    format!("/rooms/{room}/members/{user}")
}

/// Asserts a refusal: `status`, with a JSON `detail`.
#[track_caller]
fn refused(answer: &(u16, Value), status: u16, what: &str) {
    assert_eq!(answer.0, status, "{what}: {}", answer.1);
    assert!(
        answer.1["detail"].is_string(),
        "{what}: no detail in {}",
        answer.1
    );
}

/// A chapter socket's text frames up to its close, and the close.
async fn texts_until_close(ws: &mut Ws) -> (Vec<String>, (u16, String)) {
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

/// Reads v1 events up to the message `marker`; the events of `kind` seen
/// on the way. Panics if a message with a content of `never` comes.
async fn events_until(ws: &mut Ws, marker: &str, kind: &str, never: &[&str]) -> Vec<Value> {
    let mut seen = Vec::new();
    loop {
        let v = next_json(ws).await;
        if v["type"] == "message" {
            let content = v["content"].as_str().unwrap_or_default();
            assert!(!never.contains(&content), "must never arrive: {v}");
            if content == marker {
                return seen;
            }
        }
        if v["type"] == kind {
            seen.push(v);
        }
    }
}

/// A v1 socket the server has surely registered (a ping answered), so that
/// events for its user reach it.
async fn ready_v1(s: &TestServer, token: &str) -> Ws {
    let mut ws = s.v1("/ws", token).await;
    send_json(&mut ws, json!({"type": "ping", "ref": "ready"})).await;
    next_of(&mut ws, "pong").await;
    ws
}

async fn names(s: &TestServer, room: &str, token: &str) -> Vec<(String, String)> {
    let (status, body) = s
        .get_json(&format!("/rooms/{room}/members"), Some(token))
        .await;
    assert_eq!(status, 200, "members of {room}: {body}");
    body["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| {
            (
                m["username"].as_str().unwrap_or_default().to_owned(),
                m["role"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn an_invite_adds_a_member_and_reaches_their_open_socket() {
    let s = spawn().await;
    let owner = s.user("inv-owner").await;
    let guest = s.user("inv-guest").await;
    let plain = s.user("inv-plain").await;
    let stranger = s.user("inv-stranger").await;
    s.create_room(&owner, "salon", "private").await;
    s.invite(&owner, "salon", "inv-plain").await;

    let mut guest_ws = ready_v1(&s, &guest).await;
    let added = s.invite(&owner, "salon", "inv-guest").await;
    assert_eq!(added["username"], "inv-guest", "{added}");
    assert_eq!(added["role"], "member", "{added}");
    let event = next_of(&mut guest_ws, "room_added").await;
    assert_eq!(event["room"]["name"], "salon", "{event}");
    assert_eq!(event["room"]["visibility"], "private", "{event}");
    assert_eq!(event["room"]["role"], "member", "{event}");
    v1_join(&mut guest_ws, "salon").await;

    let again = json!({"username": "inv-guest"});
    let path = "/rooms/salon/members";
    refused(
        &s.post_json(path, Some(&owner), &again).await,
        409,
        "invite a member again",
    );
    let nobody = json!({"username": "inv-nobody"});
    refused(
        &s.post_json(path, Some(&owner), &nobody).await,
        404,
        "invite nobody",
    );
    let newcomer = json!({"username": "inv-stranger"});
    refused(
        &s.post_json(path, Some(&plain), &newcomer).await,
        403,
        "a member invites",
    );
    refused(
        &s.post_json(path, Some(&stranger), &newcomer).await,
        404,
        "an outsider invites into a private room",
    );
    assert_eq!(
        names(&s, "salon", &owner).await,
        [
            ("inv-owner".into(), "owner".into()),
            ("inv-guest".into(), "member".into()),
            ("inv-plain".into(), "member".into()),
        ],
        "owners first, then by name"
    );
}

#[tokio::test]
async fn ranks_decide_who_acts_on_whom_and_a_room_keeps_an_owner() {
    let s = spawn().await;
    let owner = s.user("rk-owner").await;
    let moderator = s.user("rk-mod").await;
    s.user("rk-mod2").await;
    let plain = s.user("rk-plain").await;
    let room = "guild";
    s.create_room(&owner, room, "private").await;
    for name in ["rk-mod", "rk-mod2", "rk-plain"] {
        s.invite(&owner, room, name).await;
    }
    for name in ["rk-mod", "rk-mod2"] {
        let (status, body) = s
            .patch_json(
                &member(room, name),
                Some(&owner),
                &json!({"role": "moderator"}),
            )
            .await;
        assert_eq!(status, 200, "make {name} a moderator: {body}");
        assert_eq!(body["role"], "moderator", "{body}");
    }

    let promote = json!({"role": "moderator"});
    refused(
        &s.patch_json(&member(room, "rk-plain"), Some(&moderator), &promote)
            .await,
        403,
        "a moderator sets a role",
    );
    refused(
        &s.delete(&member(room, "rk-owner"), Some(&moderator)).await,
        403,
        "a moderator kicks the owner",
    );
    refused(
        &s.delete(&member(room, "rk-mod2"), Some(&moderator)).await,
        403,
        "a moderator kicks a moderator",
    );
    let bans = format!("/rooms/{room}/bans");
    let mutes = format!("/rooms/{room}/mutes");
    for (path, whom, what) in [
        (&bans, "rk-owner", "a moderator bans the owner"),
        (&bans, "rk-mod2", "a moderator bans a moderator"),
        (&mutes, "rk-owner", "a moderator mutes the owner"),
        (&mutes, "rk-mod2", "a moderator mutes a moderator"),
        (&bans, "rk-mod", "a moderator bans themselves"),
    ] {
        let answer = s
            .post_json(path, Some(&moderator), &json!({ "username": whom }))
            .await;
        assert!(
            (400..500).contains(&answer.0) && answer.1["detail"].is_string(),
            "{what}: {answer:?}"
        );
        if whom != "rk-mod" {
            assert_eq!(answer.0, 403, "{what}: {answer:?}");
        }
    }
    refused(
        &s.delete(&member(room, "rk-mod"), Some(&plain)).await,
        403,
        "a member kicks a moderator",
    );
    let own = s.delete(&member(room, "rk-mod"), Some(&moderator)).await;
    assert!(
        (400..500).contains(&own.0) && own.1["detail"].is_string(),
        "a moderator kicks themselves: {own:?}"
    );
    assert_eq!(
        s.delete(&member(room, "rk-plain"), Some(&moderator))
            .await
            .0,
        204,
        "a moderator kicks a member"
    );
    s.invite(&moderator, room, "rk-plain").await;

    // The topic: moderators and up; subscribers hear of it.
    let mut listener = s.v1("/ws", &plain).await;
    v1_join(&mut listener, room).await;
    let topic = json!({"topic": "new topic"});
    let (status, body) = s
        .patch_json(&format!("/rooms/{room}"), Some(&moderator), &topic)
        .await;
    assert_eq!(status, 200, "a moderator sets the topic: {body}");
    assert_eq!(body["topic"], "new topic", "{body}");
    let updated = next_of(&mut listener, "room_updated").await;
    assert_eq!(
        (&updated["room"], &updated["topic"]),
        (&json!(room), &json!("new topic")),
        "{updated}"
    );
    drop(listener);
    refused(
        &s.patch_json(&format!("/rooms/{room}"), Some(&plain), &topic)
            .await,
        403,
        "a member sets the topic",
    );

    // The last owner stays.
    let leave = format!("/rooms/{room}/leave");
    refused(
        &s.post_json(&leave, Some(&owner), &json!({})).await,
        409,
        "the last owner leaves",
    );
    refused(
        &s.patch_json(
            &member(room, "rk-owner"),
            Some(&owner),
            &json!({"role": "member"}),
        )
        .await,
        409,
        "the last owner demotes themselves",
    );
    refused(
        &s.patch_json(
            &member(room, "rk-plain"),
            Some(&owner),
            &json!({"role": "king"}),
        )
        .await,
        422,
        "a role that does not exist",
    );

    // Ownership handed on: then the first owner may go, and the new one
    // is the last.
    let (status, body) = s
        .patch_json(
            &member(room, "rk-plain"),
            Some(&owner),
            &json!({"role": "owner"}),
        )
        .await;
    assert_eq!((status, &body["role"]), (200, &json!("owner")), "{body}");
    refused(
        &s.delete(&member(room, "rk-owner"), Some(&plain)).await,
        403,
        "an owner kicks an owner",
    );
    assert_eq!(
        s.post_json(&leave, Some(&owner), &json!({})).await.0,
        204,
        "one of two owners leaves"
    );
    refused(
        &s.post_json(&leave, Some(&plain), &json!({})).await,
        409,
        "the new last owner leaves",
    );
    assert_eq!(
        s.delete(&member(room, "rk-mod"), Some(&plain)).await.0,
        204,
        "an owner kicks a moderator"
    );
    assert_eq!(
        names(&s, room, &plain).await,
        [
            ("rk-plain".into(), "owner".into()),
            ("rk-mod2".into(), "moderator".into())
        ]
    );
}

#[tokio::test]
async fn a_kicked_member_is_told_unsubscribed_and_hears_nothing_after() {
    let s = spawn_with(|c| c.rate_limit = 0).await;
    let owner = s.user("kk-owner").await;
    let victim = s.user("kk-victim").await;
    let bystander = s.user("kk-bystander").await;
    let room = "den";
    s.create_room(&owner, room, "private").await;
    s.invite(&owner, room, "kk-victim").await;
    s.invite(&owner, room, "kk-bystander").await;

    let mut victim_v1 = s.v1("/ws", &victim).await;
    v1_join(&mut victim_v1, room).await;
    v1_join(&mut victim_v1, "general").await;
    let mut victim_chapter = s.compat(room, &victim).await;
    assert_eq!(
        next_text(&mut victim_chapter).await,
        "User 'kk-victim' joined room 'den'."
    );
    let mut other = s.v1("/ws", &bystander).await;
    v1_join(&mut other, room).await;
    let mut speaker = s.v1("/ws", &owner).await;
    v1_join(&mut speaker, room).await;
    v1_join(&mut speaker, "general").await;

    let (status, body) = s.delete(&member(room, "kk-victim"), Some(&owner)).await;
    assert_eq!(status, 204, "{body}");
    // At once, before anyone could have told the victim's sockets.
    v1_say(&mut speaker, room, "kk-after").await;
    v1_say(&mut speaker, "general", "kk-marker").await;

    let removed = events_until(&mut victim_v1, "kk-marker", "removed", &["kk-after"]).await;
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(removed[0]["room"], room, "{removed:?}");
    assert_eq!(removed[0]["reason"], "kicked", "{removed:?}");
    let (texts, close) = texts_until_close(&mut victim_chapter).await;
    assert!(!texts.iter().any(|t| t.contains("kk-after")), "{texts:?}");
    assert_eq!(close, (4003, "removed from this room".into()));
    // The others get the message, and see the victim go although the
    // victim's socket stays open (for general).
    let (mut heard, mut gone) = (false, false);
    while !(heard && gone) {
        let v = next_json(&mut other).await;
        heard |= v["type"] == "message" && v["content"] == "kk-after";
        let left = v["type"] == "left" && v["user"] == "kk-victim"
            || v["type"] == "presence"
                && v["left"]
                    .as_array()
                    .is_some_and(|l| l.contains(&json!("kk-victim")));
        gone |= left && v["room"] == room;
    }
    eventually(
        "the kicked member is no longer online in the room",
        || async {
            let (_, info) = s.get_json(&format!("/rooms/{room}"), Some(&owner)).await;
            info["online"]
                .as_array()
                .is_some_and(|o| !o.contains(&json!("kk-victim")))
        },
    )
    .await;

    let sent = v1_send(&mut victim_v1, room, "kk-late").await;
    assert_eq!(sent["code"], "not_subscribed", "{sent}");
    send_json(
        &mut victim_v1,
        json!({"type": "typing", "room": room, "ref": "kk-typing"}),
    )
    .await;
    let typing = next_of(&mut victim_v1, "error").await;
    assert_eq!(
        (&typing["code"], &typing["ref"]),
        (&json!("not_subscribed"), &json!("kk-typing")),
        "{typing}"
    );
    let again = v1_subscribe(&mut victim_v1, room, None).await;
    assert_eq!(again["code"], "unknown_room", "{again}");
    assert!(
        !s.contents(room, &owner)
            .await
            .contains(&"kk-late".to_owned())
    );
    refused(
        &s.delete(&member(room, "kk-victim"), Some(&owner)).await,
        404,
        "kick a non-member",
    );
}

#[tokio::test]
async fn a_ban_removes_keeps_out_of_a_public_room_and_lifting_it_lets_back_in() {
    let s = spawn_with(|c| c.rate_limit = 0).await;
    let owner = s.user("bn-owner").await;
    let victim = s.user("bn-victim").await;
    let plain = s.user("bn-plain").await;
    let room = "plaza";
    s.create_room(&owner, room, "public").await;

    let mut victim_v1 = s.v1("/ws", &victim).await;
    v1_join(&mut victim_v1, room).await;
    v1_join(&mut victim_v1, "general").await;
    let mut victim_chapter = s.compat(room, &victim).await;
    next_text(&mut victim_chapter).await;
    let (_, mine) = s.get_json("/users/me/rooms", Some(&victim)).await;
    assert!(
        mine.to_string().contains(room),
        "subscribing made a member: {mine}"
    );
    let mut plain_ws = s.v1("/ws", &plain).await;
    v1_join(&mut plain_ws, room).await;
    let mut speaker = s.v1("/ws", &owner).await;
    v1_join(&mut speaker, room).await;
    v1_join(&mut speaker, "general").await;

    let until = rfc3339_in(3600);
    let (status, ban) = s
        .post_json(
            &format!("/rooms/{room}/bans"),
            Some(&owner),
            &json!({"username": "bn-victim", "reason": "spamming", "until": until}),
        )
        .await;
    assert_eq!(status, 201, "{ban}");
    assert_eq!(ban["username"], "bn-victim", "{ban}");
    assert_eq!(ban["reason"], "spamming", "{ban}");
    assert_eq!(ban["by"], "bn-owner", "{ban}");
    let banned_until = ban["until"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    let asked = chrono::DateTime::parse_from_rfc3339(&until).unwrap();
    assert!(
        banned_until.is_some_and(|t| (t - asked).num_seconds().abs() <= 1),
        "until {until} came back as {}",
        ban["until"]
    );
    v1_say(&mut speaker, room, "bn-after").await;
    v1_say(&mut speaker, "general", "bn-marker").await;

    let removed = events_until(&mut victim_v1, "bn-marker", "removed", &["bn-after"]).await;
    assert_eq!(removed.len(), 1, "{removed:?}");
    assert_eq!(
        (
            &removed[0]["room"],
            &removed[0]["reason"],
            &removed[0]["message"]
        ),
        (&json!(room), &json!("banned"), &json!("spamming")),
        "{removed:?}"
    );
    let (texts, close) = texts_until_close(&mut victim_chapter).await;
    assert!(!texts.iter().any(|t| t.contains("bn-after")), "{texts:?}");
    assert_eq!(close, (4003, "banned from this room".into()));

    // Kept out, every way in; reading too.
    for path in [
        format!("/rooms/{room}/messages"),
        format!("/messages/{room}"),
    ] {
        let answer = s.get_json(&path, Some(&victim)).await;
        assert!(
            (400..500).contains(&answer.0) && answer.1["detail"].is_string(),
            "a banned user reads {path}: {answer:?}"
        );
    }
    let back = v1_subscribe(&mut victim_v1, room, None).await;
    assert_eq!(back["code"], "forbidden", "{back}");
    let join = format!("/rooms/{room}/join");
    refused(
        &s.post_json(&join, Some(&victim), &json!({})).await,
        403,
        "a banned user joins",
    );
    let mut retry = s.compat(room, &victim).await;
    assert_eq!(
        close_of(&mut retry).await,
        (4003, "banned from this room".into())
    );
    refused(
        &s.post_json(
            &format!("/rooms/{room}/members"),
            Some(&owner),
            &json!({"username": "bn-victim"}),
        )
        .await,
        409,
        "invite a banned user",
    );

    let bans_path = format!("/rooms/{room}/bans");
    let (status, bans) = s.get_json(&bans_path, Some(&owner)).await;
    assert_eq!(status, 200, "{bans}");
    let listed = &bans["bans"][0];
    assert_eq!(
        (&listed["username"], &listed["reason"], &listed["by"]),
        (&json!("bn-victim"), &json!("spamming"), &json!("bn-owner")),
        "{bans}"
    );
    assert!(
        listed["created_at"].is_string() && listed["until"].is_string(),
        "{bans}"
    );
    refused(
        &s.get_json(&bans_path, Some(&plain)).await,
        403,
        "a member lists bans",
    );

    let lift = format!("/rooms/{room}/bans/bn-victim");
    refused(
        &s.delete(&lift, Some(&plain)).await,
        403,
        "a member lifts a ban",
    );
    assert_eq!(s.delete(&lift, Some(&owner)).await.0, 204);
    refused(
        &s.delete(&lift, Some(&owner)).await,
        404,
        "lift a lifted ban",
    );
    let (status, joined) = s.post_json(&join, Some(&victim), &json!({})).await;
    assert_eq!(status, 201, "{joined}");
    assert_eq!(joined["role"], "member", "{joined}");
    // Joining over HTTP is announced to the user's open sockets.
    let added = next_of(&mut victim_v1, "room_added").await;
    assert_eq!(added["room"]["name"], room, "{added}");
    assert_eq!(added["room"]["visibility"], "public", "{added}");
    refused(
        &s.post_json(&join, Some(&victim), &json!({})).await,
        409,
        "join twice",
    );
    v1_join(&mut victim_v1, room).await;
    let mut chapter = s.compat(room, &victim).await;
    assert_eq!(
        next_text(&mut chapter).await,
        "User 'bn-victim' joined room 'plaza'."
    );
}

#[tokio::test]
async fn a_ban_with_an_end_ends_by_itself() {
    let s = spawn().await;
    let owner = s.user("bx-owner").await;
    let victim = s.user("bx-victim").await;
    let room = "fleeting";
    s.create_room(&owner, room, "public").await;
    let (status, body) = s
        .post_json(
            &format!("/rooms/{room}/bans"),
            Some(&owner),
            &json!({"username": "bx-victim", "until": rfc3339_in(2)}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let mut ws = s.v1("/ws", &victim).await;
    assert_eq!(v1_subscribe(&mut ws, room, None).await["code"], "forbidden");
    eventually("the ban runs out", || async {
        s.post_json(&format!("/rooms/{room}/join"), Some(&victim), &json!({}))
            .await
            .0
            == 201
    })
    .await;
    v1_join(&mut ws, room).await;
    let (_, bans) = s
        .get_json(&format!("/rooms/{room}/bans"), Some(&owner))
        .await;
    assert_eq!(bans["bans"], json!([]), "only bans in force are listed");
}

#[tokio::test]
async fn a_muted_member_cannot_send_or_type_on_either_protocol_until_unmuted() {
    let s = spawn_with(|c| c.rate_limit = 0).await;
    let owner = s.user("mu-owner").await;
    let muted = s.user("mu-muted").await;
    let watcher = s.user("mu-watcher").await;
    let room = "forum";
    s.create_room(&owner, room, "public").await;

    let mut muted_v1 = s.v1("/ws", &muted).await;
    v1_join(&mut muted_v1, room).await;
    let mut muted_chapter = s.compat(room, &muted).await;
    next_text(&mut muted_chapter).await;
    let mut watch = s.v1("/ws", &watcher).await;
    v1_join(&mut watch, room).await;
    let mut speaker = s.v1("/ws", &owner).await;
    v1_join(&mut speaker, room).await;

    let (status, mute) = s
        .post_json(
            &format!("/rooms/{room}/mutes"),
            Some(&owner),
            &json!({"username": "mu-muted"}),
        )
        .await;
    assert_eq!(status, 201, "{mute}");
    assert_eq!(
        (&mute["username"], &mute["by"]),
        (&json!("mu-muted"), &json!("mu-owner")),
        "{mute}"
    );
    let told = next_of(&mut muted_v1, "muted").await;
    assert_eq!(told["room"], room, "{told}");

    let sent = v1_send(&mut muted_v1, room, "mu-v1").await;
    assert_eq!(sent["code"], "muted", "{sent}");
    send_json(
        &mut muted_v1,
        json!({"type": "typing", "room": room, "ref": "mu-typing"}),
    )
    .await;
    let typing = next_of(&mut muted_v1, "error").await;
    assert_eq!(
        (&typing["code"], &typing["ref"]),
        (&json!("muted"), &json!("mu-typing")),
        "{typing}"
    );
    send_text(&mut muted_chapter, "mu-chapter").await;
    // The chapter's frame is dropped: the next thing either socket of the
    // room hears is a message sent after it.
    v1_say(&mut speaker, room, "mu-marker").await;
    loop {
        let line = next_text(&mut muted_chapter).await;
        assert!(
            !line.contains("mu-chapter"),
            "a muted frame was delivered: {line}"
        );
        if line == "[forum] mu-owner: mu-marker" {
            break;
        }
    }
    loop {
        let v = next_json(&mut watch).await;
        assert!(
            !(v["type"] == "typing" && v["user"] == "mu-muted"),
            "a muted member's typing was delivered: {v}"
        );
        if v["type"] == "message" {
            assert_eq!(
                v["content"], "mu-marker",
                "a muted member's message was delivered"
            );
            break;
        }
    }
    let stored = s.contents(room, &owner).await;
    assert_eq!(
        stored,
        ["mu-marker"],
        "nothing of the muted member was stored"
    );
    let (status, mutes) = s
        .get_json(&format!("/rooms/{room}/mutes"), Some(&owner))
        .await;
    assert_eq!(status, 200, "{mutes}");
    assert_eq!(mutes["mutes"][0]["username"], "mu-muted", "{mutes}");

    let lift = format!("/rooms/{room}/mutes/mu-muted");
    assert_eq!(s.delete(&lift, Some(&owner)).await.0, 204);
    refused(&s.delete(&lift, Some(&owner)).await, 404, "unmute twice");
    assert_eq!(next_of(&mut muted_v1, "unmuted").await["room"], room);
    v1_say(&mut muted_v1, room, "mu-back-v1").await;
    send_text(&mut muted_chapter, "mu-back-chapter").await;
    v1_until_message(&mut watch, room, "mu-back-v1", &[]).await;
    v1_until_message(&mut watch, room, "mu-back-chapter", &[]).await;
}

#[tokio::test]
async fn a_direct_room_is_one_per_set_of_people_and_hidden_from_the_room_list() {
    let s = spawn().await;
    let a = s.user("dr-a").await;
    let b = s.user("dr-b").await;
    let c = s.user("dr-c").await;
    // Eight more, so that one DM has nine others (registered only: a
    // login each would cost a password hash for nothing).
    let extra: Vec<String> = (1..=8).map(|i| format!("dr-x{i}")).collect();
    for name in &extra {
        assert_eq!(s.register(name, "password-12345").await.status(), 201);
    }

    let mut b_ws = ready_v1(&s, &b).await;
    let (status, dm) = s
        .post_json("/dms", Some(&a), &json!({"usernames": ["dr-b", "dr-c"]}))
        .await;
    assert_eq!(status, 201, "{dm}");
    assert_eq!(dm["visibility"], "direct", "{dm}");
    let name = dm["name"].as_str().expect("name").to_owned();
    assert!(
        name.len() == 27
            && name.starts_with("dm-")
            && name[3..].chars().all(|c| c.is_ascii_hexdigit()),
        "{name}"
    );
    let mut everyone: Vec<String> = serde_json::from_value(dm["members"].clone()).expect("members");
    everyone.sort();
    assert_eq!(everyone, ["dr-a", "dr-b", "dr-c"], "{dm}");
    let added = next_of(&mut b_ws, "room_added").await;
    assert_eq!(added["room"]["name"], name.as_str(), "{added}");
    assert_eq!(added["room"]["visibility"], "direct", "{added}");

    for (token, others) in [
        (&b, ["dr-c", "dr-a"]),
        (&c, ["dr-a", "dr-b"]),
        (&a, ["dr-c", "dr-b"]),
    ] {
        let (status, again) = s
            .post_json("/dms", Some(token), &json!({"usernames": others}))
            .await;
        assert_eq!(
            (status, &again["name"]),
            (200, &json!(name)),
            "{others:?}: {again}"
        );
    }
    let pair = s.dm(&a, &["dr-b"]).await;
    assert_ne!(pair, name, "another set, another room");

    let (_, list) = s.get_json("/rooms?detail=true", Some(&a)).await;
    assert!(!list.to_string().contains("dm-"), "{list}");
    let (_, list) = s.get_json("/rooms", Some(&a)).await;
    assert!(!list.to_string().contains("dm-"), "{list}");
    assert_eq!(
        names(&s, &name, &c).await,
        [
            ("dr-a".into(), "member".into()),
            ("dr-b".into(), "member".into()),
            ("dr-c".into(), "member".into())
        ]
    );
    let (_, mine) = s.get_json("/users/me/rooms", Some(&a)).await;
    let entry = mine["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name.as_str())
        .cloned();
    let entry = entry.unwrap_or_else(|| panic!("the DM in {mine}"));
    assert_eq!(
        (&entry["visibility"], &entry["members"]),
        (&json!("direct"), &json!(["dr-b", "dr-c"])),
        "{entry}"
    );

    // Nobody is added to, kicked from or banned from a direct room.
    refused(
        &s.post_json(
            &format!("/rooms/{name}/members"),
            Some(&a),
            &json!({"username": "dr-x1"}),
        )
        .await,
        403,
        "invite into a DM",
    );
    refused(
        &s.delete(&member(&name, "dr-b"), Some(&a)).await,
        403,
        "kick from a DM",
    );
    refused(
        &s.post_json(
            &format!("/rooms/{name}/bans"),
            Some(&a),
            &json!({"username": "dr-b"}),
        )
        .await,
        403,
        "ban from a DM",
    );

    // One to eight others, never oneself.
    let dms = |usernames: Value| {
        let body = json!({ "usernames": usernames });
        let token = a.clone();
        let s = &s;
        async move { s.post_json("/dms", Some(&token), &body).await }
    };
    refused(&dms(json!([])).await, 422, "no one");
    refused(&dms(json!(["dr-a"])).await, 422, "oneself");
    let mut nine = extra.clone();
    nine.push("dr-b".into());
    refused(&dms(json!(nine)).await, 422, "nine others");
    refused(
        &dms(json!(["dr-b", "dr-nobody"])).await,
        404,
        "an unknown user",
    );
    refused(
        &s.post_json("/dms", Some(&a), &json!({})).await,
        422,
        "no list",
    );
    let (status, eight) = dms(json!(extra)).await;
    assert_eq!(status, 201, "eight others: {eight}");
    assert_eq!(
        eight["members"].as_array().map(Vec::len),
        Some(9),
        "{eight}"
    );

    // Leaving is allowed; the same set brings the leaver back.
    assert_eq!(
        s.post_json(&format!("/rooms/{name}/leave"), Some(&c), &json!({}))
            .await
            .0,
        204
    );
    assert_eq!(names(&s, &name, &a).await.len(), 2);
    let (status, back) = s
        .post_json("/dms", Some(&a), &json!({"usernames": ["dr-b", "dr-c"]}))
        .await;
    assert_eq!((status, &back["name"]), (200, &json!(name)), "{back}");
    assert_eq!(names(&s, &name, &c).await.len(), 3);
}

#[tokio::test]
async fn deleting_a_room_closes_its_sockets_and_it_is_gone_everywhere() {
    let s = spawn().await;
    let owner = s.user("dl-owner").await;
    let inside = s.user("dl-member").await;
    let admin = s.user("dl-admin").await;
    s.make_admin("dl-admin").await;
    let room = "doomed";
    s.create_room(&owner, room, "private").await;
    s.invite(&owner, room, "dl-member").await;
    let mut v1 = s.v1("/ws", &inside).await;
    v1_join(&mut v1, room).await;
    v1_say(&mut v1, room, "dl-kept").await;
    let mut chapter = s.compat(room, &inside).await;
    next_text(&mut chapter).await;

    refused(
        &s.delete(&format!("/rooms/{room}"), Some(&inside)).await,
        403,
        "a member deletes the room",
    );
    assert_eq!(
        s.delete(&format!("/rooms/{room}"), Some(&owner)).await.0,
        204
    );
    assert_eq!(next_of(&mut v1, "room_removed").await["room"], room);
    assert_eq!(close_of(&mut chapter).await, (4004, "room deleted".into()));

    let missing = "never-was-12";
    for token in [&owner, &inside] {
        for path in [
            "/rooms/{}",
            "/rooms/{}/messages",
            "/messages/{}",
            "/rooms/{}/members",
        ] {
            let gone = s.get_json(&path.replace("{}", room), Some(token)).await;
            let never = s.get_json(&path.replace("{}", missing), Some(token)).await;
            assert_eq!(gone.0, 404, "{path}: {gone:?}");
            assert_eq!(
                gone.1.to_string().replace(room, "<room>"),
                never.1.to_string().replace(missing, "<room>"),
                "{path}"
            );
        }
        let (_, mine) = s.get_json("/users/me/rooms", Some(token)).await;
        assert!(!mine.to_string().contains(room), "{mine}");
    }
    assert_eq!(
        v1_subscribe(&mut v1, room, None).await["code"],
        "unknown_room"
    );
    let sent = v1_send(&mut v1, room, "dl-late").await;
    assert_eq!(sent["code"], "not_subscribed", "{sent}");
    let mut again = s.compat(room, &inside).await;
    assert_eq!(
        close_of(&mut again).await,
        (1008, "Invalid chat room".into())
    );
    // History is kept by default, so the name stays taken.
    refused(
        &s.post_json("/rooms", Some(&owner), &json!({"name": room}))
            .await,
        409,
        "reuse a deleted room's name",
    );

    // An admin may delete any room; nobody deletes what is not there.
    s.create_room(&owner, "doomed-too", "public").await;
    assert_eq!(s.delete("/rooms/doomed-too", Some(&admin)).await.0, 204);
    refused(
        &s.delete("/rooms/doomed-too", Some(&admin)).await,
        404,
        "delete twice",
    );
}

#[tokio::test]
async fn a_disabled_user_is_logged_out_everywhere_until_enabled() {
    let s = spawn().await;
    let admin = s.user("du-admin").await;
    s.make_admin("du-admin").await;
    let user = s.user("du-user").await;
    let mut v1 = s.v1("/ws/general", &user).await;
    next_of(&mut v1, "subscribed").await;
    let mut chapter = s.compat("general", &user).await;
    next_text(&mut chapter).await;

    refused(
        &s.get_json("/admin/users", Some(&user)).await,
        403,
        "a user lists users",
    );
    refused(
        &s.patch_json(
            "/admin/users/du-admin",
            Some(&user),
            &json!({"disabled": true}),
        )
        .await,
        403,
        "a user disables an admin",
    );
    let (status, users) = s.get_json("/admin/users", Some(&admin)).await;
    assert_eq!(status, 200, "{users}");
    let listed = users["users"].as_array().unwrap();
    let entry = listed
        .iter()
        .find(|u| u["username"] == "du-user")
        .cloned()
        .unwrap_or_else(|| panic!("{users}"));
    assert_eq!(
        (&entry["admin"], &entry["disabled"]),
        (&json!(false), &json!(false)),
        "{entry}"
    );
    assert!(
        entry["id"].is_i64() && entry["created_at"].is_string(),
        "{entry}"
    );
    assert!(
        listed
            .iter()
            .any(|u| u["username"] == "du-admin" && u["admin"] == true),
        "{users}"
    );
    let (_, page) = s.get_json("/admin/users?limit=1", Some(&admin)).await;
    assert_eq!(page["users"].as_array().map(Vec::len), Some(1), "{page}");

    let (status, body) = s
        .patch_json(
            "/admin/users/du-user",
            Some(&admin),
            &json!({"disabled": true}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["disabled"], true, "{body}");
    // Disabling ends the sessions, and an ended session's sockets close
    // with 4001 (the reason is the server's to word).
    for ws in [&mut v1, &mut chapter] {
        let (code, reason) = close_of(ws).await;
        assert_eq!(code, 4001, "closed with {code} {reason:?}");
    }
    assert_eq!(s.get_json("/users/me", Some(&user)).await.0, 401);
    let r = s.login("du-user", "password-du-user").await;
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    assert!(
        (400..500).contains(&status) && body["detail"].is_string(),
        "a disabled login: {status} {body}"
    );

    let (status, body) = s
        .patch_json(
            "/admin/users/du-user",
            Some(&admin),
            &json!({"disabled": false, "admin": true}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["disabled"], &body["admin"]),
        (&json!(false), &json!(true)),
        "{body}"
    );
    let token = s.token("du-user", "password-du-user").await;
    let (_, me) = s.get_json("/users/me", Some(&token)).await;
    assert_eq!(me["admin"], true, "{me}");
    refused(
        &s.patch_json(
            "/admin/users/du-nobody",
            Some(&admin),
            &json!({"disabled": true}),
        )
        .await,
        404,
        "an unknown user",
    );
}

#[tokio::test]
async fn bad_input_is_answered_with_a_detail() {
    let s = spawn().await;
    let owner = s.user("bi-owner").await;
    let outsider = s.user("bi-outsider").await;
    s.create_room(&owner, "tidy", "private").await;
    s.create_room(&owner, "open-tidy", "public").await;
    let rooms = |body: Value| {
        let token = owner.clone();
        let s = &s;
        async move { s.post_json("/rooms", Some(&token), &body).await }
    };
    refused(
        &rooms(json!({"name": "x-secret", "visibility": "secret"})).await,
        422,
        "an unknown visibility",
    );
    refused(
        &rooms(json!({"name": "x-direct", "visibility": "direct"})).await,
        422,
        "a direct room by POST /rooms",
    );
    refused(
        &rooms(json!({"name": "dm-0123456789abcdef01234567"})).await,
        422,
        "a dm- name",
    );
    refused(
        &rooms(json!({"name": "tidy", "visibility": "public"})).await,
        409,
        "a taken name",
    );

    let members = "/rooms/tidy/members";
    refused(
        &s.post_json(members, Some(&owner), &json!({})).await,
        422,
        "an invite without a name",
    );
    refused(
        &s.post_json(members, Some(&owner), &json!({"username": "bi-nobody"}))
            .await,
        404,
        "invite nobody",
    );
    refused(
        &s.post_json(
            "/rooms/bi-nowhere/members",
            Some(&owner),
            &json!({"username": "bi-outsider"}),
        )
        .await,
        404,
        "invite into no room",
    );
    refused(
        &s.patch_json(
            &member("tidy", "bi-outsider"),
            Some(&owner),
            &json!({"role": "member"}),
        )
        .await,
        404,
        "a role for a non-member",
    );
    refused(
        &s.patch_json(
            &member("tidy", "bi-owner"),
            Some(&owner),
            &json!({"role": 3}),
        )
        .await,
        422,
        "a role that is not a string",
    );
    refused(
        &s.delete(&member("tidy", "bi-outsider"), Some(&owner)).await,
        404,
        "kick a non-member",
    );
    let bans = "/rooms/tidy/bans";
    refused(
        &s.post_json(
            bans,
            Some(&owner),
            &json!({"username": "bi-outsider", "until": "tomorrow"}),
        )
        .await,
        422,
        "an until that is no time",
    );
    refused(
        &s.post_json(bans, Some(&owner), &json!({"username": "bi-nobody"}))
            .await,
        404,
        "ban nobody",
    );
    refused(
        &s.delete("/rooms/tidy/bans/bi-outsider", Some(&owner)).await,
        404,
        "lift no ban",
    );
    refused(
        &s.delete("/rooms/tidy/mutes/bi-outsider", Some(&owner))
            .await,
        404,
        "lift no mute",
    );
    refused(
        &s.post_json("/rooms/tidy/join", Some(&outsider), &json!({}))
            .await,
        404,
        "join a private room",
    );
    refused(
        &s.post_json("/rooms/bi-nowhere/join", Some(&outsider), &json!({}))
            .await,
        404,
        "join no room",
    );
    refused(
        &s.post_json("/rooms/open-tidy/join", Some(&owner), &json!({}))
            .await,
        409,
        "join as a member",
    );
    refused(
        &s.post_json("/rooms/open-tidy/leave", Some(&outsider), &json!({}))
            .await,
        404,
        "leave as a non-member",
    );
    refused(
        &s.post_json("/rooms/tidy/leave", Some(&outsider), &json!({}))
            .await,
        404,
        "leave a hidden room",
    );
}

#[tokio::test]
async fn leaving_over_http_unsubscribes_every_socket_of_the_leaver() {
    let s = spawn().await;
    let owner = s.user("lv-owner").await;
    let leaver = s.user("lv-leaver").await;
    let room = "porch";
    s.create_room(&owner, room, "private").await;
    s.invite(&owner, room, "lv-leaver").await;
    let mut v1 = s.v1("/ws", &leaver).await;
    v1_join(&mut v1, room).await;
    let mut chapter = s.compat(room, &leaver).await;
    next_text(&mut chapter).await;

    let (status, body) = s
        .post_json(&format!("/rooms/{room}/leave"), Some(&leaver), &json!({}))
        .await;
    assert_eq!(status, 204, "{body}");
    let removed = next_of(&mut v1, "removed").await;
    assert_eq!(
        (&removed["room"], &removed["reason"]),
        (&json!(room), &json!("left")),
        "{removed}"
    );
    assert_eq!(
        close_of(&mut chapter).await,
        (4003, "left this room".into())
    );
    refused(
        &s.post_json(&format!("/rooms/{room}/leave"), Some(&leaver), &json!({}))
            .await,
        404,
        "leave twice",
    );
    assert_eq!(
        v1_subscribe(&mut v1, room, None).await["code"],
        "unknown_room"
    );
}

#[tokio::test]
async fn admins_make_invite_codes_over_http() {
    let s = spawn().await;
    let admin = s.user("ic-admin").await;
    s.make_admin("ic-admin").await;
    let user = s.user("ic-user").await;
    refused(
        &s.post_json("/admin/invites", Some(&user), &json!({})).await,
        403,
        "a user makes an invite",
    );
    let (status, invite) = s
        .post_json(
            "/admin/invites",
            Some(&admin),
            &json!({"uses": 2, "expires_in_s": 3600}),
        )
        .await;
    assert_eq!(status, 201, "{invite}");
    assert!(
        invite["code"].as_str().is_some_and(|c| c.len() >= 32),
        "{invite}"
    );
    assert_eq!(invite["uses_left"], 2, "{invite}");
    assert!(invite["expires_at"].is_string(), "{invite}");
    let (status, invite) = s
        .post_json("/admin/invites", Some(&admin), &json!({}))
        .await;
    assert_eq!(status, 201, "{invite}");
    assert!(invite["code"].is_string(), "{invite}");

    // The list, as `palaver admin invite list` prints it: never the codes.
    assert_eq!(s.get_json("/admin/invites", Some(&user)).await.0, 403);
    let (status, listed) = s.get_json("/admin/invites", Some(&admin)).await;
    assert_eq!(status, 200, "{listed}");
    let uses: Vec<&Value> = listed["invites"]
        .as_array()
        .expect("a list")
        .iter()
        .map(|i| &i["uses_left"])
        .collect();
    assert_eq!(uses, [&json!(2), &json!(1)], "{listed}");
    assert!(
        !listed
            .to_string()
            .contains(invite["code"].as_str().unwrap())
    );
}

#[tokio::test]
async fn with_room_creation_for_admins_only_others_get_403() {
    let s = spawn_with(|c| c.room_creation = RoomCreation::Admins).await;
    let admin = s.user("rc-admin").await;
    s.make_admin("rc-admin").await;
    let user = s.user("rc-user").await;
    for visibility in ["public", "private"] {
        let name = format!("rc-{visibility}");
        refused(
            &s.post_json(
                "/rooms",
                Some(&user),
                &json!({"name": name, "visibility": visibility}),
            )
            .await,
            403,
            "a user creates a room",
        );
        s.create_room(&admin, &name, visibility).await;
    }
    // Direct rooms are not rooms one creates: anyone may still open one.
    s.dm(&user, &["rc-admin"]).await;
    let (_, list) = s.get_json("/rooms", None).await;
    assert!(list.to_string().contains("rc-public"), "{list}");
}

#[tokio::test]
async fn with_purged_history_a_deleted_rooms_name_is_free_again_and_empty() {
    let s = spawn_with(|c| c.deleted_room_history = DeletedHistory::Purge).await;
    let owner = s.user("pg-owner").await;
    s.create_room(&owner, "passing", "public").await;
    let mut ws = s.v1("/ws", &owner).await;
    v1_join(&mut ws, "passing").await;
    v1_say(&mut ws, "passing", "pg-gone").await;
    assert_eq!(s.delete("/rooms/passing", Some(&owner)).await.0, 204);
    assert_eq!(next_of(&mut ws, "room_removed").await["room"], "passing");
    s.create_room(&owner, "passing", "public").await;
    assert_eq!(s.contents("passing", &owner).await, Vec::<String>::new());
}

#[tokio::test]
async fn an_admin_moderates_a_room_they_are_not_in_but_not_another_admin() {
    let s = spawn().await;
    let owner = s.user("am-owner").await;
    let admin = s.user("am-admin").await;
    s.user("am-other-admin").await;
    s.user("am-plain").await;
    s.make_admin("am-admin").await;
    s.make_admin("am-other-admin").await;
    let room = "annex";
    s.create_room(&owner, room, "private").await;
    s.invite(&owner, room, "am-plain").await;
    s.invite(&owner, room, "am-other-admin").await;

    let (status, body) = s
        .patch_json(
            &member(room, "am-plain"),
            Some(&admin),
            &json!({"role": "moderator"}),
        )
        .await;
    assert_eq!(
        (status, &body["role"]),
        (200, &json!("moderator")),
        "{body}"
    );
    let (status, body) = s
        .post_json(
            &format!("/rooms/{room}/mutes"),
            Some(&admin),
            &json!({"username": "am-plain"}),
        )
        .await;
    assert_eq!(status, 201, "an admin mutes a moderator: {body}");
    assert_eq!(
        s.get_json(&format!("/rooms/{room}/mutes"), Some(&admin))
            .await
            .0,
        200
    );
    refused(
        &s.delete(&member(room, "am-other-admin"), Some(&admin))
            .await,
        403,
        "an admin kicks another admin",
    );
    refused(
        &s.post_json(
            &format!("/rooms/{room}/bans"),
            Some(&admin),
            &json!({"username": "am-other-admin"}),
        )
        .await,
        403,
        "an admin bans another admin",
    );
    assert_eq!(
        s.delete(&member(room, "am-plain"), Some(&admin)).await.0,
        204,
        "an admin kicks a moderator"
    );
    // All that without becoming a member.
    let listed: Vec<String> = names(&s, room, &owner)
        .await
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(listed, ["am-owner", "am-other-admin"]);
}

#[tokio::test]
async fn a_mute_with_an_end_says_so_and_ends_by_itself() {
    let s = spawn().await;
    let owner = s.user("mx-owner").await;
    let muted = s.user("mx-muted").await;
    let room = "hushed";
    s.create_room(&owner, room, "public").await;
    let mut ws = s.v1("/ws", &muted).await;
    v1_join(&mut ws, room).await;
    let (status, body) = s
        .post_json(
            &format!("/rooms/{room}/mutes"),
            Some(&owner),
            &json!({"username": "mx-muted", "until": rfc3339_in(2)}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let told = next_of(&mut ws, "muted").await;
    assert!(told["until"].is_string(), "{told}");
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let answer = v1_send(&mut ws, room, "mx-after").await;
        if answer["type"] == "ack" {
            break;
        }
        assert_eq!(answer["code"], "muted", "{answer}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "still muted after {PATIENCE:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(s.contents(room, &owner).await, ["mx-after"]);
}
