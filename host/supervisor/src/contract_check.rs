//! The values both sides of the contract must agree on, checked against the backend's source and
//! the repository's Caddyfile as text. The supervisor cannot depend on `qmlbridge-backend` (it
//! supervises any server that honours `docs/contract.md`, and the backend library is far too
//! heavy for a constant), and the backend cannot depend on the supervisor; so each side keeps its
//! own copy of these few values, and this test fails as soon as the copies differ.

use std::path::Path;

use crate::mode::{DEV_MERCURE_KEY, DEV_TOKEN};
use crate::spawn::ExitStatus;
use crate::supervise::machine::is_config_error;

/// A file of the repository, by its path from the workspace root.
fn repo_file(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// The right-hand side of `pub const NAME: TYPE = VALUE;` in `source`, quotes removed.
fn constant(source: &str, name: &str) -> String {
    let start = format!("pub const {name}: ");
    let line = source
        .lines()
        .find(|l| l.trim_start().starts_with(&start))
        .unwrap_or_else(|| panic!("no `{start}...` line"));
    let (_, value) = line
        .split_once(" = ")
        .expect("a `NAME: TYPE = VALUE;` line");
    value.trim_end_matches(';').trim_matches('"').to_string()
}

#[test]
fn the_dev_token_is_the_backends() {
    // docs/contract.md §2 (the backend's default) and §9 (the host's Dev-mode default).
    let backend = constant(&repo_file("backend/src/settings.rs"), "DEV_TOKEN");
    assert_eq!(DEV_TOKEN, backend);
}

#[test]
fn the_dev_mercure_key_is_the_caddyfiles_default() {
    // docs/contract.md §2: the dev keys come from the Caddyfile's placeholders' defaults.
    let caddyfile = repo_file("Caddyfile");
    let default = format!("{{$MERCURE_SUBSCRIBER_JWT_KEY:{DEV_MERCURE_KEY}}}");
    assert!(
        caddyfile.contains(&default),
        "no {default} in the Caddyfile"
    );
}

#[test]
fn the_codes_that_stop_restarts_are_the_backends() {
    // docs/contract.md §5: usage (2) and configuration (78) errors go Offline at once; a runtime
    // failure (1) is restarted.
    let error = repo_file("backend/src/error.rs");
    let code = |name| constant(&error, name).parse::<i32>().expect("a number");
    assert!(is_config_error(ExitStatus::Code(code("EXIT_USAGE"))));
    assert!(is_config_error(ExitStatus::Code(code("EXIT_CONFIG"))));
    assert!(!is_config_error(ExitStatus::Code(code("EXIT_FAILURE"))));
}
