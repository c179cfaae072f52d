//! Log volume (docs/contract.md §6): while a backend floods its output far past the rotation
//! bound, every file under `<data>/var/log` stays within the bound, no more rotated copies exist
//! than configured, and the backend's lines are not repeated in the host's own log.
//!
//! One test in its own binary: it installs the process-wide tracing subscriber, as the host does.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use qmlbridge_supervisor::{RotatingLog, Supervisor};
use tracing_subscriber::EnvFilter;

const BOUND: u64 = 64 * 1024;
const KEEP: usize = 2;

/// The number of the first `flood line N` in `path` (0 when there is none yet).
fn first_flood_line(path: &Path) -> u64 {
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("flood line "))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_flooding_backend_keeps_every_log_file_within_the_bound() {
    let layout = Layout::fake("flood");
    let log_dir = layout.data_dir.join("var/log");
    // What the Qt host sets up (host/src/logging.rs): host.log through the same writer, `info`.
    let host_log = RotatingLog::open(&log_dir.join("host.log"), BOUND, KEEP).unwrap();
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new("info"))
        .with_ansi(false)
        .with_writer(host_log)
        .init();
    let mut opts = layout.options();
    opts.log_max_bytes = BOUND;
    opts.log_keep = KEEP;
    let sup = Supervisor::start(opts);
    wait_state(&sup, "Online", online);
    // 12,000 lines of ~117 bytes: the backend has written more than 20 times the bound.
    wait_until("the oldest copy past flood line 12000", || {
        first_flood_line(&log_dir.join("backend.log.2")) > 12_000
    });
    sup.shutdown();

    let allowed = [
        "backend.log",
        "backend.log.1",
        "backend.log.2",
        "host.log",
        "host.log.1",
        "host.log.2",
    ];
    for entry in fs::read_dir(&log_dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let len = entry.metadata().unwrap().len();
        assert!(allowed.contains(&name.as_str()), "unexpected {name}");
        assert!(len <= BOUND, "{name}: {len} bytes, bound {BOUND}");
    }
    let host = fs::read_to_string(log_dir.join("host.log")).unwrap();
    assert!(host.contains("state=Online"), "host.log: {host}");
    assert!(
        !host.contains("flood line"),
        "the backend's lines repeated in host.log"
    );
}
