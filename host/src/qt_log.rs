//! Forwards Qt's message handler into `tracing` (target `qt`), so QML warnings and
//! `console.log` land in `host.log` too. The C++ half is `cpp/helpers.cpp`.

use std::ffi::{CStr, c_char, c_int};

unsafe extern "C" {
    fn qmlbridge_install_message_handler(
        callback: extern "C" fn(c_int, *const c_char, *const c_char),
    );
}

/// Installs the handler (once per process; Qt keeps the last one installed).
pub fn install() {
    // SAFETY: registers a plain function pointer with Qt; the callback below only reads the two
    // NUL-terminated strings Qt passes for the duration of the call.
    unsafe { qmlbridge_install_message_handler(on_message) };
}

extern "C" fn on_message(kind: c_int, category: *const c_char, message: *const c_char) {
    // A panic must not unwind into Qt (STYLE.md): swallow it here.
    let _ = std::panic::catch_unwind(|| {
        let text = |p: *const c_char| {
            if p.is_null() {
                String::new()
            } else {
                // SAFETY: non-null, NUL-terminated, valid during this call (see `install`).
                unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
            }
        };
        let (category, message) = (text(category), text(message));
        // QtMsgType: 0 debug, 1 warning, 2 critical, 3 fatal, 4 info.
        match kind {
            0 => tracing::debug!(target: "qt", category, "{message}"),
            4 => tracing::info!(target: "qt", category, "{message}"),
            1 => tracing::warn!(target: "qt", category, "{message}"),
            _ => tracing::error!(target: "qt", category, "{message}"),
        }
    });
}
