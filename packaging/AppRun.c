/*
 * AppRun: the entry point of a qmlbridge app's AppImage.
 *
 * It points Qt at the bundled plugins and QML modules, then execs usr/bin/APP_BIN with the
 * original arguments (APP_BIN: the host binary's name, given to the compiler by
 * packaging/build-appimage.sh as -DAPP_BIN="\"<name>\"").
 *
 * A binary rather than a shell script for one reason: the AppImage runtime
 * in --appimage-extract-and-run mode forks us and waits; if that runtime process is SIGKILLed we
 * would be orphaned and the app (and its backend) would keep running. So, only when our parent
 * *is* an AppImage runtime (its executable carries the type-2 magic "AI\2" at offset 8), we ask
 * for SIGTERM on its death (PR_SET_PDEATHSIG survives execve). In FUSE mode the runtime has
 * already exec'd into us (same pid), our parent is whatever launched the AppImage, and nothing
 * is set: closing a terminal must not kill a detached app.
 *
 * Everything else stays in the host: libraries are found through RUNPATH ($ORIGIN/../lib), so
 * LD_LIBRARY_PATH is left alone and the backend child sees an almost unchanged environment.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifndef APP_BIN
#error "APP_BIN (the host binary's name, a string literal) must be defined"
#endif

/* True when `pid`'s executable is an AppImage type-2 file ("AI\2" at offset 8, after the ELF
 * ident bytes it overwrites; see the AppImage specification, "Type 2 image format"). */
static int is_appimage_runtime(pid_t pid) {
    char path[64];
    unsigned char magic[3];
    snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }
    ssize_t n = pread(fd, magic, sizeof magic, 8);
    close(fd);
    return n == (ssize_t)sizeof magic && magic[0] == 'A' && magic[1] == 'I' && magic[2] == 2;
}

/* Die with the runtime that started us (extract-and-run mode only, see above). */
static void follow_runtime_parent(void) {
    pid_t parent = getppid();
    if (parent <= 1 || !is_appimage_runtime(parent)) {
        return;
    }
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) {
        perror("AppRun: prctl(PR_SET_PDEATHSIG)");
        return;
    }
    /* The runtime may have died between getppid() and prctl(): then no signal would come. */
    if (getppid() != parent) {
        exit(128 + SIGTERM);
    }
}

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

    follow_runtime_parent();

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
