//! The typed bridge to the C++ helpers in `cpp/qmlbridge.{h,cpp}`: Qt calls that cxx-qt-lib 0.10
//! does not bind (exit/quit from any thread, Qt Quick Test's entry point, JSON <-> QVariant), the
//! engines' network policy (`cpp/network.h`), and Qt calling back into Rust (its message handler,
//! the policy's question).

#[cxx::bridge(namespace = "qmlbridge")]
pub mod qt {
    unsafe extern "C++" {
        include!("qmlbridge-qt/qmlbridge.h");
        include!("cxx-qt-lib/qvariant.h");
        #[namespace = ""]
        type QVariant = cxx_qt_lib::QVariant;
        include!("qmlbridge-qt/network.h");
        include!("qmlbridge-qt/dev.h");
        include!("cxx-qt-lib/qqmlapplicationengine.h");
        #[namespace = ""]
        type QQmlApplicationEngine = cxx_qt_lib::QQmlApplicationEngine;

        fn install_message_handler();
        fn app_exit(code: i32);
        fn app_quit_queued();
        fn variant_to_json(value: &QVariant) -> String;
        fn json_to_variant(json: &str) -> QVariant;
        fn quick_test_main(args: &Vec<String>, name: &str, source_dir: &str) -> i32;

        // The engine's network policy (src/network.rs decides): cpp/network.h.
        fn network_install(engine: Pin<&mut QQmlApplicationEngine>);

        // Development sessions: cpp/dev.h.
        fn dev_install(engine: Pin<&mut QQmlApplicationEngine>, main_url: &str, qml_dir: &str);
        fn dev_load_now();
        fn dev_reload_queued();
        fn dev_close();
        // The error window of a window that failed to load: cpp/dev.h.
        fn load_errors_watch(engine: Pin<&mut QQmlApplicationEngine>);
        fn load_errors_take() -> String;
        fn load_error_window(
            engine: Pin<&mut QQmlApplicationEngine>,
            title: &str,
            intro: &str,
            errors: &str,
        ) -> bool;
    }

    extern "Rust" {
        fn forward_qt_message(kind: i32, category: &[u8], message: &[u8]);
        fn dev_loaded(errors: &str, millis: f64);
        fn network_allowed(url: &str) -> bool;
    }
}

pub use qt::*;

use serde_json::Value;

/// A QVariant (a QML value) as JSON; `Null` for what JSON cannot hold.
pub fn to_json(value: &QVariant) -> Value {
    serde_json::from_str(&variant_to_json(value)).unwrap_or(Value::Null)
}

/// A whole number as a JS number: an `int` when it fits, else a `double` (exact up to 2^53, the
/// nearest double beyond, as `JSON.parse` gives). Never an `i64` QVariant: Rust's `i64` is C++'s
/// `long` here, a metatype QML does not convert, so QML would see an opaque object that is
/// `===` to no number (docs/qml.md, "Numbers").
pub fn from_integer(i: i64) -> QVariant {
    match i32::try_from(i) {
        Ok(small) => QVariant::from(&small),
        Err(_) => QVariant::from(&(i as f64)),
    }
}

/// A JSON value as the QVariant QML reads: scalars directly, objects and arrays through Qt's JSON.
pub fn from_json(value: &Value) -> QVariant {
    use cxx_qt_lib::QString as S;
    match value {
        Value::Null => QVariant::default(),
        Value::Bool(b) => QVariant::from(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => from_integer(i),
            None => QVariant::from(&n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => QVariant::from(&S::from(s.as_str())),
        other => json_to_variant(&other.to_string()),
    }
}

/// A development reload finished (cpp/dev.cpp): report it to the developer.
fn dev_loaded(errors: &str, millis: f64) {
    let _ = std::panic::catch_unwind(|| crate::dev::loaded(errors, millis));
}

/// Whether a QML engine's request for `url` may leave (cpp/network.cpp asks, src/network.rs
/// decides); a panic refuses it rather than unwinding into Qt.
fn network_allowed(url: &str) -> bool {
    std::panic::catch_unwind(|| crate::network::allowed(url)).unwrap_or(false)
}

/// Qt's log, into `tracing` (target `qt`), so QML warnings and `console.log` land in `host.log`.
fn forward_qt_message(kind: i32, category: &[u8], message: &[u8]) {
    // A panic must not unwind into Qt (STYLE.md): swallow it here.
    let _ = std::panic::catch_unwind(|| {
        let category = String::from_utf8_lossy(category);
        let message = String::from_utf8_lossy(message);
        // QtMsgType: 0 debug, 1 warning, 2 critical, 3 fatal, 4 info.
        match kind {
            0 => tracing::debug!(target: "qt", category = &*category, "{message}"),
            4 => tracing::info!(target: "qt", category = &*category, "{message}"),
            1 => tracing::warn!(target: "qt", category = &*category, "{message}"),
            _ => tracing::error!(target: "qt", category = &*category, "{message}"),
        }
    });
}
