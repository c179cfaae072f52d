// The QML engine's network policy (docs/qml.md, "Network") in the engine Qt Quick Test creates,
// which the harness gives the app's policy (host/fixture/tests/qml.rs, scenario network). Three
// HTTP listeners of the harness count what reaches them: `refused` must see nothing, whatever the
// window shows or loads; `allowed` (listed as `[qml] network` for this run) and `backend` (the
// session's backend URL) must still serve their images, and the allowed one cannot redirect a
// request to the refused one.
import QtQuick
import QtQuick.Controls
import QtTest
import "env.js" as Env

TestCase {
    id: test

    name: "Network"
    when: windowShown
    width: 400
    height: 400

    // What any client could write into a record: markup with an image from anywhere.
    readonly property string probe: "<img src=\"" + Env.env.refused + "/probe.png\">"

    Column {
        // AutoText, Qt's default, renders the markup: the engine's policy is what stops the image.
        Label {
            id: autoLabel

            text: test.probe
            textFormat: Text.AutoText
        }
        Label {
            id: richLabel

            text: test.probe
            textFormat: Text.RichText
        }
        // What every label showing data says: the markup stays text.
        Label {
            id: plainLabel

            text: test.probe
            textFormat: Text.PlainText
        }
        Image {
            id: refusedImage

            source: Env.env.refused + "/image.png"
        }
        Image {
            id: allowedImage

            source: Env.env.allowed + "/allowed.png"
        }
        Image {
            id: backendImage

            source: Env.env.backend + "/backend.png"
        }
        // An allowed host cannot forward a request elsewhere: redirects stay within its origin.
        Image {
            id: redirectedImage

            source: Env.env.allowed + "/to/" + Env.env.refused.replace("http://", "") + "/redirected.png"
        }
        Loader {
            id: refusedLoader

            source: Env.env.refused + "/Page.qml"
        }
    }

    function test_only_the_backend_and_listed_origins_are_fetched() {
        verify(autoLabel.text.indexOf("<img") === 0);
        // The markup stays text: its width is that of the characters, not of an image.
        verify(plainLabel.implicitWidth > richLabel.implicitWidth, "plain text shows the markup");
        const xhr = new XMLHttpRequest(); // qmllint disable unqualified
        xhr.open("GET", Env.env.refused + "/xhr");
        xhr.send();
        tryCompare(allowedImage, "status", Image.Ready, 15000, "the listed origin still loads");
        tryCompare(backendImage, "status", Image.Ready, 15000, "the backend still loads");
        tryCompare(refusedImage, "status", Image.Error, 15000);
        tryCompare(refusedLoader, "status", Loader.Error, 15000);
        tryCompare(redirectedImage, "status", Image.Error, 15000, "no redirect to another origin");
        tryCompare(xhr, "readyState", XMLHttpRequest.DONE, 15000);
        compare(xhr.status, 0, "the refused request got no response");
        // Generous time for a late fetch (the markup probe used to arrive within 0.4 s); the
        // harness then counts what reached the refused listener.
        wait(2000);
    }
}
