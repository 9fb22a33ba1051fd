//! Which web pages may use the server from a browser: the CORS grant on
//! HTTP and the check on a WebSocket upgrade, one rule for both.
//!
//! A browser sends `Origin` with cross-origin requests and with every
//! WebSocket upgrade; other clients (curl, the bench, apps) send none and
//! are not browsers, so there is nothing to protect them from. By default
//! a page may connect when it is the server's own (`Origin` naming the
//! `Host` it asked), when it was opened from disk (`null`, as the chapter's
//! client.html is), or when it is served from this machine (`localhost`,
//! `127.x`, `[::1]`, any port). Tokens are never cookies, so a page gains
//! nothing from the browser that it does not already hold; the check keeps
//! a foreign page from using a token it has stolen or been handed through
//! the visitor's browser. A deployment names its origins
//! (`--allowed-origins`), and then only those and its own are allowed.

use axum::http::{HeaderMap, HeaderValue, header};

#[derive(Debug, Clone)]
pub struct OriginPolicy {
    /// Empty: the default rule above. Else exact origins (`scheme://host[:port]`,
    /// compared without regard to case), `null`, or `*` for any.
    allowed: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("invalid origin {0:?} in --allowed-origins: give scheme://host[:port], null or *")]
pub struct InvalidOrigin(pub String);

impl OriginPolicy {
    pub fn new(allowed: &[String]) -> Result<Self, InvalidOrigin> {
        let allowed = allowed
            .iter()
            .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
            .filter(|o| !o.is_empty())
            .collect::<Vec<_>>();
        for origin in &allowed {
            let valid = origin == "*" || origin == "null" || authority(origin).is_some();
            if !valid || HeaderValue::from_str(origin).is_err() {
                return Err(InvalidOrigin(origin.clone()));
            }
        }
        Ok(Self { allowed })
    }

    /// Whether a request with these headers may be served to a browser page.
    pub fn allows_request(&self, headers: &HeaderMap) -> bool {
        match headers.get(header::ORIGIN) {
            None => true,
            Some(origin) => self.allows(origin, headers.get(header::HOST)),
        }
    }

    /// Whether the page at `origin` may use the server, asked under `host`.
    pub fn allows(&self, origin: &HeaderValue, host: Option<&HeaderValue>) -> bool {
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        let origin = origin.trim().to_ascii_lowercase();
        let own = host
            .and_then(|h| h.to_str().ok())
            .is_some_and(|host| authority(&origin).is_some_and(|a| a.eq_ignore_ascii_case(host)));
        if own {
            return true;
        }
        if self.allowed.is_empty() {
            return origin == "null" || authority(&origin).is_some_and(is_loopback);
        }
        self.allowed.iter().any(|a| a == "*" || *a == origin)
    }
}

/// `host[:port]` of an `http(s)://` origin.
fn authority(origin: &str) -> Option<&str> {
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))?;
    (!rest.is_empty() && !rest.contains('/')).then_some(rest)
}

fn is_loopback(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(policy: &OriginPolicy, origin: &str, host: &str) -> bool {
        policy.allows(
            &HeaderValue::from_str(origin).expect("header"),
            Some(&HeaderValue::from_str(host).expect("header")),
        )
    }

    #[test]
    fn by_default_own_disk_and_loopback_pages_are_allowed_and_nothing_else() {
        let policy = OriginPolicy::new(&[]).expect("valid");
        for origin in [
            "null",
            "http://localhost:5500",
            "http://127.0.0.1:8000",
            "http://[::1]:3000",
            "https://chat.example.com",
        ] {
            assert!(allows(&policy, origin, "chat.example.com"), "{origin}");
        }
        for origin in [
            "https://evil.example",
            "http://localhost.evil.example",
            "http://127.0.0.1.evil.example",
            "https://chat.example.com.evil",
            "file://",
            "",
        ] {
            assert!(!allows(&policy, origin, "chat.example.com"), "{origin}");
        }
        assert!(
            policy.allows_request(&HeaderMap::new()),
            "no Origin: not a browser"
        );
    }

    #[test]
    fn named_origins_replace_the_default() {
        let policy = OriginPolicy::new(&["https://Chat.Example.com/".into()]).expect("valid");
        assert!(allows(&policy, "https://chat.example.com", "internal:8001"));
        assert!(
            allows(&policy, "http://internal:8001", "internal:8001"),
            "its own origin"
        );
        assert!(!allows(&policy, "null", "internal:8001"));
        assert!(!allows(&policy, "http://localhost:5500", "internal:8001"));
        let any = OriginPolicy::new(&["*".into()]).expect("valid");
        assert!(allows(&any, "https://anywhere.example", "x"));
        assert!(OriginPolicy::new(&["chat.example.com".into()]).is_err());
    }
}
