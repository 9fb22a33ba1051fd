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
