//! Access tokens: JWT, HS256 only (the algorithm is pinned when verifying, so
//! a token cannot choose a weaker one), with the user id in `sub` and the
//! session in `sid`. A token without a session (issued before sessions
//! existed) is not valid: it could not be ended.
//!
//! The signing key comes from `PALAVER_JWT_SECRET` or, failing that, from
//! `<data-dir>/jwt.key`, generated at first start with mode 0600. It is never
//! a constant in the code and never logged.

use super::AuthError;
use crate::model::User;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Shortest accepted secret: 256 bits, HS256's own strength.
pub const MIN_SECRET_BYTES: usize = 32;
const KEY_FILE: &str = "jwt.key";

/// Key material that refuses to be printed.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Where the key came from; shown at start-up (never the key itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    Environment,
    File,
    Generated,
}

/// Picks the signing key: the given secret if any, else the data dir's key
/// file, created on first start.
pub fn load_key(
    secret: Option<&Secret>,
    data_dir: &Path,
) -> Result<(Secret, KeySource), AuthError> {
    if let Some(secret) = secret {
        if secret.0.len() < MIN_SECRET_BYTES {
            return Err(AuthError::Key(format!(
                "PALAVER_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes"
            )));
        }
        return Ok((secret.clone(), KeySource::Environment));
    }
    let path = data_dir.join(KEY_FILE);
    match std::fs::read(&path) {
        Ok(bytes) if bytes.len() >= MIN_SECRET_BYTES => {
            return Ok((Secret(bytes), KeySource::File));
        }
        Ok(_) => {
            return Err(AuthError::Key(format!(
                "{} is shorter than {MIN_SECRET_BYTES} bytes",
                path.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(AuthError::Key(format!("{}: {e}", path.display()))),
    }
    let mut bytes = vec![0u8; 64];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&path)
        .map_err(|e| AuthError::Key(format!("{}: {e}", path.display())))?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| AuthError::Key(format!("{}: {e}", path.display())))?;
    Ok((Secret(bytes), KeySource::Generated))
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    name: String,
    sid: i64,
    iat: u64,
    exp: u64,
}

/// What a valid token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub user: i64,
    pub session: i64,
    /// Seconds since the Unix epoch.
    pub expires_at: u64,
}

/// A token just issued.
pub struct Issued {
    pub token: String,
    /// Seconds since the Unix epoch.
    pub expires_at: u64,
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

impl Tokens {
    /// `leeway` counts in whole seconds, as the token's own times do.
    pub fn new(secret: &Secret, ttl: Duration, leeway: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = leeway.as_secs();
        Self {
            encoding: EncodingKey::from_secret(&secret.0),
            decoding: DecodingKey::from_secret(&secret.0),
            validation,
            ttl,
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn issue(&self, user: &User, session: i64) -> Result<Issued, AuthError> {
        let now = unix_now();
        let claims = Claims {
            sub: user.id.to_string(),
            name: user.username.clone(),
            sid: session,
            iat: now,
            exp: now + self.ttl.as_secs(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| AuthError::Key(e.to_string()))?;
        Ok(Issued {
            token,
            expires_at: claims.exp,
        })
    }

    /// Who a valid, unexpired token was issued to, and for which session.
    pub fn verify(&self, token: &str) -> Result<Verified, AuthError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| AuthError::InvalidToken)?;
        Ok(Verified {
            user: data
                .claims
                .sub
                .parse()
                .map_err(|_| AuthError::InvalidToken)?,
            session: data.claims.sid,
            expires_at: data.claims.exp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEEWAY: Duration = Duration::from_secs(5);

    fn tokens(ttl: u64) -> Tokens {
        Tokens::new(&Secret(vec![7; 32]), Duration::from_secs(ttl), LEEWAY)
    }

    #[test]
    fn round_trip_and_tamper() {
        let t = tokens(60);
        let user = User {
            id: 42,
            username: "ann".into(),
        };
        let issued = t.issue(&user, 7).unwrap();
        let token = issued.token;
        let verified = t.verify(&token).unwrap();
        assert_eq!((verified.user, verified.session), (42, 7));
        assert_eq!(verified.expires_at, issued.expires_at);
        let other = Tokens::new(&Secret(vec![8; 32]), Duration::from_secs(60), LEEWAY);
        assert!(other.verify(&token).is_err());
        assert!(t.verify("not.a.token").is_err());
    }

    #[test]
    fn leeway_decides_how_long_an_expired_token_still_counts() {
        let secret = Secret(vec![7; 32]);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = Claims {
            sub: "42".into(),
            name: "ann".into(),
            sid: 1,
            iat: now - 60,
            exp: now - 3,
        };
        let expired = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(&secret.0),
        )
        .unwrap();
        let lenient = Tokens::new(&secret, Duration::from_secs(60), LEEWAY);
        assert_eq!(lenient.verify(&expired).unwrap().user, 42);
        let strict = Tokens::new(&secret, Duration::from_secs(60), Duration::ZERO);
        assert!(strict.verify(&expired).is_err());
    }

    #[test]
    fn refuses_none_algorithm() {
        // {"alg":"none"} header with valid claims and no signature.
        let header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";
        let claims = "eyJzdWIiOiI0MiIsIm5hbWUiOiJhbm4iLCJpYXQiOjEsImV4cCI6OTk5OTk5OTk5OX0";
        assert!(tokens(60).verify(&format!("{header}.{claims}.")).is_err());
    }

    #[test]
    fn a_token_without_a_session_is_refused() {
        #[derive(Serialize)]
        struct Old {
            sub: String,
            exp: u64,
        }
        let secret = Secret(vec![7; 32]);
        let old = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &Old {
                sub: "42".into(),
                exp: unix_now() + 60,
            },
            &EncodingKey::from_secret(&secret.0),
        )
        .unwrap();
        assert!(tokens(60).verify(&old).is_err());
    }

    #[test]
    fn short_secret_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(load_key(Some(&Secret(vec![1; 31])), dir.path()).is_err());
    }

    #[test]
    fn generated_key_is_private_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let (a, source) = load_key(None, dir.path()).unwrap();
        assert_eq!(source, KeySource::Generated);
        let (b, source) = load_key(None, dir.path()).unwrap();
        assert_eq!(source, KeySource::File);
        assert_eq!(a.0, b.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}

/// Properties of `verify` over hostile and tampered tokens (inputs: `crate::fuzz`).
#[cfg(test)]
mod fuzz {
    use super::*;
    use crate::fuzz;
    use proptest::prelude::*;
    use proptest::sample::{Index, select};
    use serde_json::{Value, json};

    /// The key the corpus's signed tokens were made with (its claims:
    /// sub "1", sid 1, exp 9999999999).
    const CORPUS_KEY: [u8; 32] = [7; 32];
    const LEEWAY: Duration = Duration::from_secs(5);

    fn ours() -> Tokens {
        Tokens::new(
            &Secret(CORPUS_KEY.to_vec()),
            Duration::from_secs(600),
            LEEWAY,
        )
    }

    fn foreign() -> Tokens {
        Tokens::new(&Secret(vec![0x5a; 32]), Duration::from_secs(600), LEEWAY)
    }

    /// Any string: nothing verifies without the key; under the key, only
    /// an HS256 token whose signed claims are the corpus's.
    fn check(token: &str) -> Result<(), TestCaseError> {
        prop_assert!(foreign().verify(token).is_err(), "forged: {token:?}");
        if let Ok(verified) = ours().verify(token) {
            let header = jsonwebtoken::decode_header(token).expect("a verified token has a header");
            prop_assert_eq!(header.alg, Algorithm::HS256);
            let corpus = Verified {
                user: 1,
                session: 1,
                expires_at: 9_999_999_999,
            };
            prop_assert_eq!(verified, corpus);
        }
        Ok(())
    }

    fn signed(claims: &Value, alg: Algorithm) -> String {
        let key = EncodingKey::from_secret(&CORPUS_KEY);
        jsonwebtoken::encode(&Header::new(alg), claims, &key).expect("signs")
    }

    /// A header naming `alg`, over the claims of `token`, signed with HS256
    /// and our key (so only the algorithm check can refuse it).
    fn relabelled(token: &str, header: &str) -> String {
        let claims = token.split('.').nth(1).unwrap_or_default();
        let message = format!("{header}.{claims}");
        let key = EncodingKey::from_secret(&CORPUS_KEY);
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256).expect("signs");
        format!("{message}.{signature}")
    }

    fn claim(valid: impl Strategy<Value = Value>) -> impl Strategy<Value = Option<Value>> {
        prop_oneof![
            4 => valid.prop_map(Some),
            1 => Just(None),
            1 => fuzz::json().prop_map(Some),
        ]
    }

    proptest! {
        #[test]
        fn any_string_is_refused_unless_signed_with_the_key(token in fuzz::text("token")) {
            check(&token)?;
        }

        /// A token we issued, changed anywhere, is refused or still says
        /// exactly what it said (never another user, session or expiry).
        #[test]
        fn a_tampered_token_is_refused_or_unchanged(
            user in any::<i64>(),
            session in any::<i64>(),
            edits in fuzz::edits(),
            swaps in proptest::collection::vec(
                (any::<Index>(), select(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=".to_vec())),
                0..3,
            ),
        ) {
            let tokens = ours();
            let issued = tokens
                .issue(&User { id: user, username: "ann".into() }, session)
                .expect("issues");
            let mut bytes = fuzz::apply(issued.token.clone().into_bytes(), edits);
            for (at, b) in swaps {
                if !bytes.is_empty() {
                    let at = at.index(bytes.len());
                    bytes[at] = b;
                }
            }
            let tampered = String::from_utf8_lossy(&bytes);
            prop_assert!(foreign().verify(&tampered).is_err());
            if let Ok(verified) = tokens.verify(&tampered) {
                let original = Verified { user, session, expires_at: issued.expires_at };
                prop_assert_eq!(verified, original);
            }
        }

        /// HS256 is pinned: the same claims under any other algorithm's
        /// name, correctly signed with our key or not signed at all, are refused.
        #[test]
        fn only_hs256_is_accepted(
            user in any::<i64>(),
            alg in select(vec![Algorithm::HS384, Algorithm::HS512]),
            header in select(vec![
                "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0", // none
                "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9", // RS256
                "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9", // ES256
                "eyJhbGciOiJQUzI1NiIsInR5cCI6IkpXVCJ9", // PS256
                "eyJhbGciOiJoczI1NiIsInR5cCI6IkpXVCJ9", // hs256
                "eyJhbGciOiJIUzI1NiAiLCJ0eXAiOiJKV1QifQ", // "HS256 "
            ]),
        ) {
            let tokens = ours();
            let good = tokens.issue(&User { id: user, username: "ann".into() }, 1).expect("issues");
            prop_assert!(tokens.verify(&good.token).is_ok());
            let claims = json!({"sub": user.to_string(), "name": "ann", "sid": 1, "iat": 1, "exp": good.expires_at});
            prop_assert!(tokens.verify(&signed(&claims, alg)).is_err(), "{alg:?}");
            let relabelled = relabelled(&good.token, header);
            prop_assert!(tokens.verify(&relabelled).is_err(), "{relabelled}");
            let unsigned = relabelled.rsplit_once('.').map(|(m, _)| format!("{m}.")).unwrap_or_default();
            prop_assert!(tokens.verify(&unsigned).is_err(), "{unsigned}");
        }

        /// Correctly signed claims of any shape: accepted exactly when each
        /// is there with its type (a user id in `sub`, a session, a future
        /// `exp`), and then read as they are.
        #[test]
        fn signed_claims_are_read_exactly_or_refused(
            sub in claim(prop_oneof![any::<i64>().prop_map(|n| Value::from(n.to_string())), fuzz::chars().prop_map(Value::from)]),
            name in claim(fuzz::chars().prop_map(Value::from)),
            sid in claim(any::<i64>().prop_map(Value::from)),
            iat in claim(any::<u32>().prop_map(Value::from)),
            exp in claim(prop_oneof![
                (100..1_000_000_000u64).prop_map(|ahead| Value::from(unix_now() + ahead)),
                (100..1_000_000u64).prop_map(|ago| Value::from(unix_now() - ago)),
            ]),
            extra in proptest::option::of(fuzz::json()),
        ) {
            let mut claims = serde_json::Map::new();
            for (key, value) in [("sub", &sub), ("name", &name), ("sid", &sid), ("iat", &iat), ("exp", &exp)] {
                if let Some(value) = value {
                    claims.insert(key.into(), value.clone());
                }
            }
            if let Some(extra) = extra {
                claims.insert("x".into(), extra);
            }
            let token = signed(&Value::Object(claims), Algorithm::HS256);
            let user = sub.as_ref().and_then(Value::as_str).and_then(|s| s.parse::<i64>().ok());
            let session = sid.as_ref().and_then(Value::as_i64);
            let expires_at = exp.as_ref().and_then(Value::as_u64).filter(|e| *e > unix_now());
            let readable = name.as_ref().is_some_and(Value::is_string) && iat.as_ref().is_some_and(Value::is_u64);
            let expected = match (user, session, expires_at) {
                (Some(user), Some(session), Some(expires_at)) if readable => {
                    Some(Verified { user, session, expires_at })
                }
                _ => None,
            };
            prop_assert_eq!(ours().verify(&token).ok(), expected);
        }
    }

    #[test]
    fn corpus() {
        fuzz::replay("token", |bytes| check(&String::from_utf8_lossy(bytes)));
        // The corpus's alg tricks are refused under the very key they were made with.
        for name in [
            "alg-none",
            "alg-hs512",
            "alg-hs384",
            "alg-rs256-hmac",
            "alg-missing",
        ] {
            let (_, token) = fuzz::corpus("token")
                .into_iter()
                .find(|(n, _)| n == name)
                .expect(name);
            assert!(
                ours().verify(&String::from_utf8_lossy(&token)).is_err(),
                "{name}"
            );
        }
    }
}
