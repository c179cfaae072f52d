// The live totals: `GET /api/summary` through a RestClient, fetched again whenever the backend
// announces on the summary's topic (its resource hooks after every write, POST /api/settle, the
// settlement its deferred task records), when the hub lost history, and when the backend is
// (back) online. One request at a time: an announcement during a fetch asks for one more, so the
// last answer shown is never older than the last announcement.
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import QmlBridge

RowLayout {
    id: root

    // The summary as last fetched (`null` until the first answer), and its parts.
    property var summary: null
    readonly property real totalCents: root.summary ? root.summary.total_cents : 0
    readonly property real unpaidCents: root.summary ? root.summary.unpaid_cents : 0
    readonly property int settlements: root.summary ? root.summary.settlements : 0
    // The last failed fetch's text (empty after a success).
    property string error: ""

    // The request in flight (-1: none), and whether another fetch is wanted after it.
    property int fetching: -1
    property bool again: false

    // Properties rather than children: Qt 6.4's qmllint cannot tell that a cxx-qt type is a
    // QObject (its qmltypes carry no prototype) and rejects it as a default-property child.
    readonly property RestClient api: RestClient {
        onFinished: (id, status, body, error) => root.fetched(id, status, body, error)
    }
    readonly property MercureSubscription changes: MercureSubscription {
        topics: ["/api/summary"]
        onUpdate: (id, kind, data) => root.refresh()
        onHistoryLost: root.refresh()
        onConnectedChanged: root.refresh()
    }

    // The singleton as an untyped value: Qt 6.4's qmllint rejects binding the singleton itself to
    // the QObject `target` of Connections (cxx-qt's qmltypes carry no prototype).
    readonly property var backend: BackendConnection

    Connections {
        target: root.backend

        function onConnectionStateChanged() {
            if (BackendConnection.connectionState === BackendConnection.Online)
                root.refresh();
        }
    }

    Component.onCompleted: root.refresh()

    Label {
        objectName: "totalLabel"
        text: qsTr("Total %1").arg(root.money(root.totalCents))
        textFormat: Text.PlainText
    }
    Label {
        objectName: "unpaidLabel"
        text: qsTr("Unpaid %1").arg(root.money(root.unpaidCents))
        textFormat: Text.PlainText
        font.bold: root.unpaidCents > 0
    }
    Label {
        objectName: "settlementsLabel"
        text: qsTr("%n settlement(s)", "", root.settlements)
        textFormat: Text.PlainText
        opacity: 0.7
    }
    Label {
        objectName: "summaryError"
        visible: root.error.length > 0
        text: root.error
        textFormat: Text.PlainText
        color: "#b00020"
        elide: Text.ElideRight
        Layout.fillWidth: true
    }

    // Cents as `12.50`: amounts are whole cents on the wire, never floating point.
    function money(cents) {
        const sign = cents < 0 ? "-" : "";
        const abs = Math.abs(cents);
        return sign + Math.floor(abs / 100) + "." + String(abs % 100).padStart(2, "0");
    }

    function refresh() {
        if (root.fetching >= 0) {
            root.again = true;
            return;
        }
        root.fetching = root.api.send("GET", "/api/summary", undefined);
    }

    function fetched(id, status, body, error) {
        if (id !== root.fetching)
            return;
        root.fetching = -1;
        if (status === 200) {
            root.summary = body;
            root.error = "";
        } else {
            root.error = error;
        }
        if (root.again) {
            root.again = false;
            root.refresh();
        }
    }
}
