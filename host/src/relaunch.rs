//! Restarting into the app's image after an update or a rollback replaced it: the `Updater` asks
//! ([`request`]); the window closes as the user would close it, the backend stops gracefully, the
//! single-instance lock is released (`App::run`), and only then [`finish`] starts `$APPIMAGE`
//! again, detached, with the original arguments, and the host exits 0.
//!
//! The new process must start as a user's launch would. The AppImage runtime sets `APPIMAGE`,
//! `APPDIR`, `ARGV0` and `OWD` (packaging/runtime/src/launch.rs) and AppRun points
//! `QT_PLUGIN_PATH`, `QML2_IMPORT_PATH` and `QML_IMPORT_PATH` into the AppDir
//! (packaging/AppRun.c): the old mount, gone once we exit. They are removed, and so is any
//! `LD_LIBRARY_PATH` entry inside the AppDir (ours leaves it alone; another AppRun may not); the
//! new image's runtime and AppRun set their own. The runtime's keepalive pipe (inherited by the
//! app so the old mount lives as long as it does) is not passed on, so the old mount goes
//! away with this process rather than with the new one.

use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Mutex;

use crate::bridge::ffi;

const TARGET: &str = "qmlbridge::relaunch";

/// Set by the AppImage runtime: always removed.
const RUNTIME_VARS: &[&str] = &["APPIMAGE", "APPDIR", "ARGV0", "OWD"];
/// Path lists AppRun (or another AppImage's) points into the AppDir: their entries there removed.
const APPDIR_LISTS: &[&str] = &[
    "QT_PLUGIN_PATH",
    "QML2_IMPORT_PATH",
    "QML_IMPORT_PATH",
    "LD_LIBRARY_PATH",
];

/// The image to start once the host has stopped, if a restart was asked for.
static REQUESTED: Mutex<Option<PathBuf>> = Mutex::new(None);

/// Asks for a restart into `image` (the file at `$APPIMAGE`): the application quits gracefully
/// (queued, from any thread) and [`finish`] starts the image once everything is stopped.
pub(crate) fn request(image: PathBuf) {
    tracing::info!(target: TARGET, image = %image.display(), "restart asked: closing the window");
    *REQUESTED.lock().unwrap_or_else(|e| e.into_inner()) = Some(image);
    ffi::app_quit_queued();
}

/// Asks again for the quit a restart needs: a request made before the Qt application existed
/// (a rollback right at start) reached no event loop. Called when the window's QML objects are
/// created, by then the application exists.
pub(crate) fn quit_again_if_requested() {
    if requested() {
        ffi::app_quit_queued();
    }
}

/// Whether a restart was asked for (the window then closes for it).
pub(crate) fn requested() -> bool {
    REQUESTED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .is_some()
}

/// The host's exit once the window closed, the backend stopped and the lock was released: `code`
/// as it is, or, when a restart was asked for, the image started (0) or the reason it could not
/// be (logged and printed, 1).
pub(crate) fn finish(code: ExitCode) -> ExitCode {
    let Some(image) = REQUESTED.lock().unwrap_or_else(|e| e.into_inner()).take() else {
        return code;
    };
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    match spawn(&image, &args) {
        Ok(pid) => {
            tracing::info!(target: TARGET, pid, image = %image.display(), "restarted");
            ExitCode::SUCCESS
        }
        Err(e) => {
            tracing::error!(target: TARGET, image = %image.display(), "cannot restart: {e}");
            eprintln!("cannot restart {}: {e}", image.display());
            ExitCode::FAILURE
        }
    }
}

/// Starts `image args` in a session of its own (no controlling terminal, not in our process
/// group: the shell's Ctrl-C or a kill of our group does not reach it), stdin from /dev/null,
/// in the directory the user launched from, with the environment of a fresh launch.
fn spawn(image: &Path, args: &[OsString]) -> std::io::Result<u32> {
    let mut cmd = Command::new(image);
    cmd.args(args).stdin(Stdio::null());
    if let Some(owd) = std::env::var_os("OWD").filter(|d| Path::new(d).is_dir()) {
        cmd.current_dir(owd);
    }
    let appdir = std::env::var_os("APPDIR");
    for (key, value) in launch_env(std::env::vars_os(), appdir.as_deref()) {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    // SAFETY: between fork and exec only async-signal-safe system calls run (setsid, fcntl).
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid()?;
            close_inherited();
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    Ok(child.id())
}

/// Marks every descriptor above stderr close-on-exec: the runtime's keepalive pipe and anything
/// else that would stay open in the new process. (Marked rather than closed: the standard
/// library's pipe that reports an exec failure to the parent must stay open until the exec.)
fn close_inherited() {
    // close_range(2) with CLOSE_RANGE_CLOEXEC since Linux 5.11; fcntl over the usual limit before.
    // SAFETY: plain system calls on descriptor numbers, async-signal-safe.
    unsafe {
        let flag = libc::CLOSE_RANGE_CLOEXEC;
        if libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, flag) != 0 {
            for fd in 3..1024 {
                let flags = libc::fcntl(fd, libc::F_GETFD);
                if flags >= 0 {
                    libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC);
                }
            }
        }
    }
}

/// What changes in the environment of the relaunched image: `(name, None)` removed,
/// `(name, Some(value))` set. Pure, for the tests: the runtime's variables always go; the path
/// lists lose their entries inside `appdir` and go when nothing is left.
fn launch_env(
    vars: impl IntoIterator<Item = (OsString, OsString)>,
    appdir: Option<&OsStr>,
) -> Vec<(OsString, Option<OsString>)> {
    let mut out = Vec::new();
    for (key, value) in vars {
        let name = key.to_string_lossy();
        if RUNTIME_VARS.contains(&name.as_ref()) {
            out.push((key, None));
            continue;
        }
        let Some(appdir) = appdir.filter(|d| !d.is_empty()) else {
            continue;
        };
        if !APPDIR_LISTS.contains(&name.as_ref()) {
            continue;
        }
        let kept: Vec<PathBuf> = std::env::split_paths(&value)
            .filter(|p| !p.starts_with(appdir) && !p.as_os_str().is_empty())
            .collect();
        let joined = std::env::join_paths(&kept).unwrap_or_default();
        if kept.is_empty() {
            out.push((key, None));
        } else if joined != value {
            out.push((key, Some(joined)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs.iter().map(|(k, v)| (k.into(), v.into())).collect()
    }

    #[test]
    fn the_runtime_and_apprun_variables_are_removed() {
        let env = vars(&[
            ("APPIMAGE", "/home/u/App.AppImage"),
            ("APPDIR", "/tmp/.mount_Appab12"),
            ("ARGV0", "./App.AppImage"),
            ("OWD", "/home/u"),
            ("QT_PLUGIN_PATH", "/tmp/.mount_Appab12/usr/plugins"),
            ("QML2_IMPORT_PATH", "/tmp/.mount_Appab12/usr/qml"),
            ("QML_IMPORT_PATH", "/tmp/.mount_Appab12/usr/qml"),
            (
                "LD_LIBRARY_PATH",
                "/tmp/.mount_Appab12/usr/lib:/opt/mine/lib",
            ),
            ("HOME", "/home/u"),
        ]);
        let changes = launch_env(env, Some(OsStr::new("/tmp/.mount_Appab12")));
        let removed: Vec<_> = changes
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k.to_str().unwrap())
            .collect();
        assert_eq!(
            removed,
            [
                "APPIMAGE",
                "APPDIR",
                "ARGV0",
                "OWD",
                "QT_PLUGIN_PATH",
                "QML2_IMPORT_PATH",
                "QML_IMPORT_PATH"
            ]
        );
        assert!(changes.contains(&("LD_LIBRARY_PATH".into(), Some("/opt/mine/lib".into()))));
        assert!(!changes.iter().any(|(k, _)| k == "HOME"));
    }

    #[test]
    fn without_an_appdir_only_the_runtime_variables_go() {
        let env = vars(&[
            ("APPIMAGE", "/a"),
            ("QT_PLUGIN_PATH", "/usr/lib/qt6/plugins"),
        ]);
        assert_eq!(launch_env(env, None), [("APPIMAGE".into(), None)]);
    }
}
