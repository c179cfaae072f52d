//! Which mode the host runs in, decided once from the environment at start (docs/contract.md §9,
//! "Modes"):
//! `BRIDGE_URL` set and non-empty means Dev (someone else runs the backend), otherwise Bundled.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::secrets::Secret;

/// The dev-mode bearer token when `BRIDGE_TOKEN` is unset (docs/contract.md §2): the backend's
/// own default, which it keeps in its own crate; `contract_check` holds the two copies equal.
pub const DEV_TOKEN: &str = "qmlbridge-dev-token";
/// The dev-mode Mercure key when `MERCURE_SUBSCRIBER_JWT_KEY` is unset (the Caddyfile default,
/// checked by `contract_check`).
pub const DEV_MERCURE_KEY: &str = "!ChangeThisMercureHubJWTSecretKey!";

/// How the backend is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Mode {
    /// `BRIDGE_URL` is set: probe that server, never spawn or migrate.
    Dev,
    /// The host migrates, spawns and supervises its own backend.
    Bundled,
}

/// What Dev mode needs: the server's URL and the secrets a client uses with it.
#[derive(Debug)]
pub(crate) struct DevTarget {
    pub url: String,
    pub token: Secret,
    pub mercure_key: Secret,
}

/// Reads the environment through `env` (a lookup so tests need not touch the process env).
pub(crate) fn detect(env: &dyn Fn(&str) -> Option<String>) -> Mode {
    match env("BRIDGE_URL") {
        Some(url) if !url.trim().is_empty() => Mode::Dev,
        _ => Mode::Bundled,
    }
}

/// The Dev target from `BRIDGE_URL`, `BRIDGE_TOKEN` and `MERCURE_SUBSCRIBER_JWT_KEY`.
pub(crate) fn dev_target(env: &dyn Fn(&str) -> Option<String>) -> Result<DevTarget> {
    let raw = env("BRIDGE_URL").unwrap_or_default();
    let url = raw.trim().trim_end_matches('/').to_string();
    let valid = reqwest::Url::parse(&url)
        .map(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .unwrap_or(false);
    if !valid {
        return Err(Error::DevUrl(raw));
    }
    let non_empty = |name| env(name).filter(|v: &String| !v.is_empty());
    Ok(DevTarget {
        url,
        token: Secret::new(non_empty("BRIDGE_TOKEN").unwrap_or_else(|| DEV_TOKEN.into())),
        mercure_key: Secret::new(
            non_empty("MERCURE_SUBSCRIBER_JWT_KEY").unwrap_or_else(|| DEV_MERCURE_KEY.into()),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn empty_or_missing_url_is_bundled() {
        assert_eq!(detect(&env_of(&[])), Mode::Bundled);
        assert_eq!(detect(&env_of(&[("BRIDGE_URL", "  ")])), Mode::Bundled);
        assert_eq!(detect(&env_of(&[("BRIDGE_URL", "http://x")])), Mode::Dev);
    }

    #[test]
    fn dev_defaults_and_overrides() {
        let t = dev_target(&env_of(&[("BRIDGE_URL", "https://localhost:8443/")])).unwrap();
        assert_eq!(t.url, "https://localhost:8443");
        assert_eq!(t.token.expose(), DEV_TOKEN);
        assert_eq!(t.mercure_key.expose(), DEV_MERCURE_KEY);
        let t = dev_target(&env_of(&[
            ("BRIDGE_URL", "http://127.0.0.1:8765"),
            ("BRIDGE_TOKEN", "tok"),
            ("MERCURE_SUBSCRIBER_JWT_KEY", "key"),
        ]))
        .unwrap();
        assert_eq!((t.token.expose(), t.mercure_key.expose()), ("tok", "key"));
    }

    #[test]
    fn dev_url_must_be_http_or_https() {
        for bad in ["ftp://x", "127.0.0.1:8765", "http://", "not a url"] {
            let pairs: &'static [(&str, &str)] = Box::leak(Box::new([("BRIDGE_URL", bad)]));
            let err = dev_target(&env_of(pairs)).unwrap_err();
            assert!(matches!(err, Error::DevUrl(_)), "{bad}: {err}");
        }
    }
}
