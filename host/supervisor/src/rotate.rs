//! The one size-rotating log writer of the product (docs/contract.md §6): `backend.log` (the
//! backend's drained output) and the Qt host's `host.log` (its tracing subscriber, through
//! [`RotatingLog`]'s `MakeWriter`) both go through it, with the same bound: no file grows past
//! `max_bytes`, and at most `keep` rotated copies (`<name>.1` newest .. `<name>.<keep>` oldest)
//! exist beside it.
//!
//! The bound holds across runs too: what an earlier run left behind (a file written under a larger
//! bound, or by a version that did not rotate, or copies beyond `keep`) is cut back when the file
//! is opened. Each file has one writing process: the host's single-instance lock guarantees that
//! for a data dir in Bundled mode.

use std::fs::{self, DirBuilder, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use tracing_subscriber::fmt::MakeWriter;

/// Default bound of every log file: 5 MiB.
pub const LOG_MAX_BYTES: u64 = 5 * 1024 * 1024;
/// Default number of rotated copies kept beside each log file.
pub const LOG_KEEP: usize = 3;

/// An append-only file that rotates to `.1`, `.2`, ... before a record would take it past
/// `max_bytes`.
pub(crate) struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    file: File,
    size: u64,
    /// The last write failed: the next failure is not worth another report.
    failing: bool,
}

fn append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

impl RotatingFile {
    fn open(path: &Path, max_bytes: u64, keep: usize) -> io::Result<RotatingFile> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            // Logs may quote what the app does: private, like the data dir they live in.
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)?;
        }
        let file = append(path)?;
        let size = file.metadata()?.len();
        let mut log = RotatingFile {
            path: path.to_path_buf(),
            max_bytes: max_bytes.max(1),
            keep,
            file,
            size,
            failing: false,
        };
        log.enforce_bound()?;
        Ok(log)
    }

    fn numbered(&self, n: usize) -> PathBuf {
        PathBuf::from(format!("{}.{n}", self.path.display()))
    }

    /// Cuts back what an earlier run left: an oversized file rotates, oversized copies keep their
    /// last `max_bytes`, copies numbered past `keep` are removed.
    fn enforce_bound(&mut self) -> io::Result<()> {
        if self.size > self.max_bytes {
            self.rotate()?;
        }
        for n in 1..=self.keep {
            shrink_to_tail(&self.numbered(n), self.max_bytes)?;
        }
        let (Some(dir), Some(name)) = (self.path.parent(), self.path.file_name()) else {
            return Ok(());
        };
        let prefix = format!("{}.", name.to_string_lossy());
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        for entry in fs::read_dir(dir)?.flatten() {
            let entry_name = entry.file_name();
            let extra = entry_name
                .to_str()
                .and_then(|n| n.strip_prefix(&prefix))
                .and_then(|n| n.parse::<usize>().ok())
                .is_some_and(|n| n > self.keep);
            if extra {
                fs::remove_file(entry.path())?;
            }
        }
        Ok(())
    }

    /// Appends `data` as one record: rotates first when it would not fit, and splits a record
    /// larger than the bound itself across files, so no file ever exceeds `max_bytes`.
    fn write_record(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            if self.size > 0 && self.size + data.len() as u64 > self.max_bytes {
                self.rotate()?;
            }
            // Here size + len <= max, or size == 0: the room is at least 1 byte.
            let room = usize::try_from(self.max_bytes - self.size).unwrap_or(usize::MAX);
            let (now, rest) = data.split_at(data.len().min(room));
            self.file.write_all(now)?;
            self.size += now.len() as u64;
            data = rest;
        }
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        if self.keep == 0 {
            fs::remove_file(&self.path)?;
        } else {
            for n in (1..self.keep).rev() {
                let _ = fs::rename(self.numbered(n), self.numbered(n + 1));
            }
            fs::rename(&self.path, self.numbered(1))?;
        }
        self.file = append(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

/// Keeps the last `max_bytes` of `path` (from the first whole line on), when it is larger.
fn shrink_to_tail(path: &Path, max_bytes: u64) -> io::Result<()> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    if len <= max_bytes {
        return Ok(());
    }
    file.seek(SeekFrom::Start(len - max_bytes))?;
    let mut tail = Vec::new();
    file.take(max_bytes).read_to_end(&mut tail)?;
    let start = tail.iter().position(|&b| b == b'\n').map_or(0, |nl| nl + 1);
    fs::write(path, &tail[start..])
}

/// A [`RotatingFile`] shared by every writer of one log: the drains of all backend processes of
/// a session, or every thread's tracing events. As a [`MakeWriter`] each event is one record.
///
/// ```no_run
/// use qmlbridge_supervisor::{LOG_KEEP, LOG_MAX_BYTES, RotatingLog};
///
/// let log = RotatingLog::open("var/log/host.log".as_ref(), LOG_MAX_BYTES, LOG_KEEP)?;
/// tracing_subscriber::fmt().with_ansi(false).with_writer(log).init();
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone)]
pub struct RotatingLog(Arc<Mutex<RotatingFile>>);

impl RotatingLog {
    /// Opens (creating it and its directory, 0700) `path` for appending; `max_bytes` bounds every
    /// file (at least 1), `keep` rotated copies are kept. Cuts back what an earlier run left.
    pub fn open(path: &Path, max_bytes: u64, keep: usize) -> io::Result<RotatingLog> {
        let file = RotatingFile::open(path, max_bytes, keep)?;
        Ok(RotatingLog(Arc::new(Mutex::new(file))))
    }

    fn lock(&self) -> MutexGuard<'_, RotatingFile> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends one line (a newline is added). Returns the error only when the previous write
    /// succeeded, so a full disk is reported once, not once per line.
    pub(crate) fn write_line(&self, line: &[u8]) -> Option<io::Error> {
        let mut file = self.lock();
        match file.write_record(&[line, b"\n"].concat()) {
            Ok(()) => {
                file.failing = false;
                None
            }
            Err(e) => (!std::mem::replace(&mut file.failing, true)).then_some(e),
        }
    }
}

/// One tracing event's access to a [`RotatingLog`]: holds the lock, so events never interleave.
pub struct RotatingLogWriter<'a>(MutexGuard<'a, RotatingFile>);

impl io::Write for RotatingLogWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write_record(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(()) // unbuffered: every record is a write(2)
    }
}

impl<'a> MakeWriter<'a> for RotatingLog {
    type Writer = RotatingLogWriter<'a>;

    fn make_writer(&'a self) -> RotatingLogWriter<'a> {
        RotatingLogWriter(self.lock())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(dir: &Path) -> Vec<(String, u64)> {
        let mut files: Vec<(String, u64)> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .map(|e| {
                let name = e.file_name().into_string().unwrap();
                (name, e.metadata().unwrap().len())
            })
            .collect();
        files.sort();
        files
    }

    #[test]
    fn rotates_by_size_and_keeps_n() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("backend.log");
        let log = RotatingLog::open(&path, 100, 3).unwrap();
        for i in 0..100 {
            assert!(
                log.write_line(format!("line {i:04} ......").as_bytes())
                    .is_none()
            );
        }
        let files = listing(tmp.path());
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "backend.log",
                "backend.log.1",
                "backend.log.2",
                "backend.log.3"
            ]
        );
        assert!(files.iter().all(|(_, len)| *len <= 100), "{files:?}");
        let newest = fs::read_to_string(&path).unwrap();
        assert!(newest.ends_with("line 0099 ......\n"), "{newest}");
        let older = fs::read_to_string(tmp.path().join("backend.log.1")).unwrap();
        assert!(older.contains("line 0094"), "{older}");
    }

    #[test]
    fn a_record_larger_than_the_bound_is_split() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("host.log");
        let log = RotatingLog::open(&path, 64, 10).unwrap();
        log.write_line(&[b'a'; 200]);
        let files = listing(tmp.path());
        assert_eq!(files.len(), 4, "{files:?}");
        assert!(files.iter().all(|(_, len)| *len <= 64), "{files:?}");
        let total: u64 = files.iter().map(|(_, len)| len).sum();
        assert_eq!(total, 201);
    }

    #[test]
    fn what_an_earlier_run_left_is_cut_back_at_open() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("host.log");
        let big: String = (0..1000).map(|i| format!("old line {i}\n")).collect();
        fs::write(&path, &big).unwrap();
        fs::write(tmp.path().join("host.log.1"), &big).unwrap();
        fs::write(tmp.path().join("host.log.7"), "beyond keep\n").unwrap();
        fs::write(tmp.path().join("host.log.old"), "not a copy\n").unwrap();
        let _log = RotatingLog::open(&path, 1024, 2).unwrap();
        let files = listing(tmp.path());
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["host.log", "host.log.1", "host.log.2", "host.log.old"]
        );
        for (name, len) in &files[..3] {
            assert!(*len <= 1024, "{name}: {len}");
        }
        let kept = fs::read_to_string(tmp.path().join("host.log.1")).unwrap();
        assert!(kept.starts_with("old line ") && kept.ends_with("old line 999\n"));
    }

    /// The host's use: a tracing subscriber writing through the `MakeWriter`, with a tiny bound.
    #[test]
    fn tracing_events_rotate_within_the_bound() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("var/log/host.log");
        let log = RotatingLog::open(&path, 512, 2).unwrap();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer(log)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..2000 {
                tracing::info!(target: "qmlbridge::host", "event {i}");
            }
        });
        let files = listing(&tmp.path().join("var/log"));
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["host.log", "host.log.1", "host.log.2"]);
        assert!(files.iter().all(|(_, len)| *len <= 512), "{files:?}");
        let newest = fs::read_to_string(&path).unwrap();
        assert!(newest.trim_end().ends_with("event 1999"), "{newest}");
        assert!(newest.lines().all(|l| l.contains("event ")), "whole events");
    }
}
