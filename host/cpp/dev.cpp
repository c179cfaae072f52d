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
    // The window's qrc directory and the disk directory it is read from (dev_install).
    QString prefix;
    QString dir;
};

Dev &dev()
{
    static Dev state;
    return state;
}

// Where a file is for the developer: in a development session a URL under the window's qrc
// directory is the file on disk it was read from (the engine's errors name some files by their qrc
// URL even so); a local path rather than a file:// URL so terminals and editors link it.
QString place_of(const QUrl &url)
{
    const Dev &state = dev();
    const QString text = url.toString();
    if (!state.prefix.isEmpty() && text.startsWith(state.prefix))
        return state.dir + text.mid(state.prefix.size());
    return url.isLocalFile() ? url.toLocalFile() : text;
}

// "path:line:column: message", one line per error.
QString describe(const QList<QQmlError> &errors)
{
    QStringList lines;
    for (const QQmlError &error : errors) {
        const QString where = place_of(error.url());
        lines << QStringLiteral("%1:%2:%3: %4")
                     .arg(where)
                     .arg(error.line())
                     .arg(error.column())
                     .arg(error.description());
    }
    return lines.join(QLatin1Char('\n'));
}

// Qt Quick only (no Controls): whatever an app imports, this window can be shown. The text is a
// plain-text TextEdit, so nothing in an error message is read as markup.
const char *const ERROR_WINDOW = R"(import QtQuick
Window {
    id: root
    objectName: "qmlbridgeErrorWindow"
    property string intro
    property string errors
    property bool closable: false
    visible: true
    color: "#2d1b1b"
    Flickable {
        anchors.fill: parent
        anchors.margins: 16
        anchors.bottomMargin: root.closable ? 64 : 16
        contentHeight: text.implicitHeight
        clip: true
        TextEdit {
            id: text
            width: parent.width
            readOnly: true
            selectByMouse: true
            textFormat: TextEdit.PlainText
            wrapMode: TextEdit.Wrap
            color: "#ffd8d8"
            font.family: "monospace"
            text: root.intro + "\n\n" + root.errors
        }
    }
    Rectangle {
        visible: root.closable
        anchors.right: parent.right
        anchors.bottom: parent.bottom
        anchors.margins: 16
        width: 96
        height: 32
        radius: 4
        color: closeArea.pressed ? "#6b3a3a" : "#4d2b2b"
        border.color: "#ffd8d8"
        Text {
            anchors.centerIn: parent
            text: qsTr("Close")
            color: "#ffd8d8"
        }
        MouseArea {
            id: closeArea
            anchors.fill: parent
            onClicked: root.close()
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

QObject *error_window(QQmlEngine &engine, const QString &title, const QString &intro,
                      const QString &errors, bool closable, const QRect *geometry)
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
    if (object) {
        object->setProperty("intro", intro);
        object->setProperty("errors", errors);
        object->setProperty("closable", closable);
    }
    if (auto *window = qobject_cast<QWindow *>(object)) {
        window->setTitle(title);
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
    state.prefix = prefix;
    state.dir = dir;
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
        root = error_window(*state.engine, QStringLiteral("QML error"),
                            QStringLiteral("The window's QML has errors; the next save that fixes "
                                           "them reloads it."),
                            errors, false, keep_geometry ? &geometry : nullptr);
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

QString dev_map_urls(const QString &message)
{
    const Dev &state = dev();
    if (state.prefix.isEmpty())
        return message;
    QString mapped = message;
    mapped.replace(state.prefix, state.dir);
    mapped.replace(QStringLiteral("file://") + state.dir, state.dir);
    return mapped;
}

namespace {

struct LoadErrors
{
    QList<QQmlError> errors;
    QMetaObject::Connection connection;
};

LoadErrors &load_errors()
{
    static LoadErrors state;
    return state;
}

} // namespace

void load_errors_watch(QQmlApplicationEngine &engine)
{
    LoadErrors &state = load_errors();
    state.errors.clear();
    QObject::disconnect(state.connection);
    state.connection = QObject::connect(&engine, &QQmlEngine::warnings,
                                        [](const QList<QQmlError> &warnings) {
                                            load_errors().errors.append(warnings);
                                        });
}

rust::String load_errors_take()
{
    LoadErrors &state = load_errors();
    QObject::disconnect(state.connection);
    const QByteArray text = describe(state.errors).toUtf8();
    state.errors.clear();
    return rust::String(text.constData(), static_cast<size_t>(text.size()));
}

bool load_error_window(QQmlApplicationEngine &engine, rust::Str title, rust::Str intro,
                       rust::Str errors)
{
    QObject *object = error_window(engine, from_rust(title), from_rust(intro), from_rust(errors),
                                   true, nullptr);
    auto *window = qobject_cast<QWindow *>(object);
    if (!window || !window->isVisible()) {
        delete object;
        return false;
    }
    qInfo("qmlbridge: error window shown: %s", qPrintable(window->title()));
    // Until the user closes it (the last window: the loop ends) or the app is asked to quit.
    QGuiApplication::exec();
    // Before the engine goes: a QML object must not outlive its engine.
    delete object;
    return true;
}

} // namespace qmlbridge
