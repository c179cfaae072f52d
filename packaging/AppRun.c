/*
 * AppRun: the entry point of a qmlbridge app's AppImage.
 *
 * It points Qt at the bundled plugins and QML modules, then execs usr/bin/APP_BIN with the
 * original arguments (APP_BIN: the host binary's name, given to the compiler by
 * packaging/build-appimage.sh as -DAPP_BIN="\"<name>\"").
 *
 * A binary rather than a shell script: nothing to parse at every start, and no shell needed. The
 * runtime (packaging/runtime) execs us in every mode, so our pid is the image's: a SIGKILL of the
 * image kills the host, whose backend follows it (parent-death signal), and the runtime's helper
 * then unmounts or removes the extracted tree.
 *
 * Everything else stays in the host: libraries are found through RUNPATH ($ORIGIN/../lib), so
 * LD_LIBRARY_PATH is left alone and the backend child sees an almost unchanged environment.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef APP_BIN
#error "APP_BIN (the host binary's name, a string literal) must be defined"
#endif

int main(int argc, char **argv) {
    (void)argc;
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) {
        perror("AppRun: readlink /proc/self/exe");
        return 127;
    }
    self[len] = '\0';
    char *slash = strrchr(self, '/');
    if (slash == NULL) {
        fprintf(stderr, "AppRun: unexpected path %s\n", self);
        return 127;
    }
    *slash = '\0'; /* self is now the AppDir */

    /* The binary's name is a crate name: at most 72 bytes (qmlbridge-manifest's rules). */
    char plugins[PATH_MAX + 32], qml[PATH_MAX + 32], exe[PATH_MAX + 128];
    snprintf(plugins, sizeof plugins, "%s/usr/plugins", self);
    snprintf(qml, sizeof qml, "%s/usr/qml", self);
    if (snprintf(exe, sizeof exe, "%s/usr/bin/%s", self, APP_BIN) >= (int)sizeof exe) {
        fprintf(stderr, "AppRun: path too long: %s/usr/bin/%s\n", self, APP_BIN);
        return 127;
    }

    /* Override, not append: a user's QT_PLUGIN_PATH may point at plugins built for another Qt.
     * qt.conf beside the binary says the same; these also cover Qt code that reads only the
     * environment. Qt 6.4 reads QML2_IMPORT_PATH, newer Qt QML_IMPORT_PATH. */
    setenv("QT_PLUGIN_PATH", plugins, 1);
    setenv("QML2_IMPORT_PATH", qml, 1);
    setenv("QML_IMPORT_PATH", qml, 1);
    if (getenv("APPDIR") == NULL) {
        setenv("APPDIR", self, 1);
    }

    argv[0] = exe;
    execv(exe, argv);
    fprintf(stderr, "AppRun: cannot run %s: %s\n", exe, strerror(errno));
    return 127;
}
