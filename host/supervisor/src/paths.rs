//! Where the bundled backend's files are (docs/contract.md §9, bundled start step 3): the binary,
//! its working directory and its Caddyfile. Each has an override variable, then candidates relative
//! to the host executable's directory (`<exe_dir>`), tried in this order:
//!
//! | what | override | candidates |
//! | --- | --- | --- |
//! | binary (`<bin>`: `Options::backend_bin`, `<app>-backend` by default) | `BRIDGE_BACKEND_BIN` | `bin/<bin>`, `<bin>` (cargo puts both binaries in `target/<profile>/`), `../share/<app>/bin/<bin>`, `../usr/share/<app>/bin/<bin>` |
//! | backend dir | `BRIDGE_BACKEND_DIR` | `backend`, `../share/<app>/backend`, `../usr/share/<app>/backend`, and in a cargo tree (`<exe_dir>/..` named `target`) the workspace's `examples/<app>/backend`, then its `backend` |
//! | Caddyfile | `BRIDGE_CADDYFILE` | `Caddyfile`, `../share/<app>/Caddyfile`, `../usr/share/<app>/Caddyfile`, and in a cargo tree the repository's `Caddyfile` |
//!
//! An override that does not exist is an error (never a silent fallback). Not found lists every
//! path tried.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The resolved backend layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendPaths {
    /// The executable to run (`migrate`, `serve`).
    pub bin: PathBuf,
    /// Its working directory.
    pub dir: PathBuf,
    /// The Caddyfile passed as `serve --config`.
    pub caddyfile: PathBuf,
}

/// Resolves all three, or the first that is missing with every path tried.
pub(crate) fn resolve(
    exe_dir: &Path,
    app: &str,
    bin_name: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<BackendPaths> {
    let share = [
        exe_dir.join("../share").join(app),
        exe_dir.join("../usr/share").join(app),
    ];
    let repo = cargo_repo(exe_dir);

    let mut bins = vec![exe_dir.join("bin").join(bin_name), exe_dir.join(bin_name)];
    bins.extend(share.iter().map(|s| s.join("bin").join(bin_name)));
    let bin = find(
        "backend binary",
        env("BRIDGE_BACKEND_BIN"),
        bins,
        is_executable,
    )?;

    let mut dirs = vec![exe_dir.join("backend")];
    dirs.extend(share.iter().map(|s| s.join("backend")));
    dirs.extend(repo.iter().flat_map(|r| {
        [
            r.join("examples").join(app).join("backend"),
            r.join("backend"),
        ]
    }));
    let dir = find("backend dir", env("BRIDGE_BACKEND_DIR"), dirs, Path::is_dir)?;

    let mut files = vec![exe_dir.join("Caddyfile")];
    files.extend(share.iter().map(|s| s.join("Caddyfile")));
    files.extend(repo.iter().map(|r| r.join("Caddyfile")));
    let caddyfile = find("Caddyfile", env("BRIDGE_CADDYFILE"), files, Path::is_file)?;

    Ok(BackendPaths {
        bin,
        dir,
        caddyfile,
    })
}

/// `<repo>` when `exe_dir` is `<repo>/target/<profile>`: lets `cargo run` find the sources' files.
fn cargo_repo(exe_dir: &Path) -> Option<PathBuf> {
    let target = exe_dir.parent()?;
    (target.file_name()? == "target").then(|| target.parent().map(Path::to_path_buf))?
}

fn find(
    what: &'static str,
    over: Option<String>,
    candidates: Vec<PathBuf>,
    ok: fn(&Path) -> bool,
) -> Result<PathBuf> {
    let tried = match over.filter(|v| !v.is_empty()) {
        Some(path) => vec![PathBuf::from(path)],
        None => candidates,
    };
    match tried.iter().find(|p| ok(p)) {
        Some(found) => Ok(normalize(found)),
        None => Err(Error::NotFound { what, tried }),
    }
}

fn is_executable(path: &Path) -> bool {
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Canonical form for logs and `execve` (no `..`), falling back to the path as found.
fn normalize(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const BIN: &str = "notes-backend";

    fn touch(path: &Path, mode: u32) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, "").unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn beside_the_executable_first() {
        let tmp = tempfile::tempdir().unwrap();
        let exe = tmp.path().join("opt");
        touch(&exe.join("bin").join(BIN), 0o755);
        touch(&exe.join("Caddyfile"), 0o644);
        fs::create_dir_all(exe.join("backend")).unwrap();
        touch(&tmp.path().join("share/notes/Caddyfile"), 0o644);
        let p = resolve(&exe, "notes", BIN, &|_| None).unwrap();
        assert_eq!(p.bin, exe.join("bin").join(BIN).canonicalize().unwrap());
        assert_eq!(p.caddyfile, exe.join("Caddyfile").canonicalize().unwrap());
    }

    #[test]
    fn appimage_share_fallback_and_non_executable_skipped() {
        let tmp = tempfile::tempdir().unwrap();
        let exe = tmp.path().join("usr/bin");
        touch(&exe.join(BIN), 0o644); // not executable: skipped
        let share = tmp.path().join("usr/share/notes");
        touch(&share.join("bin").join(BIN), 0o755);
        touch(&share.join("Caddyfile"), 0o644);
        fs::create_dir_all(share.join("backend")).unwrap();
        let p = resolve(&exe, "notes", BIN, &|_| None).unwrap();
        assert_eq!(p.dir, share.join("backend").canonicalize().unwrap());
        assert!(p.bin.ends_with("share/notes/bin/notes-backend"));
    }

    #[test]
    fn not_found_lists_every_path_tried() {
        let tmp = tempfile::tempdir().unwrap();
        let err = resolve(tmp.path(), "notes", BIN, &|_| None).unwrap_err();
        let Error::NotFound { what, tried } = &err else {
            panic!("{err}")
        };
        assert_eq!(*what, "backend binary");
        assert_eq!(tried.len(), 4);
        let msg = err.to_string();
        for p in tried {
            assert!(msg.contains(&p.display().to_string()), "{msg}");
        }
    }

    #[test]
    fn override_is_exclusive() {
        let tmp = tempfile::tempdir().unwrap();
        touch(&tmp.path().join("bin").join(BIN), 0o755);
        let env =
            |name: &str| (name == "BRIDGE_BACKEND_BIN").then(|| "/nonexistent/be".to_string());
        let err = resolve(tmp.path(), "notes", BIN, &env).unwrap_err();
        assert!(err.to_string().contains("tried /nonexistent/be"), "{err}");
    }
}
