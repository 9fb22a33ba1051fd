//! User accounts: registering, logging in, and who a token belongs to. The
//! one place above the store that reads or writes users, so that handlers
//! and gateways only ever ask "who is this?".

use super::throttle::Throttle;
use super::token::Tokens;
use super::{AuthError, password};
use crate::model::{Password, User, Username};
use crate::store::{Store, StoreError};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

pub struct Accounts {
    store: Arc<dyn Store>,
    tokens: Tokens,
    throttle: Throttle,
}

/// What a successful login hands out.
pub struct Login {
    pub access_token: String,
    pub expires_in: Duration,
}

impl Accounts {
    pub fn new(store: Arc<dyn Store>, tokens: Tokens, throttle: Throttle) -> Self {
        Self {
            store,
            tokens,
            throttle,
        }
    }

    /// Opens an account for a client at `from` (registrations are budgeted
    /// per address).
    pub async fn register(
        &self,
        username: &Username,
        password: Password,
        from: IpAddr,
    ) -> Result<User, AuthError> {
        self.throttle.register(from).map_err(AuthError::Throttled)?;
        // Cheap check first, so that a taken name does not cost a hash; the
        // unique index still decides when two registrations race.
        if self.store.credentials(username).await?.is_some() {
            return Err(AuthError::UsernameTaken);
        }
        let hash = password::hash(password).await?;
        match self.store.create_user(username, &hash).await {
            Ok(user) => Ok(user),
            Err(StoreError::Conflict) => Err(AuthError::UsernameTaken),
            Err(err) => Err(err.into()),
        }
    }

    /// A token for `username` if `password` is theirs; `None` otherwise,
    /// without saying which of the two was wrong. A client at `from` that
    /// failed too often is refused before any hashing.
    pub async fn login(
        &self,
        username: &str,
        password: String,
        from: IpAddr,
    ) -> Result<Option<Login>, AuthError> {
        self.throttle
            .login_allowed(username, from)
            .map_err(AuthError::Throttled)?;
        // A name that could never be registered cannot log in either, but it
        // still costs a verification, so timing does not tell names apart.
        let credentials = match Username::parse(username) {
            Ok(name) => self.store.credentials(&name).await?,
            Err(_) => None,
        };
        let (user, hash) = match credentials {
            Some(c) => (Some(c.user), Some(c.password_hash)),
            None => (None, None),
        };
        let password_ok =
            password.len() <= Password::MAX && password::verify(password, hash).await?;
        match user {
            Some(user) if password_ok => Ok(Some(Login {
                access_token: self.tokens.issue(&user)?,
                expires_in: self.tokens.ttl(),
            })),
            _ => {
                self.throttle.login_failed(username, from);
                Ok(None)
            }
        }
    }

    /// The user a token belongs to, if it is valid and the user still exists.
    pub async fn authenticate(&self, token: Option<&str>) -> Result<User, AuthError> {
        let token = token.ok_or(AuthError::MissingToken)?;
        let id = self.tokens.verify(token)?;
        self.store.user(id).await?.ok_or(AuthError::InvalidToken)
    }
}
