//! Invite codes: random, shown once to whoever creates them, kept only as a
//! hash. 128 random bits cannot be guessed, so a fast unsalted hash is
//! enough (unlike passwords, which people choose).

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Random bytes in a code; written as twice as many hex digits.
const CODE_BYTES: usize = 16;

/// A fresh code, as the person who registers types it.
pub fn generate() -> String {
    let mut bytes = [0u8; CODE_BYTES];
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
        let code = generate();
        assert_eq!(code.len(), 2 * CODE_BYTES);
        assert_ne!(code, generate());
        assert_eq!(hash(&code), hash(&format!(" {}\n", code.to_uppercase())));
        assert_ne!(hash(&code), hash(&generate()));
    }
}
