// Small Qt calls that cxx-qt-lib 0.10 does not bind: the message handler that forwards
// Qt's log into tracing, and QCoreApplication::exit for objectCreationFailed.
#include <QtCore/QCoreApplication>
#include <QtCore/QtGlobal>
#include <QtCore/QByteArray>
#include <QtCore/QString>
#include <QtCore/QMetaObject>

namespace {
using Callback = void (*)(int, const char *, const char *);
Callback g_callback = nullptr;

void forward(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    if (!g_callback)
        return;
    const QByteArray text = message.toUtf8();
    g_callback(static_cast<int>(type), context.category ? context.category : "", text.constData());
}
} // namespace

extern "C" void qmlbridge_install_message_handler(Callback callback)
{
    g_callback = callback;
    qInstallMessageHandler(forward);
}

extern "C" void qmlbridge_app_exit(int code)
{
    QCoreApplication::exit(code);
}

// Safe from any thread: posts quit() to the application's event loop (SIGTERM/SIGINT).
extern "C" void qmlbridge_app_quit_queued()
{
    if (auto *app = QCoreApplication::instance())
        QMetaObject::invokeMethod(app, "quit", Qt::QueuedConnection);
}
