//! The backend's output (issue 3, bundled start step 6; docs/contract.md §6): both pipes are
//! drained at all times, so a chatty backend never blocks on a full pipe, into
//! `<data>/var/log/backend.log`, rotated by size (default 5 MB, `backend.log.1` ..
//! `backend.log.3` kept), and re-emitted line by line under the tracing target `backend`.
//! The last stderr lines of each process are kept for error messages.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;
use tokio::task::JoinHandle;

/// How many stderr lines an error message quotes.
pub(crate) const TAIL_LINES: usize = 10;
/// A line longer than this is cut into pieces (a backend printing without newlines).
const MAX_LINE: usize = 16 * 1024;

/// An append-only file that rotates to `.1`, `.2`, ... when it would grow past `max_bytes`.
pub(crate) struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    file: File,
    size: u64,
}

impl RotatingFile {
    pub fn open(path: &Path, max_bytes: u64, keep: usize) -> io::Result<RotatingFile> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(RotatingFile {
            path: path.to_path_buf(),
            max_bytes: max_bytes.max(1),
            keep,
            file,
            size,
        })
    }

    /// Appends one line (a newline is added); rotates first when the line would not fit.
    pub fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        let len = line.len() as u64 + 1;
        if self.size > 0 && self.size + len > self.max_bytes {
            self.rotate()?;
        }
        self.file.write_all(&[line, b"\n"].concat())?;
        self.size += len;
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        let numbered = |n: usize| PathBuf::from(format!("{}.{n}", self.path.display()));
        if self.keep == 0 {
            fs::remove_file(&self.path)?;
        } else {
            for n in (1..self.keep).rev() {
                let _ = fs::rename(numbered(n), numbered(n + 1));
            }
            fs::rename(&self.path, numbered(1))?;
        }
        self.file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

/// The last [`TAIL_LINES`] lines of one process's stderr.
#[derive(Clone, Default)]
pub(crate) struct Tail(Arc<Mutex<VecDeque<String>>>);

impl Tail {
    fn push(&self, line: String) {
        let mut lines = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if lines.len() == TAIL_LINES {
            lines.pop_front();
        }
        lines.push_back(line);
    }

    pub fn lines(&self) -> Vec<String> {
        let lines = self.0.lock().unwrap_or_else(|e| e.into_inner());
        lines.iter().cloned().collect()
    }
}

/// The shared log file of one supervisor (all processes, both pipes).
pub(crate) type SharedLog = Arc<Mutex<RotatingFile>>;

/// Drains `fd` until EOF into `log` and tracing; stderr lines also go to `tail`.
pub(crate) fn drain(fd: OwnedFd, pid: u32, log: SharedLog, tail: Option<Tail>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let Ok(mut rx) = pipe::Receiver::from_owned_fd(fd) else {
            return;
        };
        let mut buf = vec![0u8; 8192];
        let mut pending: Vec<u8> = Vec::new();
        loop {
            let n = match rx.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            pending.extend_from_slice(&buf[..n]);
            while let Some(end) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=end).collect();
                emit(&line[..end], pid, &log, tail.as_ref());
            }
            if pending.len() > MAX_LINE {
                emit(&std::mem::take(&mut pending), pid, &log, tail.as_ref());
            }
        }
        if !pending.is_empty() {
            emit(&pending, pid, &log, tail.as_ref());
        }
    })
}

fn emit(line: &[u8], pid: u32, log: &SharedLog, tail: Option<&Tail>) {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = String::from_utf8_lossy(line);
    tracing::info!(target: "backend", pid, "{text}");
    if let Err(e) = log
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .write_line(line)
    {
        tracing::warn!(target: "qmlbridge::supervisor", "backend.log: {e}");
    }
    if let Some(tail) = tail {
        tail.push(text.into_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_by_size_and_keeps_n() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("backend.log");
        let mut f = RotatingFile::open(&path, 100, 3).unwrap();
        for i in 0..100 {
            f.write_line(format!("line {i:04} ......").as_bytes())
                .unwrap();
        }
        let mut names: Vec<String> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                "backend.log",
                "backend.log.1",
                "backend.log.2",
                "backend.log.3"
            ]
        );
        for name in &names {
            assert!(fs::metadata(tmp.path().join(name)).unwrap().len() <= 100);
        }
        let newest = fs::read_to_string(&path).unwrap();
        assert!(newest.ends_with("line 0099 ......\n"), "{newest}");
        let older = fs::read_to_string(tmp.path().join("backend.log.1")).unwrap();
        assert!(older.contains("line 0094"), "{older}");
    }

    #[test]
    fn tail_keeps_the_last_lines() {
        let tail = Tail::default();
        for i in 0..25 {
            tail.push(i.to_string());
        }
        assert_eq!(tail.lines().first().map(String::as_str), Some("15"));
        assert_eq!(tail.lines().len(), TAIL_LINES);
    }
}
