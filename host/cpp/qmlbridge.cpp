// See qmlbridge.h.
#include "qmlbridge-qt/qmlbridge.h"
#include "qmlbridge-qt/network.h"
#include "qmlbridge-qt/dev.h"

#include <QtCore/QByteArray>
#include <QtCore/QCoreApplication>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonValue>
#include <QtCore/QMetaObject>
#include <QtCore/QtGlobal>
#include <QtQml/QJSValue>
#include <QtQuickTest/quicktest.h>

#include <string>
#include <vector>

#include "qmlbridge-qt/src/bridge/ffi.cxx.h"

namespace qmlbridge {

namespace {
void forward(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    // A development session's files by their place on disk (cpp/dev.h), so editors can open them.
    const QByteArray text = dev_map_urls(message).toUtf8();
    const char *category = context.category ? context.category : "";
    forward_qt_message(static_cast<int>(type),
                       rust::Slice<const uint8_t>(reinterpret_cast<const uint8_t *>(category),
                                                  qstrlen(category)),
                       rust::Slice<const uint8_t>(
                           reinterpret_cast<const uint8_t *>(text.constData()),
                           static_cast<size_t>(text.size())));
}
} // namespace

void install_message_handler()
{
    qInstallMessageHandler(forward);
}

void app_exit(int code)
{
    QCoreApplication::exit(code);
}

void app_quit_queued()
{
    if (auto *app = QCoreApplication::instance())
        QMetaObject::invokeMethod(app, "quit", Qt::QueuedConnection);
}

rust::String variant_to_json(const QVariant &value)
{
    QVariant plain = value;
    if (plain.metaType() == QMetaType::fromType<QJSValue>())
        plain = plain.value<QJSValue>().toVariant();
    // One-element array: QJsonDocument serialises only objects and arrays.
    const QJsonArray wrapped{QJsonValue::fromVariant(plain)};
    const QByteArray text = QJsonDocument(wrapped).toJson(QJsonDocument::Compact);
    // "[...]" -> "..."
    return rust::String(text.constData() + 1, static_cast<size_t>(text.size() - 2));
}

QVariant json_to_variant(rust::Str json)
{
    QByteArray text("[");
    text.append(json.data(), static_cast<qsizetype>(json.size()));
    text.append(']');
    const QJsonDocument doc = QJsonDocument::fromJson(text);
    if (!doc.isArray() || doc.array().isEmpty())
        return QVariant();
    return doc.array().at(0).toVariant();
}

int quick_test_main(const rust::Vec<rust::String> &args, rust::Str name, rust::Str source_dir)
{
    std::vector<std::string> owned;
    for (const auto &arg : args)
        owned.emplace_back(arg.data(), arg.size());
    std::vector<char *> argv;
    for (auto &arg : owned)
        argv.push_back(arg.data());
    argv.push_back(nullptr);
    const std::string test_name(name.data(), name.size());
    const std::string dir(source_dir.data(), source_dir.size());
    // Every engine the runner creates gets the app's network policy (network.h).
    QuickTestSetup setup;
    return ::quick_test_main_with_setup(static_cast<int>(owned.size()), argv.data(),
                                        test_name.c_str(), dir.c_str(), &setup);
}

} // namespace qmlbridge
