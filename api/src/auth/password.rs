//! Password hashing with argon2id (default parameters: 19 MiB, 2 passes, 1 lane).
//!
//! Hashing is deliberately slow, so both operations run on the blocking pool.
//! Stored hashes are PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$...`).

use std::sync::OnceLock;

use anyhow::{Context, anyhow};
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{Error as HashError, PasswordHasher, PasswordVerifier};

/// Used by [`dummy_hash`] only if the system's random source fails: a valid
/// argon2id hash (default parameters) of a random password nobody knows.
const FALLBACK_DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$\
    DMxzhsfxxcT3QMCa4Zew5g$B0HVIJ1NHVyowU9taZQPPZhXb03TbbMr5h7kKaD9h9g";

/// Hashes `password` with argon2id and a fresh random salt, returning the PHC string.
pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_blocking(password.as_bytes()))
        .await
        .context("password hashing task failed")?
}

/// Checks `password` against the stored PHC string `phc`.
///
/// Returns `Ok(true)` on a match and `Ok(false)` on a mismatch. A stored
/// value that is not a usable argon2 PHC string (malformed, or another
/// algorithm) is an `Err` with a clear message rather than `Ok(false)`, so
/// that corrupt data shows up in logs; callers must treat any `Err` as a
/// failed login.
pub async fn verify(password: String, phc: String) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || verify_blocking(password.as_bytes(), &phc))
        .await
        .context("password verification task failed")?
}

/// A valid argon2id PHC string of a random password, computed once per process.
///
/// Verify against it when no account matches a login, so the response takes
/// as long as for a known account. The first call does one argon2 hash on the
/// calling thread; call it once at startup (or from blocking code) to keep
/// that off the request path.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut password = [0u8; 32];
        getrandom::fill(&mut password)
            .ok()
            .and_then(|()| hash_blocking(&password).ok())
            .unwrap_or_else(|| FALLBACK_DUMMY_HASH.to_owned())
    })
}

fn hash_blocking(password: &[u8]) -> anyhow::Result<String> {
    let hash: PasswordHash = Argon2::default()
        .hash_password(password)
        .map_err(|e| anyhow!("could not hash password: {e}"))?;
    Ok(hash.to_string())
}

fn verify_blocking(password: &[u8], phc: &str) -> anyhow::Result<bool> {
    let parsed =
        PasswordHash::new(phc).map_err(|e| anyhow!("stored password hash is malformed: {e}"))?;
    match Argon2::default().verify_password(password, &parsed) {
        Ok(()) => Ok(true),
        Err(HashError::PasswordInvalid) => Ok(false),
        Err(e) => Err(anyhow!("stored password hash is unusable: {e}")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let phc = hash("correct horse battery staple".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(!phc.contains("correct horse"));
        assert!(
            verify("correct horse battery staple".into(), phc.clone())
                .await
                .unwrap()
        );
        assert!(
            !verify("correct horse battery stapler".into(), phc.clone())
                .await
                .unwrap()
        );
        assert!(!verify(String::new(), phc).await.unwrap());
    }

    #[tokio::test]
    async fn salts_differ() {
        let a = hash("same password".into()).await.unwrap();
        let b = hash("same password".into()).await.unwrap();
        assert_ne!(a, b);
        assert!(verify("same password".into(), a).await.unwrap());
        assert!(verify("same password".into(), b).await.unwrap());
    }

    #[tokio::test]
    async fn unicode_and_empty_passwords() {
        let phc = hash("pässwörd 🔑".into()).await.unwrap();
        assert!(verify("pässwörd 🔑".into(), phc.clone()).await.unwrap());
        assert!(!verify("passwoord 🔑".into(), phc).await.unwrap());
        let empty = hash(String::new()).await.unwrap();
        assert!(verify(String::new(), empty).await.unwrap());
    }

    #[tokio::test]
    async fn malformed_stored_hash_is_an_error() {
        for stored in [
            "",
            "plaintext",
            "$argon2id$",
            "$argon2id$v=19$m=19456,t=2,p=1$not base64!$x",
            "$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
        ] {
            let err = verify("anything".into(), stored.into()).await.unwrap_err();
            let message = err.to_string();
            assert!(message.starts_with("stored password hash is"), "{message}");
            assert!(!message.contains("anything"));
        }
    }

    #[tokio::test]
    async fn dummy_hash_is_valid_and_stable() {
        let dummy = dummy_hash();
        assert!(dummy.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(dummy, dummy_hash());
        assert!(std::ptr::eq(dummy, dummy_hash()));
        assert!(!verify("password".into(), dummy.to_owned()).await.unwrap());
        assert!(!verify(String::new(), dummy.to_owned()).await.unwrap());
    }

    #[tokio::test]
    async fn fallback_dummy_hash_is_valid() {
        assert!(
            !verify("password".into(), FALLBACK_DUMMY_HASH.to_owned())
                .await
                .unwrap()
        );
    }
}
