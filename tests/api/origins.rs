//! Which web pages may use the server: one rule for the WebSocket upgrade
//! (both protocols) and for CORS.

use crate::helpers::*;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

/// The HTTP status of a WebSocket upgrade on `path` from a page at
/// `origin` (none: not a browser), optionally naming `host`; 101 when
/// the socket opened.
async fn upgrade(
    s: &TestServer,
    path: &str,
    token: &str,
    origin: Option<&str>,
    host: Option<&str>,
) -> u16 {
    let mut req = format!("{}{path}?token={token}", s.ws_base)
        .into_client_request()
        .expect("request");
    let headers = req.headers_mut();
    if path == "/ws" {
        headers.insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("palaver.v1"),
        );
    }
    if let Some(origin) = origin {
        headers.insert("origin", HeaderValue::from_str(origin).expect("header"));
    }
    if let Some(host) = host {
        headers.insert("host", HeaderValue::from_str(host).expect("header"));
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((_, response)) => response.status().as_u16(),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let status = response.status().as_u16();
            let body = response
                .body()
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            assert!(body.contains("\"detail\""), "a JSON detail: {body}");
            status
        }
        Err(other) => panic!("upgrade failed: {other}"),
    }
}

async fn cors_grant(s: &TestServer, origin: &str) -> Option<String> {
    let r = s
        .http
        .request(reqwest::Method::OPTIONS, s.url("/rooms"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .expect("preflight");
    r.headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().expect("ascii").to_owned())
}

#[tokio::test]
async fn by_default_the_servers_own_disk_and_local_pages_may_connect_and_no_other() {
    let s = spawn().await;
    let token = s.user("origin-tester").await;
    for path in ["/ws/general", "/ws"] {
        assert_eq!(
            upgrade(&s, path, &token, None, None).await,
            101,
            "no Origin: not a browser"
        );
        for origin in [
            "null",
            "http://localhost:5500",
            "http://127.0.0.1:8000",
            "http://[::1]:3000",
        ] {
            assert_eq!(
                upgrade(&s, path, &token, Some(origin), None).await,
                101,
                "{path} from {origin}"
            );
        }
        // The server's own pages, wherever it is reached.
        let own = upgrade(
            &s,
            path,
            &token,
            Some("https://chat.example.com"),
            Some("chat.example.com"),
        )
        .await;
        assert_eq!(own, 101, "{path} from its own origin");
        for origin in ["https://evil.example", "http://localhost.evil.example"] {
            assert_eq!(
                upgrade(&s, path, &token, Some(origin), None).await,
                403,
                "{path} from {origin}"
            );
        }
    }
    // A refused page learns nothing about its token either.
    assert_eq!(
        upgrade(&s, "/ws", "not-a-token", Some("https://evil.example"), None).await,
        403
    );

    assert_eq!(
        cors_grant(&s, "http://localhost:5500").await.as_deref(),
        Some("http://localhost:5500")
    );
    assert_eq!(cors_grant(&s, "null").await.as_deref(), Some("null"));
    assert_eq!(cors_grant(&s, "https://evil.example").await, None);
}

#[tokio::test]
async fn a_deployment_names_its_origins_and_only_those_and_its_own_may_connect() {
    let s = spawn_with(|c| c.allowed_origins = vec!["https://chat.example.com".into()]).await;
    let token = s.user("origin-tester").await;
    for path in ["/ws/general", "/ws"] {
        assert_eq!(
            upgrade(&s, path, &token, Some("https://chat.example.com"), None).await,
            101
        );
        assert_eq!(upgrade(&s, path, &token, None, None).await, 101);
        for origin in ["null", "http://localhost:5500", "https://evil.example"] {
            assert_eq!(
                upgrade(&s, path, &token, Some(origin), None).await,
                403,
                "{path} from {origin}"
            );
        }
    }
    let own = s.base.clone();
    assert_eq!(
        upgrade(&s, "/ws", &token, Some(&own), None).await,
        101,
        "its own page at {own}"
    );
    assert_eq!(
        cors_grant(&s, "https://chat.example.com").await.as_deref(),
        Some("https://chat.example.com")
    );
    assert_eq!(cors_grant(&s, "http://localhost:5500").await, None);
}

#[tokio::test]
async fn a_malformed_allowed_origin_stops_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = test_config(&dir);
    config.allowed_origins = vec!["chat.example.com".into()];
    match palaver::serve(config).await {
        Err(err) => assert!(err.to_string().contains("--allowed-origins"), "{err}"),
        Ok(_) => panic!("started with an origin that is not one"),
    }
}
