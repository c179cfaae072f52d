//! Where the new image is written and how it replaces the running one, so that no partial or
//! unverified file can ever be executed and a kill at any moment leaves a working image:
//!
//! - the download goes to `.<image name>.download` in the image's own directory (same file
//!   system, so the final rename is atomic), hidden and mode 0644: never executable while it is
//!   incomplete or unverified. A stale one from a killed run is removed by the next run;
//! - once verified it is made 0755 and fsynced; the current image is hard-linked to
//!   `.<image name>.previous` (through a temporary name, so an older previous image is replaced
//!   atomically: one previous image is kept, the one before the latest update);
//! - the staged file is renamed over the image and the directory fsynced.
//!
//! Whether the image may be replaced at all ([`writable`]) is decided before anything is written.

use std::fs::{File, OpenOptions, Permissions};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use nix::unistd::AccessFlags;

use crate::{Error, Result};

/// Directories that belong to the system's package manager when root owns them.
const SYSTEM_DIRS: &[&str] = &[
    "/usr", "/opt", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/snap", "/etc",
];

/// The files of one image's update, all in the image's directory.
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    /// The image, symbolic links resolved (the file is replaced, not the link).
    pub(crate) image: PathBuf,
    pub(crate) dir: PathBuf,
    /// `.<name>.download`.
    pub(crate) staged: PathBuf,
    /// `.<name>.previous`.
    pub(crate) previous: PathBuf,
    /// `.<name>.previous.tmp`: the link being made.
    previous_tmp: PathBuf,
}

impl Paths {
    pub(crate) fn of(image: &Path) -> Result<Paths> {
        let image = std::fs::canonicalize(image).map_err(Error::io("find", image))?;
        let (Some(dir), Some(name)) = (image.parent(), image.file_name()) else {
            return Err(Error::Io {
                action: "update",
                path: image.clone(),
                source: std::io::Error::other("not a file"),
            });
        };
        let hidden = |suffix: &str| {
            let mut n = std::ffi::OsString::from(".");
            n.push(name);
            n.push(suffix);
            dir.join(n)
        };
        Ok(Paths {
            dir: dir.to_owned(),
            staged: hidden(".download"),
            previous: hidden(".previous"),
            previous_tmp: hidden(".previous.tmp"),
            image,
        })
    }

    /// An exclusive lock on the image (flock(2) on its file, released when the returned handle
    /// is dropped or the process dies), so two updates never share the staged file.
    pub(crate) fn lock(&self) -> Result<nix::fcntl::Flock<File>> {
        let file = File::open(&self.image).map_err(Error::io("read", &self.image))?;
        nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusiveNonblock).map_err(
            |(_, errno)| match errno {
                nix::errno::Errno::EWOULDBLOCK => Error::Busy(self.image.clone()),
                other => Error::io("lock", &self.image)(other.into()),
            },
        )
    }

    /// A fresh staged file, mode 0644, any stale one from a killed run removed first.
    pub(crate) fn create_staged(&self) -> Result<File> {
        remove_if_there(&self.staged)?;
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&self.staged)
            .map_err(Error::io("create", &self.staged))
    }

    /// The verified staged file made executable and durable, the current image kept as the
    /// previous one.
    pub(crate) fn prepare(&self, staged: &File) -> Result<()> {
        staged
            .set_permissions(Permissions::from_mode(0o755))
            .map_err(Error::io("make executable", &self.staged))?;
        staged.sync_all().map_err(Error::io("sync", &self.staged))?;
        remove_if_there(&self.previous_tmp)?;
        if std::fs::hard_link(&self.image, &self.previous_tmp).is_err() {
            // A file system without hard links: a copy does the same, slower.
            std::fs::copy(&self.image, &self.previous_tmp)
                .map_err(Error::io("copy", &self.image))?;
            File::open(&self.previous_tmp)
                .and_then(|f| f.sync_all())
                .map_err(Error::io("sync", &self.previous_tmp))?;
        }
        std::fs::rename(&self.previous_tmp, &self.previous)
            .map_err(Error::io("rename", &self.previous_tmp))?;
        // rename(2) does nothing when both names are links to one file (a previous run linked
        // the image and was killed before replacing it): the temporary name is still there.
        remove_if_there(&self.previous_tmp)
    }

    /// The staged file renamed over the image, durably.
    pub(crate) fn replace(&self) -> Result<()> {
        pause_before_replace();
        std::fs::rename(&self.staged, &self.image).map_err(Error::io("rename", &self.staged))?;
        sync_dir(&self.dir)
    }

    /// The previous image renamed back over the image, durably.
    pub(crate) fn restore_previous(&self) -> Result<()> {
        std::fs::rename(&self.previous, &self.image)
            .map_err(Error::io("rename", &self.previous))?;
        sync_dir(&self.dir)
    }
}

/// Whether `image` can be replaced where it is: its directory lets this user create and rename
/// files, the image itself is writable, neither is on a read-only or immutable file system, and
/// the directory is not a root-owned system directory (`/usr`, `/opt`, ...: the package
/// manager's). Permission bits are read as they apply to this user's ids without the
/// capabilities that let root write anywhere, so an app run as root refuses too; then access(2)
/// adds what bits do not show (read-only mounts, `chattr +i`, ACLs). Nothing is written.
pub fn writable(image: &Path) -> Result<()> {
    let paths = Paths::of(image)?;
    let meta = std::fs::metadata(&paths.image).map_err(Error::io("read", &paths.image))?;
    let dir_meta = std::fs::metadata(&paths.dir).map_err(Error::io("read", &paths.dir))?;
    let refuse = |dir: &Path, problem: String| {
        Err(Error::NotWritable {
            dir: dir.to_owned(),
            problem,
        })
    };
    if dir_meta.uid() == 0 && SYSTEM_DIRS.iter().any(|s| paths.dir.starts_with(s)) {
        return refuse(
            &paths.dir,
            "a system directory owned by root, managed by the package manager or an administrator"
                .to_owned(),
        );
    }
    if !bits_allow(&dir_meta, 0o3) {
        return refuse(
            &paths.dir,
            format!(
                "mode {:04o} lets this user create no file in it",
                dir_meta.mode() & 0o7777
            ),
        );
    }
    if !bits_allow(&meta, 0o2) {
        return refuse(
            &paths.image,
            format!("mode {:04o}: the image is read-only", meta.mode() & 0o7777),
        );
    }
    let access = |path: &Path, flags| {
        nix::unistd::access(path, flags).map_err(|e| Error::NotWritable {
            dir: path.to_owned(),
            problem: match e {
                nix::errno::Errno::EROFS => "a read-only file system".to_owned(),
                nix::errno::Errno::EPERM => "immutable (chattr +i)".to_owned(),
                other => other.desc().to_owned(),
            },
        })
    };
    access(&paths.dir, AccessFlags::W_OK | AccessFlags::X_OK)?;
    access(&paths.image, AccessFlags::W_OK)
}

/// Whether `meta`'s permission bits grant `want` (rwx as 4, 2, 1) to this process's ids: the
/// owner's bits if it owns the file, else the group's if it is in the group, else the others'.
fn bits_allow(meta: &std::fs::Metadata, want: u32) -> bool {
    let mode = meta.mode();
    let uid = nix::unistd::geteuid().as_raw();
    let bits = if meta.uid() == uid {
        mode >> 6
    } else if meta.gid() == nix::unistd::getegid().as_raw()
        || nix::unistd::getgroups()
            .unwrap_or_default()
            .iter()
            .any(|g| g.as_raw() == meta.gid())
    {
        mode >> 3
    } else {
        mode
    };
    bits & want == want
}

fn remove_if_there(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io("remove", path)(e)),
        _ => Ok(()),
    }
}

/// Makes the directory's entries (a rename) durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io("sync", dir))
}

/// Tests kill the updater right before the rename: with `QMLBRIDGE_UPDATE_TEST_PAUSE` naming a
/// file, debug builds create it and wait to be killed.
fn pause_before_replace() {
    #[cfg(debug_assertions)]
    if let Some(flag) = std::env::var_os("QMLBRIDGE_UPDATE_TEST_PAUSE") {
        let _ = std::fs::write(flag, b"");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(60));
        }
    }
}
