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

/// Whether `host[:port]` names this machine. Strict about the port, as a
/// browser writes it (digits), so that `127.0.0.1:80@evil.example` is not.
fn is_loopback(authority: &str) -> bool {
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((host, "")) => (host, None),
            Some((host, rest)) => match rest.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return false,
            },
            None => return false,
        },
        None => match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        },
    };
    if port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
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
            "http://127.0.0.1:80@evil.example",
            "http://[::1]evil.example",
            "http://[::1]3000",
            "http://localhost:evil",
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

/// Properties of the origin check over hostile `Origin` values (inputs:
/// `crate::fuzz`).
#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::fuzz;
    use proptest::prelude::*;
    use proptest::sample::select;

    const HOST: &str = "chat.example.com";

    /// Written apart from `is_loopback`: `http(s)://HOST[:PORT]` as a
    /// browser serializes an origin, HOST a loopback name or address.
    fn is_loopback_origin(origin: &str) -> bool {
        let Some(rest) = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
        else {
            return false;
        };
        let (host, port) = match rest.strip_prefix('[') {
            Some(v6) => match v6.split_once(']') {
                Some((host, port)) => (host, port),
                None => return false,
            },
            None => match rest.split_once(':') {
                Some((host, port)) => (host, rest.get(host.len()..).unwrap_or(port)),
                None => (rest, ""),
            },
        };
        let port_ok = port.is_empty()
            || port
                .strip_prefix(':')
                .is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        // Every name under `localhost.` is this machine (RFC 6761).
        let host_ok = host == "localhost"
            || host.ends_with(".localhost")
            || host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback());
        port_ok && host_ok
    }

    fn check(origin: &[u8]) -> Result<(), TestCaseError> {
        let Ok(value) = HeaderValue::from_bytes(origin) else {
            return Ok(());
        };
        let host = HeaderValue::from_static(HOST);
        let seen = std::str::from_utf8(origin).map(|o| o.trim().to_ascii_lowercase());
        let own = seen.as_deref().is_ok_and(|o| {
            o.strip_prefix("http://")
                .or_else(|| o.strip_prefix("https://"))
                == Some(HOST)
        });
        let default = OriginPolicy::new(&[]).expect("valid");
        if default.allows(&value, Some(&host)) {
            let o = seen.as_deref().unwrap_or_default();
            prop_assert!(own || o == "null" || is_loopback_origin(o), "allowed {o:?}");
        }
        let named = OriginPolicy::new(&["https://app.example".into()]).expect("valid");
        if named.allows(&value, Some(&host)) {
            prop_assert!(own || seen.as_deref() == Ok("https://app.example"));
        }
        Ok(())
    }

    proptest! {
        #[test]
        fn only_own_disk_and_loopback_origins_pass_by_default(origin in fuzz::bytes("origin")) {
            check(&origin)?;
        }

        #[test]
        fn loopback_origins_as_browsers_write_them_pass(
            scheme in select(vec!["http", "https"]),
            host in prop_oneof![
                Just("localhost".to_owned()),
                "[a-z0-9-]{1,12}".prop_map(|sub| format!("{sub}.localhost")),
                any::<[u8; 3]>().prop_map(|[a, b, c]| format!("127.{a}.{b}.{c}")),
                Just("[::1]".to_owned()),
            ],
            port in proptest::option::of(any::<u16>()),
        ) {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            let origin = format!("{scheme}://{host}{port}");
            prop_assert!(is_loopback_origin(&origin), "{}", origin);
            let policy = OriginPolicy::new(&[]).expect("valid");
            let value = HeaderValue::from_str(&origin).expect("a header");
            prop_assert!(policy.allows(&value, Some(&HeaderValue::from_static(HOST))), "{}", origin);
        }

        #[test]
        fn any_configured_list_is_read_or_refused(list in proptest::collection::vec(fuzz::text("origin"), 0..4)) {
            if let Ok(policy) = OriginPolicy::new(&list) {
                for origin in &policy.allowed {
                    prop_assert!(origin == "*" || origin == "null" || authority(origin).is_some());
                }
            }
        }
    }

    #[test]
    fn corpus() {
        fuzz::replay("origin", check);
    }
}
