//! The chapter's HTTP contract: register, token, users/me, rooms, history.

use crate::helpers::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[tokio::test]
async fn register_then_log_in_then_who_am_i() {
    let s = spawn().await;
    let r = s.register("alice", "correct horse").await;
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["username"], "alice");
    assert!(body["id"].is_i64());
    assert!(body.get("password").is_none() && body.get("password_hash").is_none());

    let r = s.login("alice", "correct horse").await;
    assert_eq!(r.status(), 200);
    let token: Value = r.json().await.unwrap();
    assert_eq!(token["token_type"], "bearer");
    let access = token["access_token"].as_str().unwrap();

    let (status, me) = s.get_json("/users/me", Some(access)).await;
    assert_eq!(status, 200);
    // The chapter's fields, and whether the caller is a server admin.
    assert_eq!(
        me,
        json!({"id": body["id"], "username": "alice", "admin": false})
    );
}

#[tokio::test]
async fn usernames_are_unique_without_regard_to_case() {
    let s = spawn().await;
    assert_eq!(s.register("Alice", "password-1").await.status(), 201);
    let r = s.register("alice", "password-2").await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body, json!({"detail": "Username already registered"}));
    // Either spelling logs the one user in.
    assert_eq!(s.login("ALICE", "password-1").await.status(), 200);
}

#[tokio::test]
async fn registration_input_is_validated() {
    let s = spawn().await;
    for (name, password) in [
        ("al", "long enough"),
        ("has space", "long enough"),
        (&"x".repeat(33) as &str, "long enough"),
        ("bob", "short"),
        ("bob", &"p".repeat(1025) as &str),
    ] {
        let r = s.register(name, password).await;
        assert_eq!(r.status(), 422, "{name:?}/{password:?}");
        let body: Value = r.json().await.unwrap();
        assert!(body["detail"].is_string());
    }
    // Malformed JSON, missing fields, wrong types: 422 with a detail.
    for raw in [
        "{",
        "{}",
        r#"{"username": 5, "password": "long enough"}"#,
        "[]",
    ] {
        let r = s
            .http
            .post(s.url("/register"))
            .header("content-type", "application/json")
            .body(raw)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 422, "{raw}");
        let body: Value = r.json().await.unwrap();
        assert!(body["detail"].is_string(), "{raw}");
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let s = spawn().await;
    let huge = json!({"username": "bob", "password": "x".repeat(64 * 1024)});
    let (status, body) = s.post_json("/register", None, &huge).await;
    assert_eq!(status, 413);
    assert!(body["detail"].is_string());
}

#[tokio::test]
async fn wrong_credentials_get_401_with_www_authenticate() {
    let s = spawn().await;
    s.register("carol", "password-c").await;
    for (name, password) in [
        ("carol", "wrong-password"),
        ("nobody", "password-c"),
        ("x", "y"),
    ] {
        let r = s.login(name, password).await;
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["detail"], "Incorrect username or password");
    }
    // The form needs both fields.
    let r = s
        .http
        .post(s.url("/token"))
        .form(&[("username", "carol")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
}

#[tokio::test]
async fn users_me_needs_a_valid_token() {
    let s = spawn().await;
    let (status, body) = s.get_json("/users/me", None).await;
    assert_eq!(status, 401);
    assert!(body["detail"].is_string());
    let (status, _) = s.get_json("/users/me", Some("not-a-jwt")).await;
    assert_eq!(status, 401);

    // A token signed by another server's key is worthless here.
    let other = spawn().await;
    let foreign = other.user("dave").await;
    s.user("dave").await;
    let (status, _) = s.get_json("/users/me", Some(&foreign)).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let s = spawn_with(|c| {
        c.token_ttl = Duration::from_secs(1);
        c.token_leeway = Duration::ZERO;
    })
    .await;
    let before_issue = Instant::now();
    let token = s.user("erin").await;
    assert_eq!(s.get_json("/users/me", Some(&token)).await.0, 200);
    eventually("the expired token is refused", || async {
        s.get_json("/users/me", Some(&token)).await.0 == 401
    })
    .await;
    // Not before its time: token times are whole seconds, so a 1 s token
    // lives between just over 1 s and 2 s.
    let lived = before_issue.elapsed();
    assert!(lived > Duration::from_secs(1), "refused after {lived:?}");
    // Expired stays expired.
    assert_eq!(s.get_json("/users/me", Some(&token)).await.0, 401);
}

#[tokio::test]
async fn rooms_are_seeded() {
    let s = spawn().await;
    let (status, body) = s.get_json("/rooms", None).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"rooms": ["general", "python", "frontend", "random"]})
    );
}

#[tokio::test]
async fn history_needs_auth_and_a_known_room_and_sane_paging() {
    let s = spawn().await;
    assert_eq!(s.get_json("/messages/general", None).await.0, 401);
    let token = s.user("frank").await;
    let (status, body) = s.get_json("/messages/nope", Some(&token)).await;
    assert_eq!((status, body), (404, json!({"detail": "Room not found"})));
    for query in [
        "skip=-1",
        "limit=-1",
        "limit=1001",
        "limit=abc",
        "skip=99999999999999999999",
    ] {
        let (status, body) = s
            .get_json(&format!("/messages/general?{query}"), Some(&token))
            .await;
        assert_eq!(status, 422, "{query}");
        assert!(body["detail"].is_string(), "{query}");
    }
    let (status, body) = s.get_json("/messages/general", Some(&token)).await;
    assert_eq!((status, body), (200, json!([])));
}

#[tokio::test]
async fn unknown_paths_and_methods_answer_in_json() {
    let s = spawn().await;
    let (status, body) = s.get_json("/nope", None).await;
    assert_eq!((status, body), (404, json!({"detail": "Not Found"})));
    let r = s.http.delete(s.url("/rooms")).send().await.unwrap();
    assert_eq!(r.status(), 405);
}

#[tokio::test]
async fn cross_origin_requests_are_answered() {
    let s = spawn().await;
    let r = s
        .http
        .request(reqwest::Method::OPTIONS, s.url("/token"))
        .header("origin", "null")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    // A page opened from disk (the chapter's client.html) is granted, by name.
    assert_eq!(r.headers()["access-control-allow-origin"], "null");

    let only = spawn_with(|c| c.allowed_origins = vec!["http://chat.example".into()]).await;
    let r = only
        .http
        .get(only.url("/rooms"))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert!(r.headers().get("access-control-allow-origin").is_none());
    let r = only
        .http
        .get(only.url("/rooms"))
        .header("origin", "http://chat.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "http://chat.example"
    );
}
