//! The Qt application around the QML module: one window from `Main.qml`, a clean exit
//! code when loading fails, and SIGTERM/SIGINT mapped to closing the window.

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use cxx_qt_lib::{QGuiApplication, QQmlApplicationEngine, QString, QUrl};

unsafe extern "C" {
    fn qmlbridge_app_exit(code: i32);
    fn qmlbridge_app_quit_queued();
}

/// Asks the running event loop to quit; callable from any thread.
pub fn quit() {
    // SAFETY: posts a queued call to the QCoreApplication instance, if there is one.
    unsafe { qmlbridge_app_quit_queued() };
}

/// Runs the GUI until the window closes: `SUCCESS`, or `FAILURE` when the QML did not load.
pub fn run(url: &str) -> ExitCode {
    let mut app = QGuiApplication::new();
    let mut engine = QQmlApplicationEngine::new();
    let (Some(mut app_ref), Some(mut engine_ref)) = (app.as_mut(), engine.as_mut()) else {
        tracing::error!(target: "qmlbridge::host", "cannot create the Qt application");
        return ExitCode::FAILURE;
    };
    app_ref
        .as_mut()
        .set_application_name(&QString::from(crate::session::APP));
    app_ref
        .as_mut()
        .set_organization_name(&QString::from(crate::session::ORG));

    let failed = Arc::new(AtomicBool::new(false));
    let flag = failed.clone();
    engine_ref
        .as_mut()
        .on_object_creation_failed(move |_, url| {
            tracing::error!(target: "qmlbridge::host", url = %url, "the QML window failed to load");
            flag.store(true, Ordering::SeqCst);
            // SAFETY: plain call into QCoreApplication::exit on the GUI thread.
            unsafe { qmlbridge_app_exit(1) };
        })
        .release();
    // Qt 6.5 made `qrc:/qt/qml` a default import path; 6.4 (Debian 12) needs it to find the
    // module's qmldir, which registers the QML-file types (StatusIndicator, OfflineOverlay...).
    engine_ref
        .as_mut()
        .add_import_path(&QString::from(crate::QML_IMPORT_PATH));
    engine_ref.as_mut().load(&QUrl::from(url));
    // objectCreationFailed fires inside load(), before exec() could see exit(1).
    if failed.load(Ordering::SeqCst) {
        return ExitCode::FAILURE;
    }
    let code = app_ref.as_mut().exec();
    drop(engine);
    if code == 0 && !failed.load(Ordering::SeqCst) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
