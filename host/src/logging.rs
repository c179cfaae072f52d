//! Host logging: `tracing` filtered by `BRIDGE_LOG` (EnvFilter syntax, default `info`), written
//! to stderr and to `<data>/var/log/host.log`. Qt's own messages (`qDebug`, QML `console.log`,
//! warnings; filtered by Qt's `QT_LOGGING_RULES`) are forwarded into the same subscriber under the
//! target `qt`.
//!
//! `host.log` goes through the supervisor's [`RotatingLog`], the product's one rotation rule for
//! every log file (docs/contract.md §6: 5 MiB, `.1` .. `.3` kept), so neither a chatty QML app
//! nor a long session grows it without bound. The backend's lines reach this subscriber at debug
//! level (target `backend`) and are left out by the default filter: `backend.log` has them.

use std::io;
use std::path::Path;

use qmlbridge_supervisor::{LOG_KEEP, LOG_MAX_BYTES, RotatingLog};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::SubscriberBuilder;
use tracing_subscriber::fmt::format::{DefaultFields, Format};
use tracing_subscriber::fmt::writer::{BoxMakeWriter, MakeWriter, MakeWriterExt};

/// Installs the subscriber; `data_dir` gets `var/log/host.log` (stderr only when `None` or not
/// writable). Call once, from `main`.
pub fn init(data_dir: Option<&Path>) {
    let filter = EnvFilter::try_from_env("BRIDGE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let file = data_dir.and_then(|dir| match open(dir, LOG_MAX_BYTES, LOG_KEEP) {
        Ok(log) => Some(log),
        Err(e) => {
            eprintln!("qmlbridge: cannot open {}: {e}", host_log(dir).display());
            None
        }
    });
    if builder(filter, file, io::stderr).try_init().is_ok() {
        crate::bridge::ffi::install_message_handler();
    }
}

/// `<data>/var/log/host.log`.
fn host_log(data_dir: &Path) -> std::path::PathBuf {
    data_dir.join("var/log/host.log")
}

/// Opens `host.log` under `data_dir` with the given bound (creating `var/log`, 0700).
fn open(data_dir: &Path, max_bytes: u64, keep: usize) -> io::Result<RotatingLog> {
    RotatingLog::open(&host_log(data_dir), max_bytes, keep)
}

type Builder = SubscriberBuilder<DefaultFields, Format, EnvFilter, BoxMakeWriter>;

/// The subscriber: every event to `stderr`, and to `file` when there is one (then without ANSI
/// colours, which would end up in the file).
fn builder<E>(filter: EnvFilter, file: Option<RotatingLog>, stderr: E) -> Builder
where
    E: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match file {
        Some(file) => builder
            .with_ansi(false)
            .with_writer(BoxMakeWriter::new(stderr.and(file))),
        None => builder.with_writer(BoxMakeWriter::new(stderr)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_log_rotates_within_its_bound_without_backend_lines() {
        let tmp = tempfile::tempdir().unwrap();
        let log = open(tmp.path(), 1024, 2).unwrap();
        let subscriber = builder(EnvFilter::new("info"), Some(log), io::sink).finish();
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..200 {
                tracing::info!(target: "qmlbridge::host", "host line {i}");
                tracing::debug!(target: "backend", pid = 1, "backend line {i}");
            }
        });
        let dir = tmp.path().join("var/log");
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            let len = entry.metadata().unwrap().len();
            assert!(len <= 1024, "{name}: {len} bytes");
            let text = std::fs::read_to_string(entry.path()).unwrap();
            assert!(!text.contains("backend line"), "{name}: {text}");
            names.push(name);
        }
        names.sort();
        assert_eq!(names, ["host.log", "host.log.1", "host.log.2"]);
        let newest = std::fs::read_to_string(dir.join("host.log")).unwrap();
        assert!(newest.trim_end().ends_with("host line 199"), "{newest}");
    }
}
