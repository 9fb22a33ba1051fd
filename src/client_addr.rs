//! Who is on the other end of a request: the peer's address or, when the
//! peer is one of the configured trusted proxies (`--trusted-proxy`), the
//! client that proxy names in `Forwarded` or `X-Forwarded-For`. Any other
//! peer's forwarding headers are ignored: a client cannot pick its own
//! address to dodge a limit, or to spend someone else's.
//!
//! A proxy writes one of the two headers and passes the other on as the
//! client sent it. So when both name a client and they disagree, one is the
//! client's own invention, and which one cannot be told: neither is
//! believed, and the client counts as the proxy itself.

use axum::http::HeaderMap;
use std::net::IpAddr;

/// The client's address, for limits and logs.
pub fn client_addr(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    match (
        nearest(&forwarded_for(headers), trusted),
        nearest(&x_forwarded_for(headers), trusted),
    ) {
        (Some(a), Some(b)) if a != b => peer,
        (Some(client), _) | (None, Some(client)) => client,
        (None, None) => peer,
    }
}

/// The client a list of hops names. Nearest hop last: walk back from the
/// proxy we trust to the first address that is not one of ours.
fn nearest(hops: &[IpAddr], trusted: &[IpAddr]) -> Option<IpAddr> {
    hops.iter()
        .rev()
        .find(|hop| !trusted.contains(hop))
        .or(hops.first())
        .copied()
}

/// The values of a header, in order. Bytes that are not text stay in the
/// entry they are in (as U+FFFD): a client's junk must not hide the entry
/// its proxy appended.
fn values(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect()
}

/// The `for=` addresses of RFC 7239 `Forwarded` headers, in order.
fn forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    values(headers, "forwarded")
        .iter()
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                name.eq_ignore_ascii_case("for")
                    .then(|| parse_node(value))?
            })
        })
        .collect()
}

fn x_forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    values(headers, "x-forwarded-for")
        .iter()
        .flat_map(|v| v.split(','))
        .filter_map(parse_node)
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:4711`, `"[2001:db8::1]:4711"`, `2001:db8::1`.
fn parse_node(raw: &str) -> Option<IpAddr> {
    let node = raw.trim().trim_matches('"');
    if let Ok(ip) = node.parse() {
        return Some(ip);
    }
    if let Some(v6) = node.strip_prefix('[') {
        return v6.split(']').next()?.parse().ok();
    }
    node.rsplit_once(':')?.0.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("an address")
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).expect("header"));
        }
        map
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let h = headers(&[("x-forwarded-for", "1.2.3.4"), ("forwarded", "for=5.6.7.8")]);
        assert_eq!(
            client_addr(ip("9.9.9.9"), &h, &[ip("10.0.0.1")]),
            ip("9.9.9.9")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_nearest_untrusted_hop_is_the_client() {
        let proxy = ip("10.0.0.1");
        // The client put a fake first entry; the proxy appended the real peer.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 203.0.113.7")]);
        assert_eq!(client_addr(proxy, &h, &[proxy]), ip("203.0.113.7"));
        let h = headers(&[(
            "forwarded",
            r#"for=6.6.6.6, for="[2001:db8::7]:4711";proto=https"#,
        )]);
        assert_eq!(client_addr(proxy, &h, &[proxy]), ip("2001:db8::7"));
        let two = [proxy, ip("10.0.0.2")];
        let h = headers(&[("x-forwarded-for", "203.0.113.9:5000, 10.0.0.2")]);
        assert_eq!(client_addr(proxy, &h, &two), ip("203.0.113.9"));
        assert_eq!(
            client_addr(proxy, &HeaderMap::new(), &[proxy]),
            proxy,
            "no header: the proxy itself"
        );
    }

    #[test]
    fn the_header_a_proxy_does_not_write_cannot_name_the_client() {
        let proxy = ip("10.0.0.1");
        // nginx appends to X-Forwarded-For and passes the client's Forwarded on.
        let h = headers(&[
            ("forwarded", "for=6.6.6.6"),
            ("x-forwarded-for", "203.0.113.7"),
        ]);
        assert_eq!(client_addr(proxy, &h, &[proxy]), proxy);
        // Both agree (a proxy that writes both): that client.
        let h = headers(&[
            ("forwarded", "for=203.0.113.7"),
            ("x-forwarded-for", "203.0.113.7"),
        ]);
        assert_eq!(client_addr(proxy, &h, &[proxy]), ip("203.0.113.7"));
    }
}

/// Properties of the client address over hostile forwarding headers
/// (inputs: `crate::fuzz`).
#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::fuzz;
    use axum::http::HeaderValue;
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::select;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const PROXY: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));

    fn headers(pairs: &[(&'static str, Vec<u8>)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            if let Ok(value) = HeaderValue::from_bytes(value) {
                map.append(*name, value);
            }
        }
        map
    }

    fn address() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(|o| IpAddr::V4(Ipv4Addr::from(o))),
            any::<[u16; 8]>().prop_map(|s| IpAddr::V6(Ipv6Addr::from(s))),
        ]
    }

    /// Hostile header values, and which header each goes in (bytes a
    /// header cannot hold left out: a proxy would refuse the request).
    fn forged() -> impl Strategy<Value = Vec<(&'static str, Vec<u8>)>> {
        let value = fuzz::bytes("forwarded").prop_map(|mut v| {
            v.retain(|b| *b == b'\t' || (b' '..=b'~').contains(b) || *b >= 0x80);
            v
        });
        vec((select(vec!["x-forwarded-for", "forwarded"]), value), 0..3)
    }

    /// The ways an address is written in the two headers.
    fn written(ip: IpAddr, port: u16, style: u8) -> (String, String) {
        let xff = match (ip, style % 3) {
            (_, 0) => ip.to_string(),
            (IpAddr::V4(v4), _) => format!("{v4}:{port}"),
            (IpAddr::V6(v6), 1) => format!("[{v6}]:{port}"),
            (IpAddr::V6(v6), _) => format!("[{v6}]"),
        };
        let forwarded = match ip {
            IpAddr::V4(_) if style.is_multiple_of(2) => format!("for={xff}"),
            _ => format!("for=\"{xff}\""),
        };
        (xff, forwarded)
    }

    /// A proxy appends the peer it saw to its header: a new one, or the end
    /// of the client's.
    fn proxied(
        forged: &[(&'static str, Vec<u8>)],
        header: &'static str,
        entry: &str,
    ) -> Vec<(&'static str, Vec<u8>)> {
        let mut out: Vec<_> = forged
            .iter()
            .filter(|(name, _)| *name != header)
            .cloned()
            .collect();
        let mut theirs: Vec<u8> = forged
            .iter()
            .filter(|(name, _)| *name == header)
            .map(|(_, value)| value.clone())
            .collect::<Vec<_>>()
            .join(&b", "[..]);
        if !theirs.is_empty() {
            theirs.extend_from_slice(b", ");
        }
        theirs.extend_from_slice(entry.as_bytes());
        out.push((header, theirs));
        out
    }

    proptest! {
        /// A peer that is not a trusted proxy is the client, whatever it says.
        #[test]
        fn an_untrusted_peer_is_the_client(peer in address(), forged in forged()) {
            prop_assume!(peer != PROXY);
            prop_assert_eq!(client_addr(peer, &headers(&forged), &[PROXY]), peer);
        }

        /// Behind a trusted proxy, whatever the client put in either header,
        /// its address is the one the proxy saw, or (when the client's
        /// headers contradict the proxy's) the proxy's: never one it chose.
        #[test]
        fn a_client_behind_a_proxy_cannot_choose_its_address(
            real in address(),
            forged in forged(),
            header in select(vec!["x-forwarded-for", "forwarded"]),
            port in any::<u16>(),
            style in any::<u8>(),
        ) {
            prop_assume!(real != PROXY);
            let (xff, forwarded) = written(real, port, style);
            let entry = if header == "forwarded" { forwarded } else { xff };
            let sent = proxied(&forged, header, &entry);
            let got = client_addr(PROXY, &headers(&sent), &[PROXY]);
            prop_assert!(got == real || got == PROXY, "{got} from {sent:?}");
            if forged.iter().all(|(name, _)| *name == header) {
                prop_assert_eq!(got, real, "{:?}", sent);
            }
        }

        /// Every way of writing an address reads back as that address.
        #[test]
        fn addresses_read_back_as_written(ip in address(), port in any::<u16>(), style in any::<u8>()) {
            let (xff, forwarded) = written(ip, port, style);
            prop_assert_eq!(parse_node(&xff), Some(ip), "{}", xff);
            let got = client_addr(PROXY, &headers(&[("forwarded", forwarded.clone().into_bytes())]), &[PROXY]);
            prop_assert_eq!(got, ip, "{}", forwarded);
        }
    }

    #[test]
    fn corpus() {
        let peer = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
        fuzz::replay("forwarded", |value| {
            for name in ["x-forwarded-for", "forwarded"] {
                let map = headers(&[(name, value.to_vec())]);
                prop_assert_eq!(client_addr(peer, &map, &[PROXY]), peer);
                let _ = client_addr(PROXY, &map, &[PROXY]);
            }
            Ok(())
        });
    }
}
