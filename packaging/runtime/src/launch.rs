//! Starting the app the type-2 way: the runtime `exec`s AppRun (so the image's pid *is* the app:
//! its exit status, its signals) after a forked helper took over the mount or the temporary tree.
//! The helper holds the read end of a "keepalive" pipe whose write end the app inherits; when
//! the app and everything it started are gone, however they ended (SIGKILL included), the pipe
//! reads end-of-file and the helper unmounts and removes what it owns. The helper starts its own
//! session, so a Ctrl-C or a signal to the app's process group does not take the mount with it.
//!
//! See: <https://github.com/AppImage/AppImageSpec/blob/master/draft.md#type-2-image-format>

use std::ffi::OsString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use fuser::{Config, MountOption, Session, SessionACL};

use crate::error::{Error, Result};
use crate::fs::{SquashFs, is_mounted};
use crate::squash::{Image, Kind};

/// Smaller files are not worth a read-ahead of their own.
const WARM_MIN_BYTES: u64 = 64 * 1024;
/// Larger ones are data mapped sparsely (ICU's 30 MB tables): reading them whole costs more
/// than the pages the app touches.
const WARM_MAX_BYTES: u64 = 16 * 1024 * 1024;
use crate::sys::{self, Forked};

/// What every start knows about itself.
#[derive(Debug, Clone)]
pub struct Me {
    /// The image file (APPIMAGE: `/proc/self/exe` resolved).
    pub image: PathBuf,
    /// Where the payload starts.
    pub offset: u64,
    /// argv[0] as given (ARGV0).
    pub argv0: OsString,
}

/// Replaces this process with `appdir/AppRun args`, the spec's variables set. Returns only on
/// failure.
pub fn exec_app(me: &Me, appdir: &Path, args: &[OsString]) -> Error {
    let apprun = appdir.join("AppRun");
    let owd = std::env::current_dir().unwrap_or_default();
    let err = Command::new(&apprun)
        .args(args)
        .env("APPIMAGE", &me.image)
        .env("APPDIR", appdir)
        .env("ARGV0", &me.argv0)
        .env("OWD", owd)
        .exec();
    if err.kind() == std::io::ErrorKind::NotFound {
        return Error::Image(format!(
            "the image has no AppRun at its root ({})",
            apprun.display()
        ));
    }
    Error::Exec {
        path: apprun,
        source: err,
    }
}

/// A fresh private directory `<TMPDIR or /tmp>/<prefix><random>`.
pub fn temp_dir(prefix: &str) -> Result<PathBuf> {
    let base = std::env::var_os("TMPDIR")
        .filter(|t| Path::new(t).is_absolute())
        .map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    for attempt in 0..100u128 {
        let n = (seed ^ (u128::from(std::process::id()) << 32)).wrapping_add(attempt * 7919);
        let dir = base.join(format!("{prefix}{:06x}", n % 0xff_ffff));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io("cannot create", dir)(e)),
        }
    }
    Err(Error::Io {
        what: "cannot create a temporary directory in",
        path: base,
        source: std::io::ErrorKind::AlreadyExists.into(),
    })
}

/// Why FUSE cannot be used here, or `None` when it may: checked before anything is forked so the
/// common refusals cost nothing. A mount that fails anyway is reported by [`mount_helper`].
pub fn fuse_unusable() -> Option<String> {
    if let Err(e) = File::options().read(true).write(true).open("/dev/fuse") {
        return Some(match e.kind() {
            std::io::ErrorKind::NotFound => "/dev/fuse does not exist".into(),
            std::io::ErrorKind::PermissionDenied => "/dev/fuse is not open to this user".into(),
            _ => format!("/dev/fuse cannot be opened: {e}"),
        });
    }
    if sys::euid() != 0 && fusermount().is_none() {
        return Some("neither fusermount3 nor fusermount is installed (package fuse3)".into());
    }
    None
}

/// The mount helper a user needs: `fusermount3` (FUSE 3), else `fusermount` (FUSE 2), looked up
/// in PATH and then where distributions put them.
pub fn fusermount() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    dirs.extend(["/usr/bin", "/bin", "/usr/sbin", "/sbin"].map(PathBuf::from));
    ["fusermount3", "fusermount"]
        .iter()
        .flat_map(|name| dirs.iter().map(move |d| d.join(name)))
        .find(|p| p.is_file())
}

/// Detaches the mount at `mountpoint`: directly as root, else through the helper.
fn unmount(mountpoint: &Path) {
    if sys::euid() == 0 && sys::umount_lazy(mountpoint).is_ok() {
        return;
    }
    if let Some(helper) = fusermount() {
        let _ = Command::new(helper)
            .args(["-u", "-q", "-z", "--"])
            .arg(mountpoint)
            .status();
    }
}

/// Mounts the payload at a fresh `.mount_*` directory from a forked helper that keeps serving it
/// until the keepalive pipe closes; returns the mount point and the pipe's write end, which the
/// app must inherit. `Err` carries why the mount failed (the caller falls back to the cache).
pub fn mount_helper(me: &Me) -> std::result::Result<(PathBuf, File), String> {
    let stem = me.image.file_name().unwrap_or_default().to_string_lossy();
    let prefix: String = stem
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(6)
        .collect();
    let mountpoint = temp_dir(&format!(".mount_{prefix}")).map_err(|e| e.to_string())?;
    let (keep_r, keep_w) = sys::pipe().map_err(|e| format!("pipe: {e}"))?;
    let (ready_r, ready_w) = sys::pipe().map_err(|e| format!("pipe: {e}"))?;
    match sys::fork().map_err(|e| format!("fork: {e}"))? {
        Forked::Child => {
            drop((keep_w, ready_r));
            sys::setsid();
            sys::ignore_terminal_signals();
            let code = serve(me, &mountpoint, ready_w, keep_r);
            std::process::exit(code);
        }
        Forked::Parent(pid) => {
            drop((keep_r, ready_w));
            let mut answer = String::new();
            let _ = (&ready_r).read_to_string(&mut answer);
            if answer == "ok\n" {
                sys::keep_across_exec(&keep_w).map_err(|e| format!("fcntl: {e}"))?;
                return Ok((mountpoint, keep_w));
            }
            let _ = sys::wait(pid);
            let _ = std::fs::remove_dir(&mountpoint);
            Err(if answer.is_empty() {
                "the mount helper died".into()
            } else {
                answer
            })
        }
    }
}

/// The helper's life: mount, say "ok", serve until the app is gone, unmount, remove the mount
/// point. Returns its exit status.
fn serve(me: &Me, mountpoint: &Path, mut ready: File, keepalive: File) -> i32 {
    let (uid, gid) = sys::ids();
    let mut warm = Vec::new();
    let session = Image::open(&me.image, me.offset).and_then(|image| {
        warm = warm_list(&image);
        let name = me
            .image
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .replace(',', "_");
        let config = mount_config(Some(name));
        Session::new(SquashFs::new(image, uid, gid), mountpoint, &config)
            .map_err(|e| Error::Fuse(e.to_string()))
    });
    let background = match session.map(|s| s.spawn()) {
        Ok(Ok(bg)) => bg,
        Ok(Err(e)) => {
            let _ = write!(ready, "the FUSE session did not start: {e}");
            return 1;
        }
        Err(e) => {
            let _ = write!(ready, "{e}");
            let _ = std::fs::remove_dir(mountpoint);
            return 1;
        }
    };
    warm_page_cache(mountpoint, warm);
    let _ = ready.write_all(b"ok\n");
    drop(ready);
    sys::detach_stdio();
    wait_for_eof(keepalive);
    unmount(mountpoint);
    if !is_mounted(mountpoint) {
        let _ = std::fs::remove_dir(mountpoint);
    }
    // Exiting closes /dev/fuse; the session thread is not joined (a busy mount would keep it).
    std::mem::forget(background);
    0
}

/// Read-only, no devices, no setuid, only for the user who mounted (no `allow_other`, which
/// fusermount refuses unless /etc/fuse.conf allows it).
fn mount_config(fsname: Option<String>) -> Config {
    let mut config = Config::default();
    config.mount_options = vec![MountOption::RO, MountOption::NoDev, MountOption::NoSuid];
    config.mount_options.extend(fsname.map(MountOption::FSName));
    config
        .mount_options
        .push(MountOption::Subtype("qmlbridge".into()));
    config.acl = SessionACL::Owner;
    // Two cores decompress two blocks at once while the loader faults pages in.
    config.n_threads = Some(2);
    config
}

/// Files worth reading ahead: the executables and libraries (what the loader maps first), in
/// the payload's order.
fn warm_list(image: &Image) -> Vec<PathBuf> {
    image
        .entries
        .iter()
        .filter(|e| matches!(&e.kind, Kind::File(d) if (WARM_MIN_BYTES..=WARM_MAX_BYTES).contains(&d.len)))
        .filter(|e| {
            let p = e.path.to_string_lossy();
            p.starts_with("/usr/lib/") || p.starts_with("/usr/bin/") || p.contains("/bin/")
        })
        .map(|e| e.path.strip_prefix("/").unwrap_or(&e.path).to_owned())
        .collect()
}

/// Reads `files` through the mount on a thread of its own while the app starts, so the kernel's
/// page cache holds them (FOPEN_KEEP_CACHE) before the loader faults their pages in one
/// round trip at a time: on two cores the decompression overlaps the app's own start.
fn warm_page_cache(mountpoint: &Path, files: Vec<PathBuf>) {
    let root = mountpoint.to_owned();
    let _ = std::thread::Builder::new()
        .name("warm".into())
        .spawn(move || {
            let mut buf = vec![0; 1 << 20];
            for rel in files {
                let Ok(mut f) = File::open(root.join(rel)) else {
                    continue;
                };
                while matches!(f.read(&mut buf), Ok(n) if n > 0) {}
            }
        });
}

/// Blocks until every holder of the pipe's write end is gone.
fn wait_for_eof(mut keepalive: File) {
    let mut buf = [0u8; 64];
    loop {
        match keepalive.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return,
        }
    }
}

/// Forks a helper that removes `dir` once the app is gone; returns the pipe end the app must
/// inherit (`--appimage-extract-and-run`'s cleanup).
pub fn remove_when_done(dir: &Path) -> Result<File> {
    let (keep_r, keep_w) = sys::pipe().map_err(Error::io("cannot create a pipe for", dir))?;
    match sys::fork().map_err(Error::io("cannot fork a cleanup helper for", dir))? {
        Forked::Child => {
            drop(keep_w);
            sys::setsid();
            sys::ignore_terminal_signals();
            sys::detach_stdio();
            wait_for_eof(keep_r);
            crate::cache::remove_tree(dir);
            std::process::exit(0);
        }
        Forked::Parent(_) => {
            drop(keep_r);
            sys::keep_across_exec(&keep_w).map_err(Error::io("cannot pass a pipe for", dir))?;
            Ok(keep_w)
        }
    }
}

/// `--appimage-mount`: mounts in this process, prints the mount point, serves until SIGINT,
/// SIGTERM or SIGHUP, then unmounts.
pub fn mount_foreground(me: &Me) -> Result<i32> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .map_err(|e| Error::Fuse(format!("cannot handle signals: {e}")))?;
    let image = Image::open(&me.image, me.offset)?;
    let mountpoint = temp_dir(".mount_")?;
    let (uid, gid) = sys::ids();
    let config = mount_config(None);
    let session = Session::new(SquashFs::new(image, uid, gid), &mountpoint, &config)
        .and_then(Session::spawn)
        .map_err(|e| {
            let _ = std::fs::remove_dir(&mountpoint);
            Error::Fuse(format!("cannot mount at {}: {e}", mountpoint.display()))
        })?;
    println!("{}", mountpoint.display());
    let _ = std::io::stdout().flush();
    let _ = signals.forever().next();
    unmount(&mountpoint);
    let _ = std::fs::remove_dir(&mountpoint);
    std::mem::forget(session);
    Ok(0)
}
