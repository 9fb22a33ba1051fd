//! Budgets that refuse abuse: password guessing, mass registration, and
//! sockets hoarded by one user or one address. Addresses are told apart
//! through a trusted proxy's `X-Forwarded-For`, as behind nginx.

use crate::helpers::*;
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// A login as seen from `from` (through the trusted proxy at 127.0.0.1).
async fn login_from(s: &TestServer, from: &str, user: &str, password: &str) -> reqwest::Response {
    s.http
        .post(s.url("/token"))
        .header("x-forwarded-for", from)
        .form(&[("username", user), ("password", password)])
        .send()
        .await
        .expect("login request")
}

async fn refused_for(response: reqwest::Response) -> u64 {
    assert_eq!(response.status(), 429);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("whole seconds");
    let body: Value = response.json().await.expect("JSON");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("try again")),
        "{body}"
    );
    wait
}

#[tokio::test]
async fn guessing_a_password_is_refused_but_the_owner_elsewhere_gets_in() {
    let s = spawn_with(|c| {
        c.login_failures = 3;
        c.trusted_proxies = vec!["127.0.0.1".parse().expect("an address")];
    })
    .await;
    s.register("victim", "the-right-password").await;
    for _ in 0..4 {
        let r = login_from(&s, "203.0.113.5", "victim", "a-wrong-guess").await;
        assert_eq!(r.status(), 401);
    }
    // Past the budget: refused before the password is even checked, the
    // right one too.
    let wait =
        refused_for(login_from(&s, "203.0.113.5", "victim", "the-right-password").await).await;
    assert!((1..=15 * 60).contains(&wait), "{wait}");
    refused_for(login_from(&s, "203.0.113.5", "VICTIM", "a-wrong-guess").await).await;
    // The owner, from somewhere else, is not locked out.
    let r = login_from(&s, "198.51.100.7", "victim", "the-right-password").await;
    assert_eq!(r.status(), 200);
    // Another account from the guessing address still may try.
    s.register("bystander", "bystander-pass").await;
    assert_eq!(
        login_from(&s, "203.0.113.5", "bystander", "bystander-pass")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn an_untrusted_peer_cannot_pick_its_address_to_escape_the_budget() {
    let s = spawn_with(|c| c.login_failures = 2).await; // no trusted proxy
    s.register("target", "target-password").await;
    for n in 0..3 {
        let r = login_from(&s, &format!("192.0.2.{n}"), "target", "wrong-guess").await;
        assert_eq!(r.status(), 401);
    }
    // All three came from 127.0.0.1, whatever they claimed.
    refused_for(login_from(&s, "192.0.2.99", "target", "wrong-guess").await).await;
}

#[tokio::test]
async fn registrations_are_budgeted_per_address() {
    let s = spawn_with(|c| {
        c.registrations_per_address = 2;
        c.trusted_proxies = vec!["127.0.0.1".parse().expect("an address")];
    })
    .await;
    let register = |from: &'static str, name: &'static str| {
        s.http
            .post(s.url("/register"))
            .header("x-forwarded-for", from)
            .json(&json!({"username": name, "password": "password-1"}))
            .send()
    };
    assert_eq!(
        register("203.0.113.1", "signup1")
            .await
            .expect("sent")
            .status(),
        201
    );
    assert_eq!(
        register("203.0.113.1", "signup2")
            .await
            .expect("sent")
            .status(),
        201
    );
    refused_for(register("203.0.113.1", "signup3").await.expect("sent")).await;
    assert_eq!(
        register("203.0.113.2", "signup3")
            .await
            .expect("sent")
            .status(),
        201
    );
}

/// The status of an upgrade on `path` by `token`, as seen from `from`;
/// the socket is returned when it opened.
async fn open_from(s: &TestServer, path: &str, token: &str, from: &str) -> Result<Ws, u16> {
    let mut req = format!("{}{path}?token={token}", s.ws_base)
        .into_client_request()
        .expect("request");
    req.headers_mut().insert(
        "x-forwarded-for",
        HeaderValue::from_str(from).expect("header"),
    );
    if path == "/ws" {
        req.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("palaver.v1"),
        );
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let body = response
                .body()
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            assert!(body.contains("Too many connections"), "{body}");
            Err(response.status().as_u16())
        }
        Err(other) => panic!("upgrade failed: {other}"),
    }
}

#[tokio::test]
async fn one_user_and_one_address_may_hold_only_so_many_sockets() {
    let s = spawn_with(|c| {
        c.max_connections_per_user = 2;
        c.max_connections_per_address = 3;
        c.trusted_proxies = vec!["127.0.0.1".parse().expect("an address")];
    })
    .await;
    let (hoarder, other) = (s.user("hoarder").await, s.user("other").await);
    let first = open_from(&s, "/ws/general", &hoarder, "203.0.113.1")
        .await
        .expect("first");
    let _second = open_from(&s, "/ws", &hoarder, "203.0.113.2")
        .await
        .expect("second");
    for path in ["/ws/general", "/ws"] {
        assert_eq!(
            open_from(&s, path, &hoarder, "203.0.113.3").await.err(),
            Some(429),
            "{path}"
        );
    }
    // Per address: two of other's sockets on .1 make three there.
    let _o1 = open_from(&s, "/ws", &other, "203.0.113.1")
        .await
        .expect("other 1");
    let _o2 = open_from(&s, "/ws", &other, "203.0.113.1")
        .await
        .expect("other 2");
    let third = s.user("third").await;
    assert_eq!(
        open_from(&s, "/ws", &third, "203.0.113.1").await.err(),
        Some(429)
    );
    assert!(open_from(&s, "/ws", &third, "203.0.113.9").await.is_ok());

    // Closing a socket frees its place (once the server has let it go).
    drop(first);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        match open_from(&s, "/ws", &hoarder, "203.0.113.4").await {
            Ok(_) => break,
            Err(status) if tokio::time::Instant::now() < deadline => {
                assert_eq!(status, 429);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(status) => panic!("the place was never freed: {status}"),
        }
    }
}
