//! The host's data dir, known before the supervisor starts: the single-instance lock and
//! `var/log/host.log` live there.
//!
//! Same rule as the supervisor's bundled data dir: `$XDG_DATA_HOME/<org>/<app>`, else
//! `$HOME/.local/share/<org>/<app>` (what `QStandardPaths::AppDataLocation` gives on Linux).

use std::path::PathBuf;

/// `<data>` for `org`/`app`, from the environment; `None` without `HOME` and `XDG_DATA_HOME`.
pub fn resolve(org: &str, app: &str) -> Option<PathBuf> {
    resolve_with(org, app, &|name| std::env::var(name).ok())
}

fn resolve_with(org: &str, app: &str, env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    let absolute = |v: String| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    let base = env("XDG_DATA_HOME").and_then(absolute).or_else(|| {
        env("HOME")
            .and_then(absolute)
            .map(|h| h.join(".local/share"))
    })?;
    Some(base.join(org).join(app))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdg_first_then_home_and_relative_ignored() {
        let env = |xdg: Option<&'static str>| {
            move |name: &str| match name {
                "XDG_DATA_HOME" => xdg.map(String::from),
                "HOME" => Some("/home/u".to_string()),
                _ => None,
            }
        };
        let p = resolve_with("o", "a", &env(Some("/x"))).unwrap();
        assert_eq!(p, PathBuf::from("/x/o/a"));
        let p = resolve_with("o", "a", &env(None)).unwrap();
        assert_eq!(p, PathBuf::from("/home/u/.local/share/o/a"));
        let p = resolve_with("o", "a", &env(Some("rel"))).unwrap();
        assert_eq!(p, PathBuf::from("/home/u/.local/share/o/a"));
        assert_eq!(resolve_with("o", "a", &|_| None), None);
    }
}
