// The few Qt calls that cxx-qt-lib 0.10 does not bind, for the typed bridge in src/ffi.rs.
#pragma once

#include <QtCore/QString>
#include <QtCore/QVariant>

#include "rust/cxx.h"

namespace qmlbridge {

// Qt's message handler -> forward_qt_message (Rust); once per process.
void install_message_handler();
// QCoreApplication::exit(code) on the running loop (GUI thread).
void app_exit(int code);
// A queued QCoreApplication::quit(); safe from any thread.
void app_quit_queued();
// JSON text <-> QVariant through QJsonValue: objects are QVariantMap, arrays QVariantList, and
// a QJSValue (what QML hands a C++ QVariant for a JS object) is converted first.
rust::String variant_to_json(const QVariant &value);
QVariant json_to_variant(rust::Str json);
// Qt Quick Test's entry point, with argv from Rust; its engines get the network policy.
int quick_test_main(const rust::Vec<rust::String> &args, rust::Str name, rust::Str source_dir);

} // namespace qmlbridge
