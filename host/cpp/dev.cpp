// See dev.h.
#include "qmlbridge-qt/dev.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QElapsedTimer>
#include <QtCore/QMetaObject>
#include <QtCore/QPointer>
#include <QtCore/QStringList>
#include <QtGui/QGuiApplication>
#include <QtGui/QWindow>
#include <QtQml/QQmlAbstractUrlInterceptor>
#include <QtQml/QQmlComponent>
#include <QtQml/QQmlContext>
#include <QtQml/QQmlError>

#include "qmlbridge-qt/src/bridge/ffi.cxx.h"

namespace qmlbridge {

namespace {

QString from_rust(rust::Str text)
{
    return QString::fromUtf8(text.data(), static_cast<qsizetype>(text.size()));
}

// qrc:/qt/qml/<Module>/qml/X.qml -> file://<qml_dir>/X.qml, for QML and JS files only: the
// module's qmldir and the C++ types stay compiled in, the files people edit come from disk.
class DiskInterceptor : public QQmlAbstractUrlInterceptor
{
public:
    DiskInterceptor(QString prefix, QString dir) : m_prefix(std::move(prefix)), m_dir(std::move(dir)) {}

    QUrl intercept(const QUrl &url, DataType type) override
    {
        if (type != QmlFile && type != JavaScriptFile)
            return url;
        const QString text = url.toString();
        if (!text.startsWith(m_prefix))
            return url;
        return QUrl::fromLocalFile(m_dir + text.mid(m_prefix.size()));
    }

private:
    QString m_prefix;
    QString m_dir;
};

struct Dev
{
    QQmlApplicationEngine *engine = nullptr;
    QUrl main;
    QPointer<QObject> root;
};

Dev &dev()
{
    static Dev state;
    return state;
}

// "path:line:column: message", a local path rather than a file:// URL so terminals link it.
QString describe(const QList<QQmlError> &errors)
{
    QStringList lines;
    for (const QQmlError &error : errors) {
        const QUrl url = error.url();
        const QString where = url.isLocalFile() ? url.toLocalFile() : url.toString();
        lines << QStringLiteral("%1:%2:%3: %4")
                     .arg(where)
                     .arg(error.line())
                     .arg(error.column())
                     .arg(error.description());
    }
    return lines.join(QLatin1Char('\n'));
}

const char *const ERROR_WINDOW = R"(import QtQuick
Window {
    id: root
    property string errors
    visible: true
    color: "#2d1b1b"
    Flickable {
        anchors.fill: parent
        anchors.margins: 16
        contentHeight: text.implicitHeight
        clip: true
        TextEdit {
            id: text
            width: parent.width
            readOnly: true
            selectByMouse: true
            wrapMode: TextEdit.Wrap
            color: "#ffd8d8"
            font.family: "monospace"
            text: "The window's QML has errors; the next save that fixes them reloads it.\n\n" + root.errors
        }
    }
}
)";

// The window from disk, or nullptr with the errors in `errors`.
QObject *create_window(QQmlEngine &engine, const QUrl &url, const QRect *geometry, QString &errors)
{
    QQmlComponent component(&engine, url, QQmlComponent::PreferSynchronous);
    if (component.isError()) {
        errors = describe(component.errors());
        return nullptr;
    }
    QObject *object = component.beginCreate(engine.rootContext());
    if (!object) {
        errors = describe(component.errors());
        return nullptr;
    }
    // Before completeCreate: the window appears where the old one was, at its size.
    if (auto *window = qobject_cast<QWindow *>(object); window && geometry)
        window->setGeometry(*geometry);
    component.completeCreate();
    if (component.isError()) {
        errors = describe(component.errors());
        delete object;
        return nullptr;
    }
    return object;
}

QObject *error_window(QQmlEngine &engine, const QString &errors, const QRect *geometry)
{
    QQmlComponent component(&engine);
    component.setData(ERROR_WINDOW, QUrl(QStringLiteral("qrc:/qmlbridge/dev/ErrorWindow.qml")));
    if (!component.isReady()) {
        // Qt's own components failed: the terminal still has the app's errors.
        qWarning("qmlbridge: cannot show the QML error window: %s",
                 qPrintable(describe(component.errors())));
        return nullptr;
    }
    QObject *object = component.create();
    if (object)
        object->setProperty("errors", errors);
    if (auto *window = qobject_cast<QWindow *>(object)) {
        window->setTitle(QStringLiteral("QML error"));
        if (geometry)
            window->setGeometry(*geometry);
        else
            window->resize(720, 480);
    }
    return object;
}

} // namespace

void dev_install(QQmlApplicationEngine &engine, rust::Str main_url, rust::Str qml_dir)
{
    Dev &state = dev();
    state.engine = &engine;
    state.main = QUrl(from_rust(main_url));
    QString dir = from_rust(qml_dir);
    if (!dir.endsWith(QLatin1Char('/')))
        dir += QLatin1Char('/');
    const QString main = state.main.toString();
    const QString prefix = main.left(main.lastIndexOf(QLatin1Char('/')) + 1);
    // The engine keeps the pointer; the interceptor lives as long as the process.
    engine.addUrlInterceptor(new DiskInterceptor(prefix, dir));
}

void dev_load_now()
{
    Dev &state = dev();
    if (!state.engine)
        return;
    QElapsedTimer timer;
    timer.start();
    QRect geometry;
    bool keep_geometry = false;
    if (auto *window = qobject_cast<QWindow *>(state.root.data())) {
        geometry = window->geometry();
        keep_geometry = true;
    }
    // The old window goes first: clearComponentCache() would leave its bindings dead. No quit
    // for the moment no window is open.
    const bool quit_on_close = QGuiApplication::quitOnLastWindowClosed();
    QGuiApplication::setQuitOnLastWindowClosed(false);
    delete state.root.data();
    state.engine->clearComponentCache();
    QString errors;
    QObject *root = create_window(*state.engine, state.main, keep_geometry ? &geometry : nullptr,
                                  errors);
    if (!root)
        root = error_window(*state.engine, errors, keep_geometry ? &geometry : nullptr);
    state.root = root;
    QGuiApplication::setQuitOnLastWindowClosed(quit_on_close);
    const QByteArray text = errors.toUtf8();
    dev_loaded(rust::Str(text.constData(), static_cast<size_t>(text.size())),
               static_cast<double>(timer.nsecsElapsed()) / 1e6);
}

void dev_reload_queued()
{
    if (auto *app = QCoreApplication::instance())
        QMetaObject::invokeMethod(app, [] { dev_load_now(); }, Qt::QueuedConnection);
}

void dev_close()
{
    delete dev().root.data();
    dev().engine = nullptr;
}

} // namespace qmlbridge
