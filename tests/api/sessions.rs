//! Login sessions (issue 11, points 1–6): refresh tokens that rotate, logout
//! here and everywhere, the list of sessions, password changes, and what an
//! ended session or an expiring token does to open sockets.

use crate::helpers::*;
use serde_json::{Value, json};
use std::time::Duration;

/// A login: its access and refresh tokens.
struct Login {
    access: String,
    refresh: String,
}

impl Login {
    fn from(body: &Value) -> Self {
        Self {
            access: body["access_token"].as_str().expect("access_token").into(),
            refresh: body["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .into(),
        }
    }
}

async fn login_as(s: &TestServer, username: &str, agent: &str) -> Login {
    let r = s
        .http
        .post(s.url("/token"))
        .header("user-agent", agent)
        .form(&[
            ("username", username),
            ("password", &format!("password-{username}")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    Login::from(&r.json().await.unwrap())
}

async fn refresh(s: &TestServer, refresh_token: &str) -> (u16, Value) {
    s.post_json(
        "/token/refresh",
        None,
        &json!({ "refresh_token": refresh_token }),
    )
    .await
}

async fn me(s: &TestServer, token: &str) -> u16 {
    s.get_json("/users/me", Some(token)).await.0
}

/// A WebSocket upgrade's HTTP status when it is refused.
async fn upgrade_status(s: &TestServer, token: &str) -> Option<u16> {
    let url = format!("{}/ws/general?token={token}", s.ws_base);
    match tokio_tungstenite::connect_async(url).await {
        Ok(_) => None,
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Some(r.status().as_u16()),
        Err(e) => panic!("unexpected upgrade error {e}"),
    }
}

/// The close code and reason the server ends a socket with.
async fn closed_with(ws: &mut Ws) -> (u16, String) {
    let frame = next_close(ws).await.expect("a close frame");
    (u16::from(frame.code), frame.reason.to_string())
}

#[tokio::test]
async fn a_login_gets_a_refresh_token_that_rotates_and_a_reused_one_ends_the_session() {
    let s = spawn().await;
    s.user("ann").await;
    let r = s.login("ann", "password-ann").await;
    let body: Value = r.json().await.unwrap();
    // The chapter's fields are unchanged; OAuth2's others are added.
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 1800, "{body}");
    let first = Login::from(&body);
    assert_eq!(me(&s, &first.access).await, 200);

    let (status, body) = refresh(&s, &first.refresh).await;
    assert_eq!(status, 200, "{body}");
    let second = Login::from(&body);
    assert_ne!(second.refresh, first.refresh);
    assert_eq!(me(&s, &second.access).await, 200);

    // The spent token coming back means a copy exists: the whole session
    // ends, the newest tokens with it.
    let (status, body) = refresh(&s, &first.refresh).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["detail"].as_str().unwrap().contains("log in again"));
    assert_eq!(refresh(&s, &second.refresh).await.0, 401);
    assert_eq!(me(&s, &second.access).await, 401);
    // Other sessions of the user are not touched.
    let other = login_as(&s, "ann", "other").await;
    assert_eq!(me(&s, &other.access).await, 200);
}

#[tokio::test]
async fn refresh_refuses_what_is_not_a_live_refresh_token() {
    let s = spawn().await;
    let (status, body) = refresh(&s, "not-a-token").await;
    assert_eq!(status, 401, "{body}");
    let (status, body) = s.post_json("/token/refresh", None, &json!({})).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["detail"].is_string());
    // An access token is not a refresh token.
    let token = s.user("bob").await;
    assert_eq!(refresh(&s, &token).await.0, 401);
}

#[tokio::test]
async fn logout_ends_this_session_on_http_upgrades_and_open_sockets_of_both_protocols() {
    let s = spawn().await;
    s.user("cat").await;
    let leaving = login_as(&s, "cat", "laptop").await;
    let staying = login_as(&s, "cat", "phone").await;
    let mut v1 = s.v1("/ws/general", &leaving.access).await;
    next_of(&mut v1, "subscribed").await;
    let mut compat = s.compat("general", &leaving.access).await;
    next_text(&mut compat).await;
    let mut other = s.v1("/ws/general", &staying.access).await;
    next_of(&mut other, "subscribed").await;

    let r = s
        .http
        .post(s.url("/logout"))
        .bearer_auth(&leaving.access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);

    assert_eq!(closed_with(&mut v1).await, (4001, "session ended".into()));
    assert_eq!(
        closed_with(&mut compat).await,
        (4001, "session ended".into())
    );
    assert_eq!(me(&s, &leaving.access).await, 401);
    assert_eq!(upgrade_status(&s, &leaving.access).await, Some(401));
    assert_eq!(refresh(&s, &leaving.refresh).await.0, 401);
    // The user's other session lives on, its socket too.
    assert_eq!(me(&s, &staying.access).await, 200);
    send_json(
        &mut other,
        json!({"type": "send", "room": "general", "content": "still here", "client_id": "a"}),
    )
    .await;
    assert_eq!(
        next_of(&mut other, "message").await["content"],
        "still here"
    );
}

#[tokio::test]
async fn logout_everywhere_ends_every_session_of_the_user_and_nobody_elses() {
    let s = spawn().await;
    s.user("dan").await;
    let bystander = s.user("eve").await;
    let a = login_as(&s, "dan", "a").await;
    let b = login_as(&s, "dan", "b").await;
    let mut ws_b = s.v1("/ws/general", &b.access).await;
    next_of(&mut ws_b, "subscribed").await;
    let (status, _) = s
        .post_json("/logout/all", Some(&a.access), &json!({}))
        .await;
    assert_eq!(status, 204);
    assert_eq!(closed_with(&mut ws_b).await.0, 4001);
    assert_eq!(me(&s, &a.access).await, 401);
    assert_eq!(me(&s, &b.access).await, 401);
    assert_eq!(refresh(&s, &b.refresh).await.0, 401);
    assert_eq!(me(&s, &bystander).await, 200);
    // Logging out needs a live session, like any other route.
    let (status, body) = s.post_json("/logout", Some(&a.access), &json!({})).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(s.post_json("/logout/all", None, &json!({})).await.0, 401);
}

#[tokio::test]
async fn the_session_list_shows_each_login_and_one_can_be_ended() {
    let s = spawn().await;
    s.user("fay").await;
    let intruder = s.user("gus").await;
    let old = login_as(&s, "fay", "Old Browser/1.0").await;
    let new = login_as(&s, "fay", "New Browser/2.0").await;
    let mut ws_old = s.v1("/ws/general", &old.access).await;
    next_of(&mut ws_old, "subscribed").await;

    let (status, list) = s.get_json("/users/me/sessions", Some(&new.access)).await;
    assert_eq!(status, 200, "{list}");
    let list = list.as_array().unwrap().clone();
    // The registration's login, and these two.
    assert_eq!(list.len(), 3, "{list:?}");
    assert_eq!(list[0]["user_agent"], "New Browser/2.0", "newest first");
    assert_eq!(list[0]["current"], true);
    assert_eq!(list[1]["current"], false);
    assert_eq!(list[1]["address"], "127.0.0.1");
    for key in ["id", "created_at", "last_used_at"] {
        assert!(!list[1][key].is_null(), "{key} in {list:?}");
    }
    let old_id = list[1]["id"].as_i64().unwrap();

    // Nobody ends another user's session, nor one that does not exist.
    let delete = |token: &str, id: &str| {
        s.http
            .delete(s.url(&format!("/users/me/sessions/{id}")))
            .bearer_auth(token.to_owned())
            .send()
    };
    let r = delete(&intruder, &old_id.to_string()).await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(me(&s, &old.access).await, 200);
    let r = delete(&new.access, "99999").await.unwrap();
    assert_eq!(r.status(), 404);
    let r = delete(&new.access, "not-a-number").await.unwrap();
    assert_eq!(r.status(), 404);
    assert!(r.json::<Value>().await.unwrap()["detail"].is_string());

    let r = delete(&new.access, &old_id.to_string()).await.unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        closed_with(&mut ws_old).await,
        (4001, "session ended".into())
    );
    assert_eq!(me(&s, &old.access).await, 401);
    let (_, list) = s.get_json("/users/me/sessions", Some(&new.access)).await;
    let ids: Vec<i64> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{list}");
    assert!(!ids.contains(&old_id), "{list}");
    // Ended once is ended: a second time finds nothing.
    let r = delete(&new.access, &old_id.to_string()).await.unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn a_password_change_ends_every_other_session_and_keeps_this_one() {
    let s = spawn().await;
    s.user("hal").await;
    let here = login_as(&s, "hal", "here").await;
    let there = login_as(&s, "hal", "there").await;
    let mut ws_there = s.compat("general", &there.access).await;
    next_text(&mut ws_there).await;
    let change =
        |current: &str, new: &str| json!({ "current_password": current, "new_password": new });

    let (status, body) = s
        .post_json(
            "/users/me/password",
            Some(&here.access),
            &change("wrong", "new-password-hal"),
        )
        .await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["detail"], "Current password is wrong");
    let (status, body) = s
        .post_json(
            "/users/me/password",
            Some(&here.access),
            &change("password-hal", "x"),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        me(&s, &there.access).await,
        200,
        "a refused change ends nothing"
    );

    let (status, body) = s
        .post_json(
            "/users/me/password",
            Some(&here.access),
            &change("password-hal", "new-password-hal"),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(
        closed_with(&mut ws_there).await,
        (4001, "session ended".into())
    );
    assert_eq!(me(&s, &there.access).await, 401);
    assert_eq!(me(&s, &here.access).await, 200);
    assert_eq!(s.login("hal", "password-hal").await.status(), 401);
    assert_eq!(s.login("hal", "new-password-hal").await.status(), 200);
}

#[tokio::test]
async fn wrong_current_passwords_count_as_failed_logins() {
    let s = spawn_with(|c| c.login_failures = 3).await;
    let token = s.user("ida").await;
    let body = json!({ "current_password": "guess", "new_password": "whatever-long" });
    // As for logins: the budget's worth and one more are answered, then
    // refused before any hashing.
    for _ in 0..4 {
        let (status, _) = s.post_json("/users/me/password", Some(&token), &body).await;
        assert_eq!(status, 403);
    }
    let (status, body) = s.post_json("/users/me/password", Some(&token), &body).await;
    assert_eq!(status, 429, "{body}");
}

/// A server whose access tokens live `ttl` and whose writers tick often,
/// so that the notice and the expiry come within a test's patience.
async fn short_lived(ttl: Duration) -> TestServer {
    spawn_with(|c| {
        c.token_ttl = ttl;
        c.token_leeway = Duration::ZERO;
        c.ping_interval = Duration::from_millis(500);
    })
    .await
}

#[tokio::test]
async fn a_v1_socket_is_told_to_renew_and_keeps_its_rooms_with_a_fresh_token() {
    // Long enough that a loaded machine finishes the test before the renewed
    // token needs renewing in its turn.
    let s = short_lived(Duration::from_secs(10)).await;
    s.user("jon").await;
    let login = login_as(&s, "jon", "test").await;
    // Logged in first (hashing takes a while): meanwhile the test reads no
    // socket, and pings (every 500 ms here) would go unanswered.
    s.user("kim").await;
    let other = login_as(&s, "kim", "test").await;
    let mut ws = s.v1("/ws/general", &login.access).await;
    next_of(&mut ws, "subscribed").await;

    let notice = next_of(&mut ws, "auth_expiring").await;
    let left = notice["expires_in_ms"].as_u64().expect("expires_in_ms");
    assert!(left <= 10_000, "{notice}");
    let (status, body) = refresh(&s, &login.refresh).await;
    assert_eq!(status, 200, "{body}");
    let renewed = Login::from(&body);
    send_json(
        &mut ws,
        json!({"type": "auth", "token": renewed.access, "ref": 5}),
    )
    .await;
    let answer = next_of(&mut ws, "authenticated").await;
    assert_eq!(answer["ref"], 5);
    assert!(answer["expires_in"].as_u64().unwrap() >= 2, "{answer}");

    // Past the first token's expiry (whole seconds, so up to one more) the
    // socket stays open: read (so that pings are answered) until then; the
    // new token's own notice may come meanwhile.
    let past_expiry = tokio::time::Instant::now() + Duration::from_millis(left + 1100);
    while let Ok(frame) = tokio::time::timeout_at(past_expiry, next_json(&mut ws)).await {
        assert_eq!(frame["type"], "auth_expiring", "{frame}");
    }
    assert_eq!(me(&s, &login.access).await, 401, "the first token expired");
    // A refresh is cheap (no hashing), and kim's first token has expired too.
    let (_, body) = refresh(&s, &other.refresh).await;
    let mut sender = s.compat("general", &Login::from(&body).access).await;
    next_text(&mut sender).await;
    send_text(&mut sender, "after the renewal").await;
    let message = next_of(&mut ws, "message").await;
    assert_eq!(message["content"], "after the renewal");
}

#[tokio::test]
async fn a_v1_socket_that_does_not_renew_is_closed_and_a_chapter_socket_is_not() {
    let s = short_lived(Duration::from_secs(2)).await;
    let token = s.user("lee").await;
    let mut v1 = s.v1("/ws/general", &token).await;
    next_of(&mut v1, "subscribed").await;
    let mut compat = s.compat("general", &token).await;
    next_text(&mut compat).await;
    // Read in the background, so that its pings are answered meanwhile.
    let (lines, mut heard) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let line = next_text(&mut compat).await;
            if lines.send(line).is_err() {
                return;
            }
        }
    });

    next_of(&mut v1, "auth_expiring").await;
    assert_eq!(closed_with(&mut v1).await, (4001, "token expired".into()));
    // The chapter's client cannot renew: its socket lives until its
    // session ends. It still gets the room's messages.
    let other = s.user("max").await;
    let mut sender = s.compat("general", &other).await;
    next_text(&mut sender).await;
    send_text(&mut sender, "to the old socket").await;
    loop {
        let line = tokio::time::timeout(PATIENCE, heard.recv())
            .await
            .expect("in time")
            .expect("the chapter socket is still open");
        if line.ends_with("to the old socket") {
            break;
        }
    }
}

#[tokio::test]
async fn auth_with_a_token_of_another_session_or_a_bad_one_changes_nothing() {
    let s = spawn().await;
    s.user("ned").await;
    let mine = login_as(&s, "ned", "a").await;
    let another = login_as(&s, "ned", "b").await;
    let stranger = s.user("ola").await;
    let mut ws = s.v1("/ws/general", &mine.access).await;
    next_of(&mut ws, "subscribed").await;
    for token in [another.access.as_str(), stranger.as_str(), "garbage"] {
        send_json(&mut ws, json!({"type": "auth", "token": token})).await;
        let refused = next_of(&mut ws, "error").await;
        assert_eq!(refused["code"], "auth_failed", "{refused}");
    }
    send_json(&mut ws, json!({"type": "auth"})).await;
    assert_eq!(next_of(&mut ws, "error").await["code"], "bad_command");
    // An ended session cannot be revived on an open socket.
    let (status, _) = s
        .post_json("/logout", Some(&another.access), &json!({}))
        .await;
    assert_eq!(status, 204);
    send_json(&mut ws, json!({"type": "auth", "token": another.access})).await;
    assert_eq!(next_of(&mut ws, "error").await["code"], "auth_failed");
    send_json(&mut ws, json!({"type": "ping"})).await;
    next_of(&mut ws, "pong").await;
}

#[tokio::test]
async fn sessions_survive_a_restart() {
    let s = spawn().await;
    s.user("pia").await;
    let login = login_as(&s, "pia", "test").await;
    let (dir, config) = s.stop().await;
    let s = start(dir, config).await;
    assert_eq!(me(&s, &login.access).await, 200);
    assert_eq!(refresh(&s, &login.refresh).await.0, 200);
}
