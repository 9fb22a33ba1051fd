//! What a server admin does to accounts, from the command line
//! (`palaver admin user …`) or over HTTP (`/admin/users…`): one function
//! for both, so that the two cannot drift apart.

use super::AuthError;
use crate::model::{Timestamp, Username};
use crate::store::{Account, Store};

/// A change an admin makes to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountChange {
    Promote,
    /// Also ends every session: no open socket keeps an admin's rights.
    Demote,
    /// Ends every session and refuses logins until `Enable`.
    Disable,
    Enable,
}

/// The account after the change, and the sessions it ended (whose sockets
/// the caller closes, when it can).
pub struct Changed {
    pub account: Account,
    pub ended: Vec<i64>,
}

pub async fn change_account(
    store: &dyn Store,
    username: &str,
    change: AccountChange,
) -> Result<Changed, AuthError> {
    let name = Username::parse(username).map_err(|_| AuthError::NoSuchUser)?;
    let mut account = store.account(&name).await?.ok_or(AuthError::NoSuchUser)?;
    let user = account.user.id;
    let now = Timestamp::now();
    let mut ended = Vec::new();
    match change {
        AccountChange::Promote => {
            store.set_admin(user, true).await?;
            account.admin = true;
        }
        AccountChange::Demote => {
            store.set_admin(user, false).await?;
            account.admin = false;
            ended = store.end_sessions(user, None, now).await?;
        }
        AccountChange::Disable => {
            store.set_disabled(user, Some(now)).await?;
            account.disabled_at = Some(now);
            ended = store.end_sessions(user, None, now).await?;
        }
        AccountChange::Enable => {
            store.set_disabled(user, None).await?;
            account.disabled_at = None;
        }
    }
    tracing::info!(user = %account.user.username, ?change, sessions_ended = ended.len(), "account changed");
    Ok(Changed { account, ended })
}
