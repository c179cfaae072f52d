// See network.h.
#include "qmlbridge-qt/network.h"

#include <QtCore/QByteArray>
#include <QtCore/QMetaObject>
#include <QtNetwork/QNetworkAccessManager>
#include <QtNetwork/QNetworkReply>
#include <QtNetwork/QNetworkRequest>
#include <QtQml/QQmlNetworkAccessManagerFactory>

#include "qmlbridge-qt/src/bridge/ffi.cxx.h"

namespace qmlbridge {

namespace {

// A reply that never touched the network: finished at once with ContentAccessDenied, its
// signals queued so that whoever asked has connected them first.
class RefusedReply : public QNetworkReply
{
public:
    RefusedReply(QNetworkAccessManager::Operation op, const QNetworkRequest &request,
                 QObject *parent)
        : QNetworkReply(parent)
    {
        setRequest(request);
        setUrl(request.url());
        setOperation(op);
        setError(ContentAccessDenied,
                 QStringLiteral("refused by the app's network policy (qmlbridge.toml [qml] network)"));
        QIODevice::open(QIODevice::ReadOnly);
        setFinished(true);
        QMetaObject::invokeMethod(
            this,
            [this] {
                Q_EMIT errorOccurred(ContentAccessDenied);
                Q_EMIT finished();
            },
            Qt::QueuedConnection);
    }

    void abort() override {}
    qint64 bytesAvailable() const override { return 0; }

protected:
    qint64 readData(char *, qint64) override { return -1; }
};

class PolicyManager : public QNetworkAccessManager
{
public:
    explicit PolicyManager(QObject *parent) : QNetworkAccessManager(parent) {}

protected:
    QNetworkReply *createRequest(Operation op, const QNetworkRequest &original,
                                 QIODevice *outgoing) override
    {
        const QByteArray url = original.url().toEncoded();
        if (!network_allowed(rust::Str(url.constData(), static_cast<size_t>(url.size()))))
            return new RefusedReply(op, original, this);
        // A redirect is followed inside the reply, without asking createRequest again: only to
        // the same origin, so an allowed host cannot forward the request anywhere.
        QNetworkRequest request(original);
        request.setAttribute(QNetworkRequest::RedirectPolicyAttribute,
                             QNetworkRequest::SameOriginRedirectPolicy);
        return QNetworkAccessManager::createRequest(op, request, outgoing);
    }
};

// Stateless, so one for every engine and thread (the image loader creates its manager on its
// own thread through the factory).
class PolicyFactory : public QQmlNetworkAccessManagerFactory
{
public:
    QNetworkAccessManager *create(QObject *parent) override { return new PolicyManager(parent); }
};

PolicyFactory &factory()
{
    static PolicyFactory instance;
    return instance;
}

} // namespace

void network_install_engine(QQmlEngine *engine)
{
    if (engine)
        engine->setNetworkAccessManagerFactory(&factory());
}

void network_install(QQmlApplicationEngine &engine)
{
    network_install_engine(&engine);
}

void QuickTestSetup::qmlEngineAvailable(QQmlEngine *engine)
{
    network_install_engine(engine);
}

} // namespace qmlbridge
