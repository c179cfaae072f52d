//! The app data directory (docs/contract.md §9, bundled start step 1): where Qt's
//! `QStandardPaths::AppDataLocation` puts it on Linux, `${XDG_DATA_HOME:-~/.local/share}/<org>/<app>`,
//! with `var/`, `var/log/` and `var/cache/` inside. The directory is made private (0700) because it
//! holds the database, the backend's log and the readiness socket.

use std::fs::{self, DirBuilder};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The data directory for `org`/`app` (not created).
pub(crate) fn locate(
    org: &str,
    app: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<PathBuf> {
    // XDG Base Directory spec: a relative XDG_DATA_HOME is invalid and must be ignored.
    let base = match env("XDG_DATA_HOME").filter(|v| Path::new(v).is_absolute()) {
        Some(xdg) => PathBuf::from(xdg),
        None => {
            let home = env("HOME").filter(|h| !h.is_empty()).ok_or(Error::NoHome)?;
            Path::new(&home).join(".local/share")
        }
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
    for sub in ["var", "var/log", "var/cache"] {
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
    fn prepare_makes_a_private_tree() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("o/a");
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
        prepare(&dir).unwrap();
        let mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        for sub in ["var", "var/log", "var/cache"] {
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
