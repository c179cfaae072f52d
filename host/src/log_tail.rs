//! The last lines of the backend's log for the Offline overlay: read from the end of
//! the file so a large log costs one seek, never a full read.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// How far from the end we read at most.
const WINDOW: u64 = 16 * 1024;

/// `<data>/var/log/backend.log` (docs/contract.md §6).
pub fn backend_log(data_dir: &str) -> PathBuf {
    Path::new(data_dir).join("var/log/backend.log")
}

/// The last `lines` lines of `path`, or an empty string when it cannot be read.
pub fn read(path: &Path, lines: usize) -> String {
    let Ok(mut file) = File::open(path) else {
        return String::new();
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(WINDOW);
    let mut buf = Vec::new();
    if file.seek(SeekFrom::Start(start)).is_err() || file.read_to_end(&mut buf).is_err() {
        return String::new();
    }
    last_lines(&String::from_utf8_lossy(&buf), lines, start > 0)
}

/// The last `n` lines of `text`; drops a first line that the read window cut in half.
fn last_lines(text: &str, n: usize, cut: bool) -> String {
    let mut all: Vec<&str> = text.trim_end_matches('\n').split('\n').collect();
    if cut && all.len() > 1 {
        all.remove(0);
    }
    all[all.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_lines_keeps_the_end_and_drops_a_cut_line() {
        assert_eq!(last_lines("a\nb\nc\n", 2, false), "b\nc");
        assert_eq!(last_lines("a\nb\n", 5, false), "a\nb");
        assert_eq!(last_lines("tail-of-a\nb\nc", 5, true), "b\nc");
    }

    #[test]
    fn reads_the_end_of_a_large_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("backend.log");
        let body: String = (0..5000).map(|i| format!("line {i}\n")).collect();
        std::fs::write(&path, body).unwrap();
        assert_eq!(read(&path, 2), "line 4998\nline 4999");
        assert_eq!(read(&tmp.path().join("missing"), 2), "");
    }
}
