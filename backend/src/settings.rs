//! What the environment configures (`docs/contract.md` §2): `BRIDGE_TOKEN`, `BRIDGE_ENV` and
//! `DATABASE_URL`. Every problem here is a configuration error (exit 78).

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// The bearer token used when `BRIDGE_TOKEN` is unset outside production (`docs/contract.md` §2).
/// A host in Dev mode assumes the same value; the supervisor's tests read this line to check it.
pub const DEV_TOKEN: &str = "qmlbridge-dev-token";

/// The database when `DATABASE_URL` is unset (relative to the working directory).
pub const DEFAULT_DATABASE_URL: &str = "sqlite://var/data.sqlite";

/// Where the SQLite database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// A file (absolute, or relative to the working directory).
    File(PathBuf),
    /// `sqlite::memory:`: a private in-memory database (tests).
    Memory,
}

impl Database {
    /// Parses the `DATABASE_URL` forms of `docs/contract.md` §2.
    pub fn from_url(url: &str) -> Result<Self> {
        let bad = |reason: &str| Error::Env {
            name: "DATABASE_URL",
            reason: format!(
                "{reason} (expected sqlite:///abs/path, sqlite://rel/path or sqlite::memory:)"
            ),
        };
        if url == "sqlite::memory:" {
            return Ok(Database::Memory);
        }
        let path = url
            .strip_prefix("sqlite://")
            .ok_or_else(|| bad("only sqlite URLs are supported"))?;
        let path = path.split_once('?').map_or(path, |(p, _)| p);
        if path.is_empty() || path.ends_with('/') {
            return Err(bad("no file name"));
        }
        Ok(Database::File(PathBuf::from(path)))
    }
}

/// The environment's settings for `serve`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub token: Secret,
    /// True when [`DEV_TOKEN`] is in use (`serve` logs a warning).
    pub dev_token: bool,
    /// `BRIDGE_ENV=prod`: 500s carry an opaque `instance` id instead of the error chain.
    pub prod: bool,
    pub database: Database,
}

impl Settings {
    /// Reads the settings through `env` (a lookup such as `std::env::var`).
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let prod = match env("BRIDGE_ENV").as_deref() {
            None | Some("") | Some("dev") => false,
            Some("prod") => true,
            Some(other) => {
                return Err(Error::Env {
                    name: "BRIDGE_ENV",
                    reason: format!("unknown value {other:?} (dev or prod)"),
                });
            }
        };
        let (token, dev_token) = match env("BRIDGE_TOKEN").filter(|t| !t.is_empty()) {
            Some(token) => (Secret::new(token), false),
            None if prod => return Err(Error::MissingToken),
            None => (Secret::new(DEV_TOKEN), true),
        };
        Ok(Settings {
            token,
            dev_token,
            prod,
            database: database_from_env(env)?,
        })
    }
}

/// `DATABASE_URL`, or the default.
pub fn database_from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Database> {
    let url = env("DATABASE_URL").filter(|u| !u.is_empty());
    Database::from_url(url.as_deref().unwrap_or(DEFAULT_DATABASE_URL))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn database_url_forms() {
        let abs = Database::from_url("sqlite:///tmp/x.sqlite").unwrap();
        assert_eq!(abs, Database::File("/tmp/x.sqlite".into()));
        let rel = Database::from_url("sqlite://var/data.sqlite").unwrap();
        assert_eq!(rel, Database::File("var/data.sqlite".into()));
        assert_eq!(
            Database::from_url("sqlite::memory:").unwrap(),
            Database::Memory
        );
        for bad in [
            "postgres://x/y",
            "sqlite://",
            "sqlite:///tmp/",
            "data.sqlite",
            "",
        ] {
            let err = Database::from_url(bad).unwrap_err();
            assert_eq!(err.exit_code(), 78, "{bad}");
            assert!(err.to_string().starts_with("DATABASE_URL: "), "{err}");
        }
    }

    #[test]
    fn dev_token_only_outside_prod() {
        let s = Settings::from_env(&env(&[])).unwrap();
        assert!(s.dev_token);
        assert_eq!(s.token.expose(), DEV_TOKEN);
        assert_eq!(s.database, Database::File("var/data.sqlite".into()));
        let err = Settings::from_env(&env(&[("BRIDGE_ENV", "prod")])).unwrap_err();
        assert_eq!(err.exit_code(), 78);
        let s =
            Settings::from_env(&env(&[("BRIDGE_ENV", "prod"), ("BRIDGE_TOKEN", "t0k")])).unwrap();
        assert!(!s.dev_token);
        assert_eq!(s.token.expose(), "t0k");
        let err = Settings::from_env(&env(&[("BRIDGE_ENV", "staging")])).unwrap_err();
        assert_eq!(err.exit_code(), 78);
    }
}
