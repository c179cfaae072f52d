//! The app data directory (docs/contract.md §9, bundled start step 1): where Qt's
//! `QStandardPaths::AppDataLocation` puts it on Linux, `${XDG_DATA_HOME:-~/.local/share}/<org>/<app>`,
//! with `var/`, `var/log/`, `var/cache/` and `var/snapshots/` (docs/contract.md §9 "Recovery")
//! inside. The directory is made private (0700) because it
//! holds the database, the backend's log and the readiness socket.
//!
//! A development session (`qmlbridge dev`, `make run`: [`DEV_ENV`]`=1`) has a data dir of its
//! own, `<org>/<app>-dev` beside the user's: experiments and edited migrations never reach the
//! data of the installed app, and [`set_aside`] gives a session a fresh start without deleting
//! anything. The installed app never sets the variable, so its data dir is the same as always.

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
///
/// In a development session ([`DEV_ENV`]`=1`) of a debug build it is [`dev_data_dir`] instead. A
/// release build (an installed image) ignores [`DEV_ENV`]: whatever its environment says, the
/// user's data stays where it is.
pub fn data_dir(org: &str, app: &str) -> Result<PathBuf> {
    locate(org, app, &|name| match name {
        DEV_ENV if !cfg!(debug_assertions) => None,
        _ => std::env::var(name).ok(),
    })
}

/// Set to `1` in the processes of a development session (the host `qmlbridge dev` and
/// `make run` start, and what the host starts): their data dir is [`dev_data_dir`].
pub const DEV_ENV: &str = "QMLBRIDGE_DEV";

/// What a development session's data dir adds to the app's name: `<org>/<app>-dev`.
pub const DEV_SUFFIX: &str = "-dev";

/// The data dir of the app's development sessions (not created): [`data_dir`]'s rule with
/// `<app>`[`DEV_SUFFIX`] for `<app>`, whatever this process's environment says about sessions.
/// For the tools that start a session (`qmlbridge dev`): the host they start finds the same
/// directory through [`data_dir`] and [`DEV_ENV`].
pub fn dev_data_dir(org: &str, app: &str) -> Result<PathBuf> {
    locate(org, app, &|name| match name {
        DEV_ENV => Some("1".into()),
        _ => std::env::var(name).ok(),
    })
}

/// Moves a development session's data dir `dir` aside, so that the next session starts empty
/// and nothing is deleted: renamed to `<dir>.<UTC time>` beside it (`notes-dev.20261207T231500Z`;
/// `-2`, `-3`, ... appended should that exist). The new path, or `None` when `dir` did not exist.
/// Refuses a directory that is not a development session's (its name must end in
/// [`DEV_SUFFIX`]): the user's data is never moved.
pub fn set_aside(dir: &Path) -> Result<Option<PathBuf>> {
    let fail = |source| Error::DataDir {
        path: dir.to_path_buf(),
        source,
    };
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| n.ends_with(DEV_SUFFIX))
        .ok_or_else(|| {
            fail(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a development session's data dir (its name ends in -dev): not moved",
            ))
        })?;
    match fs::symlink_metadata(dir) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(fail(e)),
    }
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let stamp = utc_stamp(secs);
    let mut aside = dir.with_file_name(format!("{name}.{stamp}"));
    let mut n = 1;
    // rename(2) would replace an empty directory of that name: never over anything.
    while fs::symlink_metadata(&aside).is_ok() {
        n += 1;
        aside = dir.with_file_name(format!("{name}.{stamp}-{n}"));
    }
    fs::rename(dir, &aside).map_err(fail)?;
    Ok(Some(aside))
}

/// `secs` since the epoch as `YYYYMMDDTHHMMSSZ` (days to a civil date: H. Hinnant's algorithm).
fn utc_stamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}T{:02}{:02}{:02}Z",
        rem / 3_600,
        rem / 60 % 60,
        rem % 60
    )
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
    let dev = env(DEV_ENV).is_some_and(|v| v == "1");
    if dev {
        Ok(base.join(org).join(format!("{app}{DEV_SUFFIX}")))
    } else {
        Ok(base.join(org).join(app))
    }
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
    fn a_development_session_has_a_data_dir_of_its_own() {
        let env = |dev: Option<&'static str>| {
            move |n: &str| match n {
                "XDG_DATA_HOME" => Some("/x/data".to_string()),
                DEV_ENV => dev.map(String::from),
                _ => None,
            }
        };
        assert_eq!(
            locate("o", "notes", &env(Some("1"))).unwrap(),
            Path::new("/x/data/o/notes-dev")
        );
        // Only `1` makes a session: the installed app's dir for anything else.
        for other in [None, Some(""), Some("0"), Some("yes")] {
            assert_eq!(
                locate("o", "notes", &env(other)).unwrap(),
                Path::new("/x/data/o/notes"),
                "{DEV_ENV}={other:?}"
            );
        }
    }

    #[test]
    fn set_aside_moves_the_dev_dir_and_nothing_else() {
        let tmp = tempfile::tempdir().unwrap();
        let user = tmp.path().join("o/notes");
        let dev = tmp.path().join("o/notes-dev");
        for dir in [&user, &dev] {
            fs::create_dir_all(dir.join("var")).unwrap();
            fs::write(dir.join("var/data.sqlite"), dir.display().to_string()).unwrap();
        }
        let aside = set_aside(&dev).unwrap().expect("moved");
        assert!(!dev.exists());
        assert_eq!(aside.parent(), dev.parent());
        let name = aside.file_name().unwrap().to_str().unwrap();
        assert!(
            name.starts_with("notes-dev.") && name.ends_with('Z'),
            "{name}"
        );
        assert_eq!(
            fs::read_to_string(aside.join("var/data.sqlite")).unwrap(),
            dev.display().to_string(),
            "moved whole"
        );
        // A second fresh start in the same second: beside the first, not over it.
        fs::create_dir_all(&dev).unwrap();
        let second = set_aside(&dev).unwrap().expect("moved");
        assert_ne!(second, aside);
        assert!(aside.join("var/data.sqlite").exists() && second.is_dir());
        // Nothing there: nothing to do.
        assert_eq!(set_aside(&dev).unwrap(), None);
        // The user's data dir is refused, and stays.
        let err = set_aside(&user).unwrap_err();
        assert!(
            err.to_string().contains("not a development session"),
            "{err}"
        );
        assert!(user.join("var/data.sqlite").exists());
    }

    #[test]
    fn utc_stamps() {
        assert_eq!(utc_stamp(0), "19700101T000000Z");
        assert_eq!(utc_stamp(951_782_400), "20000229T000000Z");
        assert_eq!(utc_stamp(1_796_685_301), "20261207T231501Z");
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
