// A dot and a word for BackendConnection.connectionState (or any state given).
import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import QmlBridge

RowLayout {
    id: root

    /// A BackendConnection.ConnectionState value (not `state`: that is every Item's own).
    property int connectionState: BackendConnection.connectionState

    readonly property color color: {
        switch (root.connectionState) {
        case BackendConnection.Online:
            return "#2e7d32";
        case BackendConnection.Offline:
            return "#c62828";
        default:
            return "#f9a825";
        }
    }
    readonly property string label: {
        switch (root.connectionState) {
        case BackendConnection.Online:
            return qsTr("Online");
        case BackendConnection.Reconnecting:
            return qsTr("Reconnecting");
        case BackendConnection.Offline:
            return qsTr("Offline");
        default:
            return qsTr("Connecting");
        }
    }

    spacing: 6

    Rectangle {
        implicitWidth: 10
        implicitHeight: 10
        radius: 5
        color: root.color
    }
    Label {
        text: root.label
        textFormat: Text.PlainText
    }
}
