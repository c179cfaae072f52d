// Bundled mode: the supervisor spawns the real backend (host/tests/qml_tests.rs, scenario
// bundled). The harness SIGKILLs the first child once Online; tokenRotated must fire with the new
// token, and the model must keep working with it without any QML code.
import QtQuick
import QtTest
import QmlBridge
import "env.js" as Env

TestCase {
    id: test

    property var tokens: []

    name: "BundledMode"

    TodoModel {
        id: todos
    }

    SignalSpy {
        id: rotated

        target: BackendConnection
        signalName: "tokenRotated"
    }

    Connections {
        function onTokenChanged() {
            if (BackendConnection.token.length > 0)
                test.tokens.push(BackendConnection.token);
        }

        target: BackendConnection
    }

    function initTestCase() {
        // A token already set when the singleton was created is the first one.
        if (BackendConnection.token.length > 0)
            test.tokens.push(BackendConnection.token);
    }

    function test_1_bundled_mode_comes_online() {
        compare(BackendConnection.mode, BackendConnection.Bundled);
        compare(BackendConnection.dataDir, Env.env.dataDir);
        tryCompare(BackendConnection, "connectionState", BackendConnection.Online, 60000);
        verify(/^http:\/\/127\.0\.0\.1:\d+$/.test(BackendConnection.url), BackendConnection.url);
        compare(BackendConnection.token.length, 43);
    }

    function test_2_token_rotates_after_the_backend_is_killed() {
        // The harness may have killed the child already: wait for the signal, not the next one.
        tryVerify(() => rotated.count > 0, 60000, "tokenRotated after the kill");
        const newToken = rotated.signalArguments[rotated.count - 1][0];
        compare(newToken.length, 43);
        compare(BackendConnection.token, newToken);
        tryCompare(BackendConnection, "connectionState", BackendConnection.Online, 60000);
        // The first spawn's token, then the respawn's: different, and the new one is current.
        verify(test.tokens.length >= 2, JSON.stringify(test.tokens.map(t => t.length)));
        verify(test.tokens[0] !== newToken, "the token changed");
        compare(test.tokens[test.tokens.length - 1], newToken);
    }

    function test_3_requests_use_the_new_token() {
        tryCompare(BackendConnection, "connectionState", BackendConnection.Online, 60000);
        const before = todos.count;
        todos.add("after rotation");
        tryCompare(todos, "count", before + 1, 20000);
        compare(todos.error, "");
    }
}
