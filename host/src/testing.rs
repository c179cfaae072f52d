//! Qt Quick Test for apps built on the library: runs a `TestCase` file against the real session
//! (Bundled or Dev, decided by the environment as for the app itself), offscreen, with the
//! compiled-in QML modules importable. Debian's `qmltestrunner` cannot load statically linked
//! cxx-qt modules, so the test binary (`harness = false`) calls Qt Quick Test itself.

use std::path::Path;

use crate::bridge::ffi;
use crate::{Identity, QML_IMPORT_PATH, logging, session};

/// Runs the test file `input` (and what it imports) for the app `identity`; the number of
/// failed test functions (0: all passed). Call it first thing in the test's `main`: it sets
/// `QT_QPA_PLATFORM=offscreen` (unless set) before any thread exists, and starts the session.
pub fn quick_test(identity: &Identity, input: &Path) -> i32 {
    if std::env::var_os("QT_QPA_PLATFORM").is_none() {
        // SAFETY: called from the test's main before the session or Qt start any thread.
        unsafe { std::env::set_var("QT_QPA_PLATFORM", "offscreen") };
    }
    init_logging();
    session::start(session::options(identity));
    let failures = run(input);
    session::shutdown();
    failures
}

/// Logging to stderr (`BRIDGE_LOG`, default `info`) with Qt's messages forwarded, as the app has.
pub fn init_logging() {
    logging::init(None);
}

/// Qt Quick Test on `input` with the compiled-in modules importable; the session must be started.
pub fn run(input: &Path) -> i32 {
    if std::env::var_os("QT_QPA_PLATFORM").is_none() {
        // SAFETY: as in `quick_test`: before Qt starts; callers call it from main.
        unsafe { std::env::set_var("QT_QPA_PLATFORM", "offscreen") };
    }
    let exe = std::env::args()
        .next()
        .unwrap_or_else(|| "quick_test".into());
    let input = input.to_string_lossy().into_owned();
    let dir = Path::new(&input)
        .parent()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let args = vec![
        exe,
        "-import".into(),
        QML_IMPORT_PATH.into(),
        "-input".into(),
        input,
    ];
    ffi::quick_test_main(&args, "qmlbridge", &dir)
}
