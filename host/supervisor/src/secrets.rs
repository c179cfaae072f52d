//! Secrets from the operating system's CSPRNG (docs/contract.md §9, bundled start step 2) and
//! [`Secret`], the one type that holds them: it prints `[redacted]`, so a secret cannot reach a log
//! by accident.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRngCore;
use rand::rngs::OsRng;

use crate::error::{Error, Result};

/// Bytes of entropy in a bearer token: base64url without padding gives 43 characters.
pub const TOKEN_BYTES: usize = 32;
/// Bytes of entropy in the Mercure JWT secret: base64url gives 64 characters.
pub const MERCURE_KEY_BYTES: usize = 48;

/// A secret string (token, JWT key). `Debug` and `Display` print `[redacted]`; read it with
/// [`Secret::expose`] only where it is handed to the backend or put on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a string.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(Arc::from(value.into()))
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// `bytes` bytes from the OS CSPRNG (getrandom(2)), base64url without padding.
pub fn random(bytes: usize) -> Result<Secret> {
    let mut buf = vec![0u8; bytes];
    OsRng
        .try_fill_bytes(&mut buf)
        .map_err(|e| Error::Random(e.to_string()))?;
    Ok(Secret::new(URL_SAFE_NO_PAD.encode(&buf)))
}

/// A fresh bearer token (43 characters).
pub fn token() -> Result<Secret> {
    random(TOKEN_BYTES)
}

/// A fresh Mercure JWT secret (64 characters).
pub fn mercure_key() -> Result<Secret> {
    random(MERCURE_KEY_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_alphabet() {
        let t = token().unwrap();
        assert_eq!(t.expose().len(), 43);
        assert_eq!(mercure_key().unwrap().expose().len(), 64);
        assert!(
            t.expose()
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(token().unwrap(), t);
    }

    #[test]
    fn never_printed() {
        let t = token().unwrap();
        assert_eq!(format!("{t} {t:?}"), "[redacted] [redacted]");
        assert!(!format!("{:?}", Some(t.clone())).contains(t.expose()));
    }
}
