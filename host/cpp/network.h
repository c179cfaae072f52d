// The QML engines' network policy (src/network.rs decides, docs/qml.md "Network"): every
// QNetworkAccessManager an engine creates asks network_allowed (Rust) before a request leaves,
// and answers a refused one with a ContentAccessDenied error instead of sending it.
#pragma once

#include <QtCore/QObject>
#include <QtQml/QQmlApplicationEngine>
#include <QtQml/QQmlEngine>

namespace qmlbridge {

// The policy on `engine`: before anything is loaded (an engine creates its managers lazily).
void network_install(QQmlApplicationEngine &engine);
void network_install_engine(QQmlEngine *engine);

// Qt Quick Test's setup object (quick_test_main_with_setup): the same policy on every engine
// the test runner creates, so QML tests see what the app's window sees.
class QuickTestSetup : public QObject
{
    Q_OBJECT

public Q_SLOTS:
    void qmlEngineAvailable(QQmlEngine *engine);
};

} // namespace qmlbridge
