//! Host logging (issue 5, "Around it"): `tracing` filtered by `BRIDGE_LOG` (EnvFilter syntax,
//! default `info`), written to stderr and to `<data>/var/log/host.log`. Qt's own messages
//! (`qDebug`, QML `console.log`, warnings; filtered by Qt's `QT_LOGGING_RULES`) are forwarded into
//! the same subscriber under the target `qt`.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::writer::MakeWriterExt;

/// `host.log` is truncated at start when larger than this (the backend's log has real rotation).
const MAX_LOG_BYTES: u64 = 8 * 1024 * 1024;

/// Installs the subscriber; `data_dir` gets `var/log/host.log` (stderr only when `None` or not
/// writable). Call once, from `main`.
pub fn init(data_dir: Option<&Path>) {
    let filter = EnvFilter::try_from_env("BRIDGE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let file = data_dir.and_then(|d| open_log(&d.join("var/log/host.log")).ok());
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let result = match file {
        Some(file) => {
            let file = SharedFile(Arc::new(Mutex::new(file)));
            builder
                .with_ansi(false)
                .with_writer(io::stderr.and(move || file.clone()))
                .try_init()
        }
        None => builder.with_writer(io::stderr).try_init(),
    };
    if result.is_ok() {
        crate::qt_log::install();
    }
}

fn open_log(path: &Path) -> io::Result<File> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let too_big = path
        .metadata()
        .map(|m| m.len() > MAX_LOG_BYTES)
        .unwrap_or(false);
    OpenOptions::new()
        .create(true)
        .append(!too_big)
        .write(true)
        .truncate(too_big)
        .open(path)
}

/// A log file shared by every tracing writer.
#[derive(Clone)]
struct SharedFile(Arc<Mutex<File>>);

impl io::Write for SharedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).flush()
    }
}
