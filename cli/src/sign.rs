//! The release key in use: `qmlbridge keygen` writes it, `bundle --sign` signs with it. Where the
//! secret key comes from (`--key FILE`, else `QMLBRIDGE_SIGN_KEY` holding the key file's text, as
//! a CI secret, else the default key file), its password (`QMLBRIDGE_SIGN_PASSWORD`, else a
//! prompt on the terminal), and minisign signatures. Neither the key nor the password is ever
//! formatted: [`Signer`] and [`Password`] print `[redacted]`.
//!
//! See: <https://jedisct1.github.io/minisign/> (key and signature formats; the secret key is
//! encrypted with a key derived by scrypt from the password)

use std::io::Read;
use std::path::{Path, PathBuf};

use minisign::{PublicKey, SecretKey, SecretKeyBox};

use crate::error::{Error, Result};

/// The secret key file's text, for CI (a secret variable rather than a file).
pub const KEY_ENV: &str = "QMLBRIDGE_SIGN_KEY";
/// The secret key's password, for CI and scripts; otherwise it is asked on the terminal.
pub const PASSWORD_ENV: &str = "QMLBRIDGE_SIGN_PASSWORD";

/// A password; never printed.
pub(crate) struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Password {
    /// From `QMLBRIDGE_SIGN_PASSWORD`, else asked on the terminal (twice when `confirm`: a new
    /// key's password is not checked by anything else). Empty is refused: the key would be
    /// stored as good as unencrypted.
    pub(crate) fn get(confirm: bool) -> Result<Password> {
        let given = match std::env::var(PASSWORD_ENV) {
            Ok(p) => p,
            Err(_) => {
                let ask = |prompt: &str| {
                    rpassword::prompt_password(prompt).map_err(|e| {
                        Error::Usage(format!(
                            "no password: set {PASSWORD_ENV} or run in a terminal ({e})"
                        ))
                    })
                };
                let first = ask("Password for the release key: ")?;
                if confirm && ask("The same password again: ")? != first {
                    return Err(Error::Usage("the passwords differ".to_owned()));
                }
                first
            }
        };
        if given.is_empty() {
            return Err(Error::Usage(format!(
                "the password is empty ({PASSWORD_ENV} or the prompt); the secret key must be protected"
            )));
        }
        Ok(Password(given))
    }

    pub(crate) fn into_inner(self) -> String {
        self.0
    }
}

/// A decrypted secret key and its public key.
pub(crate) struct Signer {
    sk: SecretKey,
    pk: PublicKey,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Signer {{ key: [redacted], public: {} }}",
            self.pk.to_base64()
        )
    }
}

impl Signer {
    /// The key from `file`, else from `QMLBRIDGE_SIGN_KEY`, else from `default`; decrypted with
    /// [`Password::get`]. Checked at once, so a wrong password fails before a long build.
    pub(crate) fn load(file: Option<&Path>, default: &Path) -> Result<Signer> {
        let (text, origin) = match (file, std::env::var(KEY_ENV)) {
            (Some(path), _) => (read(path)?, path.display().to_string()),
            (None, Ok(text)) => (text, KEY_ENV.to_owned()),
            (None, Err(_)) => {
                if !default.is_file() {
                    return Err(Error::Usage(format!(
                        "no secret key: {} does not exist; give --key FILE, set {KEY_ENV}, or run qmlbridge keygen",
                        default.display()
                    )));
                }
                (read(default)?, default.display().to_string())
            }
        };
        let bad = |problem: String| Error::Usage(format!("{origin}: {problem}"));
        // Only the key's lines: a key pasted into a CI secret may gain surrounding blank lines.
        let text = text.trim().to_owned() + "\n";
        if !text.starts_with("untrusted comment:") {
            return Err(bad("not a minisign secret key file".to_owned()));
        }
        let password = Password::get(false)?.into_inner();
        let sk = SecretKey::from_box(SecretKeyBox::from(text), Some(password))
            .map_err(|e| bad(format!("cannot decrypt the secret key: {e}")))?;
        let pk =
            PublicKey::from_secret_key(&sk).map_err(|e| bad(format!("not a secret key: {e}")))?;
        Ok(Signer { sk, pk })
    }

    /// The public key's base64 line (what `[update] keys` lists).
    pub(crate) fn public_key(&self) -> String {
        self.pk.to_base64()
    }

    /// The minisign signature (the `.minisig` file's text) of what `data` yields, with
    /// `trusted_comment` signed along.
    pub(crate) fn sign(&self, data: impl Read, trusted_comment: &str) -> Result<String> {
        let sig = minisign::sign(
            Some(&self.pk),
            &self.sk,
            data,
            Some(trusted_comment),
            Some("signature from a qmlbridge release key"),
        )
        .map_err(|e| Error::Io {
            path: PathBuf::from("<signature>"),
            source: std::io::Error::other(e.to_string()),
        })?;
        Ok(sig.into_string())
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(Error::io(path))
}
