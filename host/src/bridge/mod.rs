//! The bridges to C++: the QML types of the `QmlBridge` module that are written in Rust
//! (cxx-qt), and `ffi`, the typed bridge to the few Qt helpers cxx-qt-lib lacks. Each one
//! only translates: state and network work live in `crate::rest` and the supervisor, and results
//! come back to the GUI thread through `qt_thread().queue(..)`.

pub mod backend_connection;
pub mod ffi;
pub mod mercure_subscription;
pub mod rest_client;
pub mod rest_model;
pub mod updater;
