//! User accounts: registering (open, by invite or not at all), logging in,
//! and who a token belongs to; and the invite codes registration may need.
//! The one place above the store that reads or writes users and invites, so
//! that handlers and gateways only ever ask "who is this?".

use super::throttle::Throttle;
use super::token::Tokens;
use super::{AuthError, invite, password};
use crate::config::Registration;
use crate::model::{Password, Timestamp, User, Username};
use crate::store::{Invite, Store, StoreError};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

pub struct Accounts {
    store: Arc<dyn Store>,
    tokens: Tokens,
    throttle: Throttle,
    registration: Registration,
}

/// What a successful login hands out.
pub struct Login {
    pub access_token: String,
    pub expires_in: Duration,
}

impl Accounts {
    pub fn new(
        store: Arc<dyn Store>,
        tokens: Tokens,
        throttle: Throttle,
        registration: Registration,
    ) -> Self {
        Self {
            store,
            tokens,
            throttle,
            registration,
        }
    }

    /// Opens an account for a client at `from` (registrations are budgeted
    /// per address), if this server's registration mode lets it: with
    /// `invite`, `invite` must be a code with a use left, and the account
    /// takes that use.
    pub async fn register(
        &self,
        username: &Username,
        password: Password,
        invite: Option<&str>,
        from: IpAddr,
    ) -> Result<User, AuthError> {
        let invite = match self.registration {
            Registration::Open => None,
            Registration::Closed => return Err(AuthError::RegistrationClosed),
            Registration::Invite => Some(
                invite
                    .filter(|code| !code.trim().is_empty())
                    .ok_or(AuthError::InviteRequired)?,
            ),
        };
        self.throttle.register(from).map_err(AuthError::Throttled)?;
        let Some(code) = invite else {
            return self.open_account(username, password).await;
        };
        // The use is taken first, in one statement, so that two
        // registrations cannot share the last one; and before the name is
        // looked at, so that without a valid code nobody learns which names
        // are taken. A registration that then fails gives it back.
        let redeemed = self
            .store
            .redeem_invite(&invite::hash(code), Timestamp::now())
            .await?
            .ok_or(AuthError::InviteInvalid)?;
        let opened = self.open_account(username, password).await;
        if opened.is_err()
            && let Err(err) = self.store.return_invite(redeemed).await
        {
            tracing::warn!(error = %err, invite = redeemed, "a failed registration kept its invite's use");
        }
        opened
    }

    async fn open_account(
        &self,
        username: &Username,
        password: Password,
    ) -> Result<User, AuthError> {
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

/// Invite codes, for `palaver admin invite` (issue 9 adds admins who create
/// them over HTTP too).
pub struct Invites {
    store: Arc<dyn Store>,
}

/// A code just created: `code` is shown once and kept nowhere.
pub struct CreatedInvite {
    pub code: String,
    pub invite: Invite,
}

impl Invites {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// A new code good for `uses` registrations, for `valid_for` from now
    /// (`None`: until used up).
    pub async fn create(
        &self,
        uses: u32,
        valid_for: Option<Duration>,
    ) -> Result<CreatedInvite, AuthError> {
        let expires_at = valid_for.map(|d| {
            let micros = i64::try_from(d.as_micros()).unwrap_or(i64::MAX);
            Timestamp(Timestamp::now().0.saturating_add(micros))
        });
        let code = invite::generate();
        let invite = self
            .store
            .create_invite(&invite::hash(&code), i64::from(uses), expires_at)
            .await?;
        Ok(CreatedInvite { code, invite })
    }

    /// Every invite, used up and expired ones too, oldest first.
    pub async fn list(&self) -> Result<Vec<Invite>, AuthError> {
        Ok(self.store.invites().await?)
    }
}
