//! User accounts: registering (open, by invite or not at all), logging in,
//! login sessions (refresh, logout, the list of them, password changes) and
//! who a token belongs to; and the invite codes registration may need. The
//! one place above the store that reads or writes users, sessions and
//! invites, so that handlers and gateways only ever ask "who is this?".

use super::admin::{AccountChange, change_account};
use super::opaque::{self, INVITE_BYTES, REFRESH_BYTES};
use super::throttle::Throttle;
use super::token::{Tokens, Verified, unix_now};
use super::{AuthError, password};
use crate::config::Registration;
use crate::model::{Password, Timestamp, User, Username};
use crate::store::{Account, Invite, NewSession, Refreshed, Session, Store, StoreError};
use async_trait::async_trait;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// Longest user agent kept with a session; the rest is cut.
const USER_AGENT_CHARS: usize = 256;

/// Told when sessions end, so that their open sockets close (on every
/// node): the tokens are refused from then on by `authenticate` already.
#[async_trait]
pub trait SessionsEnded: Send + Sync {
    async fn sessions_ended(&self, sessions: &[i64]);
}

pub struct Accounts {
    store: Arc<dyn Store>,
    tokens: Tokens,
    throttle: Throttle,
    registration: Registration,
    refresh_ttl: Duration,
    ended: Arc<dyn SessionsEnded>,
}

/// What a successful login or refresh hands out.
pub struct Login {
    pub access_token: String,
    pub expires_in: Duration,
    pub refresh_token: String,
}

/// The caller behind a valid access token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub session: i64,
    /// When the access token expires, in seconds since the Unix epoch.
    pub expires_at: u64,
    /// A server admin (read with the session, at every use of the token).
    pub admin: bool,
}

/// Where a login comes from, as its session remembers it.
pub struct Origin<'a> {
    pub address: IpAddr,
    pub user_agent: Option<&'a str>,
}

impl Accounts {
    pub fn new(
        store: Arc<dyn Store>,
        tokens: Tokens,
        throttle: Throttle,
        registration: Registration,
        refresh_ttl: Duration,
        ended: Arc<dyn SessionsEnded>,
    ) -> Self {
        Self {
            store,
            tokens,
            throttle,
            registration,
            refresh_ttl,
            ended,
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
            .redeem_invite(&opaque::hash(code), Timestamp::now())
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

    /// A new session for `username` if `password` is theirs; `None`
    /// otherwise, without saying which of the two was wrong. A client that
    /// failed too often is refused before any hashing.
    pub async fn login(
        &self,
        username: &str,
        password: String,
        origin: &Origin<'_>,
    ) -> Result<Option<Login>, AuthError> {
        let from = origin.address;
        let Some(user) = self.check_password(username, password, from).await? else {
            return Ok(None);
        };
        let refresh_token = opaque::generate::<REFRESH_BYTES>();
        let user_agent = origin
            .user_agent
            .map(|agent| agent.chars().take(USER_AGENT_CHARS).collect::<String>());
        let address = from.to_string();
        let session = self
            .store
            .create_session(&NewSession {
                user_id: user.id,
                user_agent: user_agent.as_deref(),
                address: Some(&address),
                refresh_hash: &opaque::hash(&refresh_token),
                refresh_expires_at: self.refresh_expiry(),
            })
            .await?;
        self.hand_out(&user, session, refresh_token).map(Some)
    }

    fn refresh_expiry(&self) -> Timestamp {
        let micros = i64::try_from(self.refresh_ttl.as_micros()).unwrap_or(i64::MAX);
        Timestamp(Timestamp::now().0.saturating_add(micros))
    }

    fn hand_out(
        &self,
        user: &User,
        session: i64,
        refresh_token: String,
    ) -> Result<Login, AuthError> {
        let issued = self.tokens.issue(user, session)?;
        Ok(Login {
            access_token: issued.token,
            expires_in: Duration::from_secs(issued.expires_at.saturating_sub(unix_now())),
            refresh_token,
        })
    }

    /// A new access and refresh token for the session of `refresh_token`,
    /// which is spent. A token spent before means a copy is about: the
    /// whole session ends, for the thief and the owner alike.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Login, AuthError> {
        let next = opaque::generate::<REFRESH_BYTES>();
        let outcome = self
            .store
            .refresh(
                &opaque::hash(refresh_token),
                &opaque::hash(&next),
                self.refresh_expiry(),
                Timestamp::now(),
            )
            .await?;
        match outcome {
            Refreshed::Rotated { session, user } => {
                let user = self
                    .store
                    .user(user)
                    .await?
                    .ok_or(AuthError::InvalidRefresh)?;
                self.hand_out(&user, session, next)
            }
            Refreshed::Spent { session, user } => {
                if self
                    .store
                    .end_session(session, user, Timestamp::now())
                    .await?
                {
                    tracing::warn!(
                        session,
                        user,
                        "a spent refresh token came back; session ended"
                    );
                    self.ended.sessions_ended(&[session]).await;
                }
                Err(AuthError::InvalidRefresh)
            }
            Refreshed::Unknown => Err(AuthError::InvalidRefresh),
        }
    }

    /// Ends the caller's own session.
    pub async fn logout(&self, caller: &Caller) -> Result<(), AuthError> {
        self.end_session(&caller.user, caller.session)
            .await
            .map(|_| ())
    }

    /// Ends every session of `user`; the caller's too.
    pub async fn logout_everywhere(&self, user: &User) -> Result<(), AuthError> {
        let ended = self
            .store
            .end_sessions(user.id, None, Timestamp::now())
            .await?;
        self.ended.sessions_ended(&ended).await;
        Ok(())
    }

    /// Ends `session` if it is an open session of `user`; whether it was.
    pub async fn end_session(&self, user: &User, session: i64) -> Result<bool, AuthError> {
        let ended = self
            .store
            .end_session(session, user.id, Timestamp::now())
            .await?;
        if ended {
            self.ended.sessions_ended(&[session]).await;
        }
        Ok(ended)
    }

    /// `user`'s open sessions, newest first.
    pub async fn sessions(&self, user: &User) -> Result<Vec<Session>, AuthError> {
        Ok(self.store.sessions(user.id, Timestamp::now()).await?)
    }

    /// Sets a new password if `current` is the caller's password, and ends
    /// every other session of theirs. Wrong guesses count as failed logins:
    /// a stolen access token must not become a way to try passwords.
    pub async fn change_password(
        &self,
        caller: &Caller,
        current: String,
        new: Password,
        from: IpAddr,
    ) -> Result<(), AuthError> {
        let user = &caller.user;
        if self
            .check_password(&user.username, current, from)
            .await?
            .is_none()
        {
            return Err(AuthError::WrongPassword);
        }
        let hash = password::hash(new).await?;
        self.store.set_password(user.id, &hash).await?;
        let ended = self
            .store
            .end_sessions(user.id, Some(caller.session), Timestamp::now())
            .await?;
        self.ended.sessions_ended(&ended).await;
        Ok(())
    }

    /// The user if `password` is `username`'s, counting failures against
    /// the client at `from`, which is refused before hashing once it failed
    /// too often.
    async fn check_password(
        &self,
        username: &str,
        password: String,
        from: IpAddr,
    ) -> Result<Option<User>, AuthError> {
        self.throttle
            .login_allowed(username, from)
            .map_err(AuthError::Throttled)?;
        // A name that could never be registered cannot log in either, but it
        // still costs a verification, so timing does not tell names apart.
        let credentials = match Username::parse(username) {
            Ok(name) => self.store.credentials(&name).await?,
            Err(_) => None,
        };
        let (user, hash, disabled) = match credentials {
            Some(c) => (Some(c.user), Some(c.password_hash), c.disabled),
            None => (None, None, false),
        };
        let password_ok =
            password.len() <= Password::MAX && password::verify(password, hash).await?;
        match user {
            // Said only to whoever knows the password: nobody else learns
            // that the account exists.
            Some(_) if password_ok && disabled => Err(AuthError::Disabled),
            Some(user) if password_ok => Ok(Some(user)),
            _ => {
                self.throttle.login_failed(username, from);
                Ok(None)
            }
        }
    }

    /// Who an access token belongs to, if it is valid, its session has not
    /// ended and its user still exists: one indexed read, as before
    /// sessions, so an ended session is refused at once on every node.
    pub async fn authenticate(&self, token: Option<&str>) -> Result<Caller, AuthError> {
        let token = token.ok_or(AuthError::MissingToken)?;
        let Verified {
            user,
            session,
            expires_at,
        } = self.tokens.verify(token)?;
        let account = self
            .store
            .session_user(session, user)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        // Disabling ends the account's sessions; this refuses a token of
        // one even if that raced with a login.
        if account.disabled_at.is_some() {
            return Err(AuthError::InvalidToken);
        }
        Ok(Caller {
            user: account.user,
            session,
            expires_at,
            admin: account.admin,
        })
    }

    /// Accounts by id, for admins.
    pub async fn accounts(&self, after: i64, limit: i64) -> Result<Vec<Account>, AuthError> {
        Ok(self.store.accounts(after, limit).await?)
    }

    /// An admin's change to an account; the sessions it ends have their
    /// sockets closed on every node.
    pub async fn change_account(
        &self,
        username: &str,
        change: AccountChange,
    ) -> Result<Account, AuthError> {
        let changed = change_account(self.store.as_ref(), username, change).await?;
        self.ended.sessions_ended(&changed.ended).await;
        Ok(changed.account)
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
        let code = opaque::generate::<INVITE_BYTES>();
        let invite = self
            .store
            .create_invite(&opaque::hash(&code), i64::from(uses), expires_at)
            .await?;
        Ok(CreatedInvite { code, invite })
    }

    /// Every invite, used up and expired ones too, oldest first.
    pub async fn list(&self) -> Result<Vec<Invite>, AuthError> {
        Ok(self.store.invites().await?)
    }
}
