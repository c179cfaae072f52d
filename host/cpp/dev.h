// Development sessions (`qmlbridge dev`, debug hosts only): the window's QML read from the app's
// qml/ directory on disk instead of the compiled-in resources, and reloaded on request.
#pragma once

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

} // namespace qmlbridge
