//! An app's own log lines (`qmlbridge_backend::log`) go where the framework's do: the backend's
//! stderr, which the host writes into `backend.log` line by line (`docs/contract.md` §6), each
//! with its time, level and the target `app`. The fixture's `POST /api/log` logs its body.

mod support;

use support::{Workdir, eventually};

/// The line holding `needle`, checked for an RFC 3339 UTC time and `level` before `app: `.
fn line_with(log: &str, needle: &str, level: &str) -> Option<String> {
    let line = log.lines().find(|l| l.contains(needle))?;
    let (time, rest) = line.split_once(' ')?;
    let time_ok = time.len() >= 20
        && time.as_bytes()[4] == b'-'
        && time.as_bytes()[10] == b'T'
        && time.ends_with('Z');
    assert!(time_ok, "no time first: {line}");
    assert!(
        rest.trim_start().starts_with(&format!("{level} app: ")),
        "no level and target: {line}"
    );
    Some(line.to_owned())
}

#[test]
fn app_lines_reach_the_log_with_time_level_and_target() {
    let w = Workdir::new();
    let server = w.serve();
    let r = server.api("POST", "/api/log", Some("hello"));
    assert_eq!(r.status, 200, "{}", r.body);
    let info = eventually(|| line_with(&server.log(), "app says: hello", "INFO"));
    assert!(info.ends_with("app says: hello chars=5"), "{info}");
    eventually(|| line_with(&server.log(), "app warns: hello", "WARN"));
}
