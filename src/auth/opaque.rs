//! Opaque secrets handed to clients: invite codes and refresh tokens.
//! Random, shown once to whoever gets them, kept only as a hash. 128 random
//! bits and more cannot be guessed, so a fast unsalted hash is enough
//! (unlike passwords, which people choose).

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Random bytes in an invite code; written as twice as many hex digits.
pub const INVITE_BYTES: usize = 16;
/// Random bytes in a refresh token: it lives for weeks, so 256 bits.
pub const REFRESH_BYTES: usize = 32;

/// A fresh secret of `N` random bytes, as hex.
pub fn generate<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the store keeps of a code. Surrounding blanks (a pasted line) and
/// the case of the hex digits do not make a different code.
pub fn hash(code: &str) -> String {
    let normalized = code.trim().to_ascii_lowercase();
    hex::encode(Sha256::digest(normalized.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_random_and_hashed_the_same_however_pasted() {
        let code = generate::<INVITE_BYTES>();
        assert_eq!(code.len(), 2 * INVITE_BYTES);
        assert_ne!(code, generate::<INVITE_BYTES>());
        assert_eq!(hash(&code), hash(&format!(" {}\n", code.to_uppercase())));
        assert_ne!(hash(&code), hash(&generate::<INVITE_BYTES>()));
        assert_eq!(generate::<REFRESH_BYTES>().len(), 64);
    }
}
