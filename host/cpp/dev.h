// Development sessions (`qmlbridge dev`, debug hosts only): the window's QML read from the app's
// qml/ directory on disk instead of the compiled-in resources, and reloaded on request. And the
// error window every host shows when its window fails to load (load_errors_*).
#pragma once

#include <QtCore/QString>
#include <QtQml/QQmlApplicationEngine>

#include "rust/cxx.h"

namespace qmlbridge {

// Maps every QML/JS file under main_url's qrc directory to the same name under qml_dir (the
// engine's URL interceptor), and remembers the window to create.
void dev_install(QQmlApplicationEngine &engine, rust::Str main_url, rust::Str qml_dir);
// Replaces the window (same position and size) with a fresh one from disk, the component cache
// cleared; on errors, an error window lists them. Reports through dev_loaded (Rust).
void dev_load_now();
// dev_load_now on the GUI thread, from any thread.
void dev_reload_queued();
// Deletes the window (before the engine goes).
void dev_close();
// `message` with the window's qrc directory (and its file:// URL) written as the directory on
// disk the files are read from, after dev_install; unchanged otherwise.
QString dev_map_urls(const QString &message);

// Collects the engine's errors (its `warnings` signal) from now until load_errors_take.
void load_errors_watch(QQmlApplicationEngine &engine);
// The errors collected since load_errors_watch, "path:line:column: message" one per line; stops
// collecting.
rust::String load_errors_take();
// Shows a window titled `title` with `intro` and `errors` and a Close button (a window that
// failed to load in a host that has no QML on disk to fix it from) until it is closed or the app
// quits; false when it could not be shown.
bool load_error_window(QQmlApplicationEngine &engine, rust::Str title, rust::Str intro,
                       rust::Str errors);

} // namespace qmlbridge
