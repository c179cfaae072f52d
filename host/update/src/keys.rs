//! The trusted keys and the one way a signature is checked against them: the signature names its
//! key by id (minisign's format), the key with that id must be in the list, and the signature
//! must verify with it. Which of these fails is the error: an unknown key is not "tampered".
//!
//! See: <https://jedisct1.github.io/minisign/> ("Signature format", "Public key format")

use base64::Engine as _;
use minisign_verify::{PublicKey, Signature};

use crate::{Error, Result};

/// The minisign public keys a release may be signed with (the manifest's `[update] keys`).
#[derive(Debug, Clone)]
pub struct TrustedKeys {
    keys: Vec<(String, PublicKey)>,
}

impl TrustedKeys {
    /// The keys, each the base64 line of a minisign `.pub` file (`RW...`).
    pub fn parse<S: AsRef<str>>(keys: impl IntoIterator<Item = S>) -> Result<TrustedKeys> {
        let mut out = Vec::new();
        for (index, key) in keys.into_iter().enumerate() {
            let key = key.as_ref().trim();
            let bad = |problem: &str| Error::Key {
                index,
                problem: problem.to_owned(),
            };
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(key)
                .map_err(|_| bad("not base64"))?;
            let public = PublicKey::from_base64(key).map_err(|e| bad(&e.to_string()))?;
            out.push((key_id(&bytes[2..10]), public));
        }
        if out.is_empty() {
            return Err(Error::NoKeys);
        }
        Ok(TrustedKeys { keys: out })
    }

    /// The keys as the host build exports them: `QMLBRIDGE_UPDATE_KEYS`, separated by spaces.
    pub fn from_list(list: &str) -> Result<TrustedKeys> {
        TrustedKeys::parse(list.split_whitespace())
    }

    /// The keys' ids, as minisign prints them.
    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|(id, _)| id.as_str()).collect()
    }

    /// The decoded `signature` of `what` and the trusted key it names (with its id).
    pub(crate) fn key_for(
        &self,
        what: &'static str,
        signature: &str,
    ) -> Result<(&str, &PublicKey, Signature)> {
        let format = |problem: String| Error::SignatureFormat { what, problem };
        let decoded = Signature::decode(signature).map_err(|e| format(e.to_string()))?;
        // minisign-verify keeps the id private; it is bytes 2..10 of the signature line.
        let line = signature.lines().nth(1).unwrap_or_default();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(line.trim())
            .map_err(|_| format("not base64".to_owned()))?;
        let id = key_id(&bytes[2..10]);
        match self.keys.iter().find(|(k, _)| *k == id) {
            Some((id, key)) => Ok((id, key, decoded)),
            None => Err(Error::UnknownKey {
                what,
                key_id: id,
                trusted: self.ids().join(", "),
            }),
        }
    }
}

/// A key id as minisign prints it: the 8 bytes as a little-endian integer in upper-case hex.
fn key_id(bytes: &[u8]) -> String {
    bytes.iter().rev().map(|b| format!("{b:02X}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `minisign -G` printed "minisign public key 8DAE1FD037EC4BF2" for this key.
    const KEY_A: &str = "RWTyS+w30B+ujYo5ZzTdHcWHBuiYQhdEW0QaBvcut2fRIV4L5nXfF75y";

    #[test]
    fn ids_are_minisigns() {
        let keys = TrustedKeys::parse([KEY_A]).unwrap();
        assert_eq!(keys.ids(), ["8DAE1FD037EC4BF2"]);
    }

    #[test]
    fn bad_keys_are_named_by_position() {
        let err = TrustedKeys::parse([KEY_A, "RWQnope"]).unwrap_err();
        assert!(err.to_string().starts_with("trusted key 1: "), "{err}");
        let none: [&str; 0] = [];
        assert!(matches!(TrustedKeys::parse(none), Err(Error::NoKeys)));
        assert!(matches!(TrustedKeys::from_list("  "), Err(Error::NoKeys)));
    }
}
