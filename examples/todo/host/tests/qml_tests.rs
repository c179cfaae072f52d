//! The todo window's QML under `QT_QPA_PLATFORM=offscreen`, against the real backend:
//! QtQuickTest files from `examples/todo/qml/tests/` read `BackendConnection` and the window's
//! `RestModel` back.
//!
//! One Qt application per process and one supervisor per process, decided by the environment:
//! `testing::scenarios` runs each scenario as a child of this binary with its own environment.
//!
//! - `dev`: a `todo-backend serve` started here; mode, URL and state follow the supervisor;
//!   add/toggle/remove through the model; a todo POSTed by another client appears in the model.
//! - `bundled`: the supervisor spawns the real backend; after the child is SIGKILLed (when the
//!   test asks for it), `tokenRotated` fires with the new token and requests keep working.
//! - `offline`: dev mode against a dead port with a short threshold: `Main.qml` shows the Offline
//!   overlay with the error.

mod common;

use std::path::Path;
use std::process::ExitCode;

use qmlbridge_qt::{identity, session, testing};
use serde_json::json;

fn main() -> ExitCode {
    testing::scenarios(&[("dev", dev), ("bundled", bundled), ("offline", offline)])
}

/// Sets an environment variable before any thread of ours or Qt's exists.
fn set_env(key: &str, value: impl AsRef<std::ffi::OsStr>) {
    // SAFETY: called from main before the session (tokio, supervisor) or Qt start threads.
    unsafe { std::env::set_var(key, value) };
}

fn dev(dir: &Path) -> i32 {
    let backend = common::DevBackend::start(dir);
    set_env("BRIDGE_URL", &backend.url);
    let input = common::stage(dir, "tst_dev.qml", &json!({ "url": backend.url }));
    session::start(session::options(&identity!()));
    testing::run(&input)
}

fn bundled(dir: &Path) -> i32 {
    let repo = common::repo();
    set_env("BRIDGE_BACKEND_BIN", common::backend_bin());
    set_env("BRIDGE_BACKEND_DIR", repo.join("examples/todo/backend"));
    set_env("BRIDGE_CADDYFILE", repo.join("Caddyfile"));
    session::start(session::options(&identity!()));
    // The supervisor must respawn it with a new token, and `BackendConnection` say so through
    // `tokenRotated`.
    testing::kill_backend_when(|snapshot| {
        testing::get(snapshot, "/api/todos?limit=1000")
            .is_some_and(|body| body.contains(KILL_MARKER))
    });
    let data = dir.join("xdg/qmlbridge/todo");
    let input = common::stage(
        dir,
        "tst_bundled.qml",
        &json!({ "dataDir": data, "killMarker": KILL_MARKER }),
    );
    testing::run(&input)
}

/// The title of the todo through which tst_bundled.qml asks for the backend to be killed: the
/// QML side is then set up (its spies connected, the first token noted), so the test does not
/// depend on how fast Qt starts compared with the backend.
const KILL_MARKER: &str = "kill the backend now";

fn offline(dir: &Path) -> i32 {
    set_env(
        "BRIDGE_URL",
        format!("http://127.0.0.1:{}", common::free_port()),
    );
    set_env("BRIDGE_OFFLINE_THRESHOLD_MS", "1500");
    let input = common::stage(dir, "tst_offline.qml", &json!({}));
    session::start(session::options(&identity!()));
    testing::run(&input)
}
