//! Who is asking: accounts, password hashing, tokens, and pulling a token
//! out of a request.

pub mod accounts;
pub mod admin;
pub mod extract;
pub mod opaque;
pub mod password;
pub mod throttle;
pub mod token;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("not authenticated")]
    MissingToken,
    #[error("could not validate credentials")]
    InvalidToken,
    #[error("refresh token is not valid")]
    InvalidRefresh,
    #[error("current password is wrong")]
    WrongPassword,
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error("signing key: {0}")]
    Key(String),
    #[error("username already registered")]
    UsernameTaken,
    #[error("registration is closed on this server")]
    RegistrationClosed,
    #[error("registration on this server needs an invite code")]
    InviteRequired,
    #[error("invite code is not valid")]
    InviteInvalid,
    /// Right password, but the account may not log in.
    #[error("this account is disabled")]
    Disabled,
    #[error("no such user")]
    NoSuchUser,
    #[error("too many attempts")]
    Throttled(throttle::RetryAfter),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}
