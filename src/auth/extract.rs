//! Pulling the caller's identity out of a request.
//!
//! HTTP routes take `Authorization: Bearer <jwt>`. A WebSocket upgrade also
//! accepts `?token=<jwt>` (the chapter's way) and a subprotocol entry
//! `bearer.<jwt>` (browsers cannot set headers on a WebSocket, and unlike the
//! query string a subprotocol does not end up in access logs).

use axum::http::{HeaderMap, header};

/// Prefix of the subprotocol entry that carries a token.
pub const TOKEN_SUBPROTOCOL_PREFIX: &str = "bearer.";

pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

pub fn subprotocol_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find_map(|p| p.strip_prefix(TOKEN_SUBPROTOCOL_PREFIX))
}

/// Properties of the token extractors over hostile header values (inputs:
/// `crate::fuzz`).
#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::fuzz;
    use axum::http::{HeaderName, HeaderValue};
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::select;

    /// The headers a client could send with these values (a value hyper
    /// would not parse never reaches us).
    fn headers(name: HeaderName, values: &[Vec<u8>]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            if let Ok(value) = HeaderValue::from_bytes(value) {
                map.append(name.clone(), value);
            }
        }
        map
    }

    /// A token is what follows `Bearer ` (any case) in the first
    /// `Authorization` header, without surrounding white space; nothing else is.
    fn check_bearer(values: &[Vec<u8>]) -> Result<(), TestCaseError> {
        let map = headers(header::AUTHORIZATION, values);
        let first = map.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let expected = first.and_then(|v| {
            let scheme = v.get(..7)?;
            scheme
                .eq_ignore_ascii_case("bearer ")
                .then(|| v[7..].trim())
        });
        prop_assert_eq!(bearer_token(&map), expected);
        Ok(())
    }

    /// A token is the rest of the first `bearer.` entry of the
    /// subprotocol lists, in order (white space around an entry is not
    /// part of it); it never holds a separator.
    fn check_subprotocol(values: &[Vec<u8>]) -> Result<(), TestCaseError> {
        let map = headers(header::SEC_WEBSOCKET_PROTOCOL, values);
        let entries: Vec<&str> = map
            .get_all(header::SEC_WEBSOCKET_PROTOCOL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|e| e.trim_matches([' ', '\t']))
            .collect();
        let expected = entries.iter().find_map(|e| e.strip_prefix("bearer."));
        let got = subprotocol_token(&map);
        prop_assert_eq!(got, expected);
        prop_assert!(got.is_none_or(|token| !token.contains(',')));
        Ok(())
    }

    /// What a JWT (or any token68) looks like.
    const TOKEN: &str = "[A-Za-z0-9._~+/-]{1,300}=*";

    proptest! {
        #[test]
        fn bearer_token_of_any_header(values in vec(fuzz::bytes("authorization"), 0..3)) {
            check_bearer(&values)?;
        }

        #[test]
        fn subprotocol_token_of_any_header(values in vec(fuzz::bytes("subprotocol"), 0..3)) {
            check_subprotocol(&values)?;
        }

        #[test]
        fn a_bearer_token_comes_back_as_sent(
            token in TOKEN,
            scheme in "[bB][eE][aA][rR][eE][rR]",
            spaces in " {1,3}",
        ) {
            let map = headers(header::AUTHORIZATION, &[format!("{scheme}{spaces}{token}").into_bytes()]);
            prop_assert_eq!(bearer_token(&map), Some(token.as_str()));
        }

        /// However the client lists its subprotocols (one header or several,
        /// any order, any spacing), its token comes back as sent.
        #[test]
        fn a_subprotocol_token_comes_back_as_sent(
            token in "[A-Za-z0-9._-]{1,300}",
            others in vec(select(vec!["palaver.v1", "chat", "bearer", "x.bearer.y"]), 0..4),
            at in any::<proptest::sample::Index>(),
            split in any::<proptest::sample::Index>(),
            separator in select(vec![",", ", ", " ,\t", ",  "]),
        ) {
            let mut entries: Vec<String> = others.iter().map(|o| (*o).to_owned()).collect();
            entries.insert(at.index(entries.len() + 1), format!("bearer.{token}"));
            let cut = split.index(entries.len() + 1);
            let values: Vec<Vec<u8>> = [&entries[..cut], &entries[cut..]]
                .iter()
                .filter(|part| !part.is_empty())
                .map(|part| part.join(separator).into_bytes())
                .collect();
            let map = headers(header::SEC_WEBSOCKET_PROTOCOL, &values);
            prop_assert_eq!(subprotocol_token(&map), Some(token.as_str()));
        }
    }

    #[test]
    fn corpus() {
        fuzz::replay("authorization", |value| check_bearer(&[value.to_vec()]));
        fuzz::replay("subprotocol", |value| check_subprotocol(&[value.to_vec()]));
    }
}
