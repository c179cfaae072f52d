//! `qmlbridge`: the desktop host. Sets up logging, takes the single-instance lock (Bundled),
//! starts the supervisor, shows `Main.qml`, and stops the backend gracefully when the window
//! closes. The logic lives in `qmlbridge_host` and `qmlbridge_supervisor`.

use std::process::ExitCode;

use qmlbridge_host::{app, instance, logging, session};
use qmlbridge_supervisor::data_dir;

/// Exit code of a second launch on a data dir that another host already uses.
const EXIT_ALREADY_RUNNING: u8 = 3;

fn main() -> ExitCode {
    if std::env::args().any(|a| a == "--version") {
        println!("qmlbridge {}", env!("CARGO_PKG_VERSION"));
        return ExitCode::SUCCESS;
    }
    let bundled = std::env::var("BRIDGE_URL").map_or(true, |v| v.trim().is_empty());
    let data = data_dir(session::ORG, session::APP).ok();
    logging::init(data.as_deref());

    // Bundled mode owns a database: never two hosts (two backends) on the same data dir.
    let _lock = match (bundled, &data) {
        (true, Some(dir)) => match instance::acquire(dir) {
            Ok(lock) => Some(lock),
            Err(err @ instance::LockError::AlreadyRunning { .. }) => {
                tracing::error!(target: "qmlbridge::host", "{err}");
                eprintln!("qmlbridge: {err}; close it first (not starting a second backend).");
                return ExitCode::from(EXIT_ALREADY_RUNNING);
            }
            Err(err) => {
                tracing::error!(target: "qmlbridge::host", "{err}");
                return ExitCode::FAILURE;
            }
        },
        _ => None,
    };

    session::start(session::options_from_env());
    watch_signals();
    let code = app::run(qmlbridge_host::MAIN_QML);
    tracing::info!(target: "qmlbridge::host", "window closed; stopping the backend");
    session::shutdown();
    code
}

/// SIGTERM/SIGINT close the window like the user would, so the backend is stopped gracefully.
fn watch_signals() {
    session::get().runtime().spawn(async {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!(target: "qmlbridge::host", "signal received; closing");
        app::quit();
    });
}
