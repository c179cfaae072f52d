//! `qmlbridge-qt`: the desktop side of a qmlbridge app, as a library. It exports the QML module
//! `QmlBridge` (`import QmlBridge`):
//!
//! - `BackendConnection`, the singleton mirroring the supervision core (mode, URL, token, state);
//! - `RestModel`, a list model over one resource of the backend's resource convention, kept live
//!   from the Mercure hub; `RestClient` for the other endpoints; `MercureSubscription` for any
//!   topics;
//! - `Updater`, the singleton of the app's signed self-updates (`qmlbridge-update` does the work;
//!   a restart into the new image is `relaunch`);
//! - `StatusIndicator`, `OfflineOverlay` and `UpdateBanner`, the components every app gets
//!   (top-level `qml/`).
//!
//! An app's host is [`App`]: `App::new(identity!()).main_qml(url).run()` (docs/qml.md). What
//! decides supervision lives in `qmlbridge-supervisor`; the QML types only translate, and their
//! network side is Qt-free (`rest`), reached by plain `cargo test`.

mod app;
mod bridge;
mod dev;
mod identity;
mod instance;
mod log_tail;
mod logging;
mod network;
mod relaunch;
mod rest;
pub mod session;
pub mod testing;
mod updates;

pub use app::{App, EXIT_ALREADY_RUNNING};
pub use identity::{Identity, Rollback, Updates};
pub use instance::{InstanceLock, LockError};

/// Where the compiled-in QML modules live (`qrc:/qt/qml/<Module>/qmldir`).
pub const QML_IMPORT_PATH: &str = "qrc:/qt/qml";

/// The supervision core this crate mirrors (re-exported for hosts and their tests).
pub use qmlbridge_supervisor as supervisor;
