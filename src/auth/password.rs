//! argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane). Hashing costs
//! tens of milliseconds of CPU, so it runs on the blocking pool, never on the
//! async workers that move messages.

use super::AuthError;
use crate::model::Password;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::OnceLock;
use tokio::sync::Semaphore;

/// At most one hash per core at a time: a burst of logins queues here
/// instead of taking every core (and 19 MiB each) from the chat.
fn hashing_slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| {
        Semaphore::new(std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
    })
}

async fn off_runtime<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, AuthError> + Send + 'static,
) -> Result<T, AuthError> {
    let _slot = hashing_slots()
        .acquire()
        .await
        .map_err(|e| AuthError::Hashing(e.to_string()))?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AuthError::Hashing(e.to_string()))?
}

fn argon2() -> Result<Argon2<'static>, AuthError> {
    let params =
        Params::new(19 * 1024, 2, 1, None).map_err(|e| AuthError::Hashing(e.to_string()))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_blocking(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| AuthError::Hashing(e.to_string()))?
        .to_string())
}

pub async fn hash(password: Password) -> Result<String, AuthError> {
    off_runtime(move || hash_blocking(password.expose())).await
}

/// A hash of nothing anyone knows, verified against when the user does not
/// exist, so that the response time does not tell who has an account.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        let secret = SaltString::generate(&mut OsRng);
        argon2()
            .ok()
            .and_then(|a| a.hash_password(secret.as_str().as_bytes(), &salt).ok())
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// True when `password` matches `hash`; with no hash (unknown user) it does
/// the same work and answers false.
pub async fn verify(password: String, hash: Option<String>) -> Result<bool, AuthError> {
    off_runtime(move || {
        let known = hash.is_some();
        let hash = hash.unwrap_or_else(|| dummy_hash().to_owned());
        let parsed = PasswordHash::new(&hash).map_err(|e| AuthError::Hashing(e.to_string()))?;
        let ok = argon2()?
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(ok && known)
    })
    .await
}
