//! The payload as a read-only FUSE filesystem (`fuser`, which speaks the kernel protocol itself
//! and mounts through `fusermount3`/`fusermount`, or directly as root: no libfuse). Inode numbers
//! are entry indices + 1 (FUSE's root is inode 1); nothing ever changes, so the kernel may cache
//! attributes, names and file pages for as long as the mount lives.

use std::ffi::OsStr;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, LockOwner,
    OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyEntry, ReplyOpen, ReplyStatfs, Request,
};

use crate::squash::{Image, Kind};

/// How long the kernel may keep what we told it: the image never changes while mounted.
const TTL: Duration = Duration::from_secs(24 * 3600);

/// The filesystem served for one mount.
#[derive(Debug)]
pub struct SquashFs {
    image: Image,
    uid: u32,
    gid: u32,
}

impl SquashFs {
    /// Serves `image`; entries appear owned by `uid`/`gid`, the user who mounted (the payload is
    /// built `-root-owned`; a user's view then matches what an extraction writes).
    pub fn new(image: Image, uid: u32, gid: u32) -> Self {
        SquashFs { image, uid, gid }
    }

    fn entry(&self, ino: INodeNo) -> Option<usize> {
        let i = usize::try_from(ino.0).ok()?.checked_sub(1)?;
        (i < self.image.entries.len()).then_some(i)
    }

    fn attr(&self, i: usize) -> FileAttr {
        let e = &self.image.entries[i];
        let (kind, size, nlink) = match &e.kind {
            Kind::Dir(children) => (FileType::Directory, 0, 2 + children.len() as u32),
            Kind::File(data) => (FileType::RegularFile, data.len, 1),
            Kind::Symlink(target) => (FileType::Symlink, target.as_os_str().len() as u64, 1),
            Kind::Other => (FileType::RegularFile, 0, 1),
        };
        let mtime = UNIX_EPOCH + Duration::from_secs(u64::from(e.header.mtime));
        FileAttr {
            ino: INodeNo(i as u64 + 1),
            size,
            blocks: size.div_ceil(512),
            atime: mtime,
            mtime,
            ctime: mtime,
            crtime: mtime,
            kind,
            perm: e.header.permissions & 0o7777,
            nlink,
            uid: self.uid,
            gid: self.gid,
            rdev: 0,
            blksize: 4096,
            flags: 0,
        }
    }

    fn file_type(&self, i: usize) -> FileType {
        self.attr(i).kind
    }
}

impl Filesystem for SquashFs {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let Some(dir) = self.entry(parent) else {
            return reply.error(Errno::ENOENT);
        };
        match self.image.child(dir, name) {
            Some(i) => reply.entry(&TTL, &self.attr(i), Generation(0)),
            // A negative entry (node id 0) the kernel caches too: Qt and the loader probe many
            // paths that never exist, each a round trip otherwise.
            None => {
                let mut absent = self.attr(dir);
                absent.ino = INodeNo(0);
                reply.entry(&TTL, &absent, Generation(0))
            }
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.entry(ino) {
            Some(i) => reply.attr(&TTL, &self.attr(i)),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        match self.entry(ino).map(|i| &self.image.entries[i].kind) {
            Some(Kind::Symlink(target)) => reply.data(target.as_os_str().as_encoded_bytes()),
            Some(_) => reply.error(Errno::EINVAL),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        if flags.0 & libc::O_ACCMODE != libc::O_RDONLY {
            return reply.error(Errno::EROFS);
        }
        match self.entry(ino) {
            // Pages stay cached across opens: the loader opens each library more than once.
            Some(_) => reply.opened(FileHandle(0), FopenFlags::FOPEN_KEEP_CACHE),
            None => reply.error(Errno::ENOENT),
        }
    }

    fn read(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let Some(i) = self.entry(ino) else {
            return reply.error(Errno::ENOENT);
        };
        let Kind::File(data) = &self.image.entries[i].kind else {
            return reply.error(Errno::EINVAL);
        };
        match self.image.read(data, offset, size) {
            Ok(bytes) => reply.data(&bytes),
            Err(e) => {
                eprintln!(
                    "qmlbridge-runtime: reading {}: {e}",
                    self.image.entries[i].path.display()
                );
                reply.error(Errno::EIO)
            }
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let Some(i) = self.entry(ino) else {
            return reply.error(Errno::ENOENT);
        };
        let Kind::Dir(children) = &self.image.entries[i].kind else {
            return reply.error(Errno::ENOTDIR);
        };
        let parent = self.image.entries[i].parent;
        let dots = [(i, OsStr::new(".")), (parent, OsStr::new(".."))];
        let all = dots
            .into_iter()
            .chain(children.iter().map(|&c| (c, self.image.name(c))));
        for (n, (entry, name)) in all.enumerate().skip(offset as usize) {
            // The offset given back is where the next call resumes.
            if reply.add(
                INodeNo(entry as u64 + 1),
                n as u64 + 1,
                self.file_type(entry),
                name,
            ) {
                break;
            }
        }
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        let files = self.image.entries.len() as u64;
        reply.statfs(0, 0, 0, files, 0, 4096, 255, 4096);
    }
}

/// Whether `path` is a FUSE mount point now (per `/proc/self/mountinfo`).
pub fn is_mounted(path: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = path.to_string_lossy().replace(' ', "\\040");
    info.lines()
        .any(|l| l.split(' ').nth(4) == Some(want.as_str()))
}
