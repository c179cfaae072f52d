// The Updater singleton and UpdateBanner against a real signed feed on 127.0.0.1
// (host/fixture/tests/qml/updater.rs). Each scenario runs this file in its own process with
// env.mode saying which case it is; the harness checks the files on disk afterwards.
// - "release": check -> Available (version, notes), download -> Ready (delta: bytes reused),
//   the banner's labels and buttons on the way.
// - "tampered": the image on the server is not the one signed: Failed, the error names it.
// - "unavailable": no $APPIMAGE (a development build): Unavailable, the error says why.
// - "notWritable": the image's directory is read-only: NotWritable, the error names it.
import QtQuick
import QtTest
import QmlBridge
import "env.js" as Env

TestCase {
    id: test

    name: "Updater"
    when: windowShown
    width: 640
    height: 240

    readonly property var updater: Updater

    // A window of its own: a TestCase is an invisible Item, so its children never are visible.
    readonly property Window window: Window {
        width: 640
        height: 320
        visible: true

        UpdateBanner {
            id: banner

            width: 640
        }
    }

    function child(item, name) {
        if (item.objectName === name)
            return item;
        for (let i = 0; i < item.children.length; ++i) {
            const found = child(item.children[i], name);
            if (found)
                return found;
        }
        return null;
    }

    function only(mode) {
        if (Env.env.mode !== mode)
            skip("scenario " + Env.env.mode);
    }

    function test_release() {
        only("release");
        compare(Updater.currentVersion, Env.env.running);
        compare(Updater.previousVersion, "");
        verify(!banner.visible, "nothing to say before a check");
        Updater.check();
        tryCompare(test.updater, "state", Updater.Available, 60000);
        compare(Updater.version, Env.env.version);
        compare(Updater.notes, Env.env.notes);
        compare(Updater.size, Env.env.size);
        verify(banner.visible);
        const headline = child(banner, "updateHeadline");
        verify(headline.text.indexOf(Env.env.version) >= 0, headline.text);
        compare(headline.textFormat, Text.PlainText);
        compare(child(banner, "updateNotes").text, Env.env.notes);
        verify(child(banner, "updateDownload").visible);
        verify(!child(banner, "updateRestart").visible);

        Updater.download();
        tryCompare(test.updater, "state", Updater.Ready, 120000);
        compare(Updater.progress, 1);
        verify(Updater.bytesSaved > 0, "blocks of the running image reused: " + Updater.bytesSaved);
        verify(Updater.bytesFetched < Updater.size, "fetched " + Updater.bytesFetched + " of " + Updater.size);
        compare(Updater.bytesSaved + Updater.bytesFetched, Updater.size);
        compare(Updater.previousVersion, Env.env.running);
        compare(Updater.error, "");
        verify(child(banner, "updateRestart").visible);
        verify(!child(banner, "updateDownload").visible);
        verify(child(banner, "updateBytes").text.indexOf("reused") >= 0, child(banner, "updateBytes").text);
    }

    function test_tampered() {
        only("tampered");
        Updater.check();
        tryCompare(test.updater, "state", Updater.Available, 60000);
        Updater.download();
        tryCompare(test.updater, "state", Updater.Failed, 120000);
        verify(Updater.error.indexOf(Env.env.errorNames) >= 0, Updater.error);
        compare(Updater.previousVersion, "");
        const error = child(banner, "updateError");
        verify(error.visible);
        compare(error.text, Updater.error);
        compare(error.textFormat, Text.PlainText);
    }

    function test_unavailable() {
        only("unavailable");
        compare(Updater.state, Updater.Unavailable);
        verify(Updater.error.indexOf("$APPIMAGE is not set") >= 0, Updater.error);
        Updater.check();
        wait(200);
        compare(Updater.state, Updater.Unavailable);
        verify(!banner.visible, "a development build shows no banner");
    }

    function test_not_writable() {
        only("notWritable");
        Updater.check();
        tryCompare(test.updater, "state", Updater.NotWritable, 60000);
        compare(Updater.version, Env.env.version);
        verify(Updater.error.indexOf(Env.env.dir) >= 0, Updater.error);
        verify(Updater.error.indexOf("not writable") >= 0, Updater.error);
        Updater.download();
        wait(200);
        compare(Updater.state, Updater.NotWritable);
        const error = child(banner, "updateError");
        verify(error.visible);
        compare(error.text, Updater.error);
    }
}
