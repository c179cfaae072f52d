//! The app data directory (docs/contract.md §9, bundled start step 1): where Qt's
//! `QStandardPaths::AppDataLocation` puts it on Linux, `${XDG_DATA_HOME:-~/.local/share}/<org>/<app>`,
//! with `var/`, `var/log/`, `var/cache/` and `var/snapshots/` (docs/contract.md §9 "Recovery")
//! inside. The directory is made private (0700) because it
//! holds the database, the backend's log and the readiness socket.

use std::fs::{self, DirBuilder};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The app data directory for `org`/`app` from the process environment (not created):
/// `$XDG_DATA_HOME/<org>/<app>`, else `$HOME/.local/share/<org>/<app>`. The one copy of this
/// rule: the Qt host locks and logs into the directory it returns, and the supervisor prepares
/// the same one (bundled start step 1), so both must come from here.
///
/// Only absolute paths count. The XDG Base Directory spec says so for `XDG_DATA_HOME` ("If an
/// implementation encounters a relative path in any of these variables it should consider the
/// path invalid and ignore it"); a relative `HOME` is refused as well, since the data dir is
/// also handed to the backend (`DATABASE_URL`), which runs in another working directory and
/// would resolve it elsewhere. Neither usable: [`Error::NoHome`].
///
/// See: <https://specifications.freedesktop.org/basedir-spec/latest/>
pub fn data_dir(org: &str, app: &str) -> Result<PathBuf> {
    locate(org, app, &|name| std::env::var(name).ok())
}

/// The database every backend of the app in `data_dir` is given (docs/contract.md §2):
/// `DATABASE_URL` when the user set one, else `sqlite://<data_dir>/var/data.sqlite`. The one copy
/// of this rule: the supervisor hands it to each backend, and `qmlbridge dev` checks a new build
/// against the same database.
pub fn database_url(data_dir: &Path) -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("var/data.sqlite").display()))
}

/// [`data_dir`] with the environment given as a function.
pub(crate) fn locate(
    org: &str,
    app: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<PathBuf> {
    let absolute = |v: String| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    let base = match env("XDG_DATA_HOME").and_then(absolute) {
        Some(xdg) => xdg,
        None => env("HOME")
            .and_then(absolute)
            .ok_or(Error::NoHome)?
            .join(".local/share"),
    };
    Ok(base.join(org).join(app))
}

/// Creates the data dir (0700, also tightened when it already existed) and its `var/` tree.
pub(crate) fn prepare(dir: &Path) -> Result<()> {
    let fail = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::DataDir { path, source }
    };
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(fail(dir))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(fail(dir))?;
    for sub in ["var", "var/log", "var/cache", "var/snapshots"] {
        let path = dir.join(sub);
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&path)
            .map_err(fail(&path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xdg_then_home() {
        let env = |n: &str| match n {
            "XDG_DATA_HOME" => Some("/x/data".to_string()),
            "HOME" => Some("/home/u".to_string()),
            _ => None,
        };
        assert_eq!(
            locate("example", "notes", &env).unwrap(),
            Path::new("/x/data/example/notes")
        );
        let env = |n: &str| match n {
            "XDG_DATA_HOME" => Some("relative".to_string()),
            "HOME" => Some("/home/u".to_string()),
            _ => None,
        };
        assert_eq!(
            locate("o", "a", &env).unwrap(),
            Path::new("/home/u/.local/share/o/a")
        );
        assert!(matches!(locate("o", "a", &|_| None), Err(Error::NoHome)));
    }

    #[test]
    fn only_absolute_paths_count() {
        let env = |xdg: Option<&'static str>, home: Option<&'static str>| {
            move |n: &str| match n {
                "XDG_DATA_HOME" => xdg.map(String::from),
                "HOME" => home.map(String::from),
                _ => None,
            }
        };
        // An empty or relative XDG_DATA_HOME is ignored (XDG Base Directory spec).
        for xdg in [Some(""), Some("relative"), Some("./x")] {
            assert_eq!(
                locate("o", "a", &env(xdg, Some("/home/u"))).unwrap(),
                Path::new("/home/u/.local/share/o/a")
            );
        }
        // A relative or empty HOME gives no data dir: the backend would resolve it elsewhere.
        for home in [Some(""), Some("relative"), Some("./home")] {
            assert!(
                matches!(locate("o", "a", &env(None, home)), Err(Error::NoHome)),
                "HOME={home:?}"
            );
        }
        assert_eq!(
            locate("o", "a", &env(Some("/x"), Some("relative"))).unwrap(),
            Path::new("/x/o/a")
        );
    }

    #[test]
    fn prepare_makes_a_private_tree() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("o/a");
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        prepare(&dir).unwrap();
        let mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        for sub in ["var", "var/log", "var/cache", "var/snapshots"] {
            assert!(dir.join(sub).is_dir());
        }
    }

    #[test]
    fn prepare_names_the_path_on_failure() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("file");
        fs::write(&file, "").unwrap();
        let err = prepare(&file.join("sub")).unwrap_err();
        assert!(err.to_string().starts_with("data dir: "), "{err}");
    }
}
