//! The window under QtQuickTest (`qml/tests/tst_window.qml`), offscreen, in Bundled mode: the
//! supervisor starts the real `expenses-backend` with a fresh data dir, and the test adds
//! expenses through the form, settles them, and watches the header and the filtered list follow.
//!
//! The test process re-runs itself as a child with the environment set, so nothing here changes
//! the environment of a running process.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const CHILD: &str = "QMLBRIDGE_QML_TEST_CHILD";
/// The backend's package and binary.
const BACKEND: &str = "expenses-backend";

fn main() -> ExitCode {
    if std::env::var_os(CHILD).is_some() {
        let failures = qmlbridge_qt::testing::quick_test(
            &qmlbridge_qt::identity!(),
            Path::new("qml/tests/tst_window.qml"),
        );
        return if failures == 0 {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let Some(backend) = backend_bin() else {
        return ExitCode::FAILURE;
    };
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data = tempfile::tempdir().unwrap();
    let status = Command::new(std::env::current_exe().unwrap())
        .env(CHILD, "1")
        .env("QT_QPA_PLATFORM", "offscreen")
        .env("XDG_DATA_HOME", data.path())
        .env("BRIDGE_BACKEND_BIN", &backend)
        .env("BRIDGE_BACKEND_DIR", crate_dir.join("../backend"))
        // The manifest's `caddyfile`: the framework's default configuration.
        .env("BRIDGE_CADDYFILE", crate_dir.join("../../../Caddyfile"))
        .env_remove("BRIDGE_URL")
        .env_remove("BRIDGE_TOKEN")
        .current_dir(crate_dir)
        .status()
        .unwrap();
    if status.success() {
        ExitCode::SUCCESS
    } else {
        eprintln!("qml: tst_window.qml failed ({status})");
        ExitCode::FAILURE
    }
}

/// `expenses-backend` beside this test's profile dir (`cargo test --workspace` builds it), else
/// built there now with `cargo build -p expenses-backend` (`cargo test -p expenses` alone does
/// not build another package's binary).
fn backend_bin() -> Option<PathBuf> {
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/qml-<hash> -> target/<profile>/expenses-backend
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let backend = profile_dir.join(BACKEND);
    if backend.is_file() {
        return Some(backend);
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["build", "-p", BACKEND]);
    if profile_dir.file_name().is_some_and(|p| p == "release") {
        build.arg("--release");
    }
    let built = build.status().is_ok_and(|s| s.success());
    if built && backend.is_file() {
        Some(backend)
    } else {
        eprintln!(
            "qml: {} is missing: cargo build -p {BACKEND}",
            backend.display()
        );
        None
    }
}
