#!/usr/bin/env bash
# End-to-end test of an app's AppImage (STYLE.md test layer 5): the image is
# started as a user would, with the system's Qt hidden (packaging/without-system-qt.sh), under a
# temporary HOME/XDG_DATA_HOME and QT_QPA_PLATFORM=offscreen, and killed as a user's machine would.
#
#   qmlbridge bundle --app DIR --test       builds the image, then runs this on it
#   packaging/test-appimage.sh IMAGE        with the variables below set
#
# From the app's qmlbridge.toml (`qmlbridge bundle` sets them): QMLBRIDGE_APP_NAME, QMLBRIDGE_ORG,
# QMLBRIDGE_IDENTIFIER, QMLBRIDGE_HOST_BIN, QMLBRIDGE_BACKEND_BIN, QMLBRIDGE_DISPLAY_NAME,
# QMLBRIDGE_MAX_SIZE_MB. From the caller (what only the app knows):
#   QMLBRIDGE_TEST_RESOURCE   the resource checked over HTTP (e.g. bookmarks: /api/bookmarks)
#   QMLBRIDGE_TEST_BODY       a JSON object POSTed to it; it must contain the marker text
#                             "written through the AppImage" (default {"title": "<marker>"})
#   QMLBRIDGE_WINDOW_TITLE    the window's title (default: the display name)
#
# Checks, in order (each one can fail; the first failure prints the logs and exits 1):
#   1. size <= the manifest's limit; the runtime's SquashFS offset; the extracted tree: AppRun,
#      binaries, backend files where host/supervisor/src/paths.rs looks, qt.conf, platform plugins,
#      QML modules, <id>.desktop (desktop-file-validate), icons, AppStream metainfo, licence
#      notices; every ELF inside resolves all its libraries, and every Qt library from the image.
#   2. FUSE mode, fresh data dir, under Xvfb (xcb platform plugin): the window is mapped, the host
#      logs state=Online, the data dir and var/data.sqlite exist, host and backend run from the
#      mounted image, the backend answers /api/<resource>: 401 without the token, 200 with it
#      (read from the backend's /proc/<pid>/environ: we are root in our own namespace), a POSTed
#      record is listed. SIGKILL of the AppImage process: no backend and no host process remain, the
#      FUSE mount goes away.
#   3. APPIMAGE_EXTRACT_AND_RUN=1, offscreen, same data dir: Online, migrate on the existing
#      database, the record of run 2 is still there. SIGKILL of the AppImage (runtime) process:
#      nothing remains. It runs with what `qmlbridge dev` gives a debug host (QMLBRIDGE_DEV=1, a
#      QMLBRIDGE_DEV_QML_DIR whose Main.qml logs a marker, BRIDGE_TOKEN): the release host
#      says it keeps its compiled-in QML, the marker is never logged, the token still rotates.
#   4. --appimage-extract-and-run, offscreen: Online; SIGTERM to the host closes it, the backend
#      is stopped, exit status 0.
# After Online, every run also checks that the host still runs and logged no QML load failure.
#
# Then packaging/test-appimage-systems.sh runs the image as an unprivileged user on a Debian 13
# root with FUSE 3, the same without FUSE, and this machine (APPIMAGE_TEST_SYSTEMS=0 skips that).
#
# Needs root (or unprivileged user namespaces), curl, Xvfb, xwininfo (scripts/install-deps.sh
# appimage); the systems test needs root and debootstrap.
# No timing is asserted; the seconds to Online are printed for information.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEADLINE=${APPIMAGE_TEST_DEADLINE:-30} # seconds to wait for each condition (loaded 2-core CI)
XDISPLAY=:71
MARKER="written through the AppImage"

log() { printf 'test-appimage: %s\n' "$*" >&2; }

for var in QMLBRIDGE_APP_NAME QMLBRIDGE_ORG QMLBRIDGE_IDENTIFIER QMLBRIDGE_HOST_BIN \
           QMLBRIDGE_BACKEND_BIN QMLBRIDGE_DISPLAY_NAME QMLBRIDGE_MAX_SIZE_MB QMLBRIDGE_TEST_RESOURCE; do
  [ -n "${!var:-}" ] || { log "$var is not set (qmlbridge bundle --app DIR --test sets the manifest's)"; exit 1; }
done
APP=$QMLBRIDGE_APP_NAME ORG=$QMLBRIDGE_ORG ID=$QMLBRIDGE_IDENTIFIER
HOST_BIN=$QMLBRIDGE_HOST_BIN BACKEND_BIN=$QMLBRIDGE_BACKEND_BIN
MAX_BYTES=$((QMLBRIDGE_MAX_SIZE_MB * 1000 * 1000))
WINDOW_TITLE=${QMLBRIDGE_WINDOW_TITLE:-$QMLBRIDGE_DISPLAY_NAME}
API=/api/$QMLBRIDGE_TEST_RESOURCE
BODY_JSON=${QMLBRIDGE_TEST_BODY:-"{\"title\":\"$MARKER\"}"}
case $BODY_JSON in *"$MARKER"*) ;; *) log "QMLBRIDGE_TEST_BODY must contain \"$MARKER\""; exit 1 ;; esac

if [ "${1:-}" != --inside ]; then
  [ $# -ge 1 ] || { log "usage: $0 IMAGE (or qmlbridge bundle --app DIR --test)"; exit 2; }
  IMG=$(realpath "$1")
  [ -x "$IMG" ] || { log "no image at $IMG (qmlbridge bundle --app DIR)"; exit 1; }
  for tool in curl unshare desktop-file-validate appstreamcli readelf ldd Xvfb xwininfo; do
    command -v "$tool" >/dev/null || { log "$tool not found (scripts/install-deps.sh appimage)"; exit 1; }
  done
  "$ROOT/packaging/without-system-qt.sh" "$0" --inside "$IMG"
  # The same image on a FUSE 3 system, one without FUSE, and this one, as an unprivileged user.
  if [ "${APPIMAGE_TEST_SYSTEMS:-1}" = 1 ]; then
    exec "$ROOT/packaging/test-appimage-systems.sh" "$IMG"
  fi
  log "APPIMAGE_TEST_SYSTEMS=$APPIMAGE_TEST_SYSTEMS: other systems not tested"
  exit 0
fi
IMG=$2
WORK=$(mktemp -d) # on the namespace's private /tmp
LOGS=()
HOST_PID=

# shellcheck source=packaging/test-lib.sh
. "$ROOT/packaging/test-lib.sh"
no_fuse_mount() { ! grep -q '/\.mount_' /proc/self/mounts; }
# Only what this run wrote: the data dir (and its host.log) outlives a run.
new_log() { tail -c +$((LOG_OFFSET + 1)) "$DATA/var/log/host.log" 2>/dev/null; }
logged_online() { new_log | grep -q 'state=Online'; }
xvfb_ready() { xwininfo -display $XDISPLAY -root >/dev/null 2>&1; }
window_viewable() { xwininfo -display $XDISPLAY -name "$WINDOW_TITLE" 2>/dev/null | grep -q IsViewable; }

# start_app LOGNAME [ARG...]: starts the image in the background with a user-like environment.
start_app() {
  local name=$1
  shift
  LOG_OFFSET=$(stat -c %s "$DATA/var/log/host.log" 2>/dev/null || echo 0)
  LOGS=("$WORK/$name.log" "$DATA/var/log/host.log" "$DATA/var/log/backend.log")
  env -u BRIDGE_URL -u DATABASE_URL -u BRIDGE_BACKEND_BIN -u BRIDGE_BACKEND_DIR \
    -u BRIDGE_CADDYFILE -u QT_PLUGIN_PATH -u QML2_IMPORT_PATH -u QML_IMPORT_PATH \
    -u LD_LIBRARY_PATH -u WAYLAND_DISPLAY \
    HOME="$HOME_DIR" XDG_DATA_HOME="$HOME_DIR/.local/share" XDG_CONFIG_HOME="$HOME_DIR/.config" \
    XDG_CACHE_HOME="$HOME_DIR/.cache" XDG_RUNTIME_DIR="$HOME_DIR/run" \
    QT_QPA_PLATFORM="${PLATFORM:-offscreen}" DISPLAY="${DISPLAY_ENV:-}" BRIDGE_LOG=info \
    "${EXTRA_ENV[@]}" "$IMG" "$@" >"$WORK/$name.log" 2>&1 </dev/null &
  APP_PID=$!
  STARTED=$SECONDS
}

# Waits for Online and checks the data dir and the backend's API; sets BACKEND_PID, HOST_PID.
check_online() {
  local where=$1 port token code body
  wait_for "the host to log state=Online" logged_online
  log "  Online after $((SECONDS - STARTED)) s (information only)"
  [ -d "$DATA" ] || fail "data dir $DATA missing"
  [ -s "$DATA/var/data.sqlite" ] || fail "$DATA/var/data.sqlite missing or empty after migrate"
  wait_for "one backend process" one_named "$BACKEND_BIN"
  BACKEND_PID=$(pids_named "$BACKEND_BIN")
  HOST_PID=$(pids_named "$HOST_BIN")
  [ "$(wc -w <<<"$HOST_PID")" -eq 1 ] || fail "expected one host process, found: $HOST_PID"
  case $(readlink "/proc/$BACKEND_PID/exe") in
    "$where"*/usr/share/$APP/bin/$BACKEND_BIN) ;;
    *) fail "backend runs $(readlink "/proc/$BACKEND_PID/exe"), not the image's (under $where)" ;;
  esac
  grep -q "${where}[^ ]*/usr/lib/libQt6Core.so.6" "/proc/$HOST_PID/maps" \
    || fail "the host did not map the image's libQt6Core"
  port=$(environ_var "$BACKEND_PID" PORT)
  token=$(environ_var "$BACKEND_PID" BRIDGE_TOKEN)
  if [ -z "$port" ] || [ ${#token} -lt 32 ]; then fail "backend environment lacks PORT or BRIDGE_TOKEN"; fi
  URL=http://127.0.0.1:$port
  code=$(curl -s -o /dev/null -w '%{http_code}' "$URL$API")
  [ "$code" = 401 ] || fail "GET $API without token: $code, want 401"
  body=$(curl -sS --fail -H "Authorization: Bearer $token" "$URL$API") \
    || fail "GET $API with the session token failed"
  [ "${body:0:1}" = "[" ] || fail "GET $API: not a JSON array: ${body:0:200}"
  TOKEN=$token
  BODY=$body
  kill -0 "$HOST_PID" 2>/dev/null || fail "the host exited"
  if new_log | grep -E 'failed to load|is not a type|module .* is not installed' >&2; then
    fail "the host logged a QML load failure"
  fi
}

post_record() {
  curl -sS --fail -o /dev/null -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    -d "$BODY_JSON" "$URL$API" || fail "POST $API failed"
}

# SIGKILLs $APP_PID and checks that no host and no backend process remain.
kill_and_check() {
  kill -KILL "$APP_PID"
  wait "$APP_PID" 2>/dev/null || true
  wait_for "no backend process after SIGKILL" none_named "$BACKEND_BIN"
  wait_for "no host process after SIGKILL" none_named "$HOST_BIN"
}

static_checks() {
  local size offset root=$WORK/extract/squashfs-root f icon elf out bad=0
  size=$(stat -c %s "$IMG")
  log "image $IMG: $size bytes"
  [ "$size" -le $MAX_BYTES ] || fail "image is $size bytes, over $MAX_BYTES"
  offset=$("$IMG" --appimage-offset) || fail "--appimage-offset failed"
  if [ "$offset" -le 0 ] || [ "$offset" -ge "$size" ]; then fail "bad SquashFS offset $offset"; fi
  # The update information in .upd_info: what `qmlbridge bundle --sign` embedded (it passes
  # QMLBRIDGE_UPDATE_INFO on), else nothing; a signed image has its release files beside it.
  out=$("$IMG" --appimage-updateinformation) || fail "--appimage-updateinformation failed"
  [ "$out" = "${QMLBRIDGE_UPDATE_INFO:-}" ] \
    || fail "the update information is '$out', want '${QMLBRIDGE_UPDATE_INFO:-}'"
  if [ -n "${QMLBRIDGE_UPDATE_INFO:-}" ]; then
    for f in "$IMG.zsync" "$(dirname "$IMG")/latest.json" "$(dirname "$IMG")/latest.json.minisig"; do
      [ -s "$f" ] || fail "--sign wrote no $f"
    done
    grep -qax "Length: $size" "$IMG.zsync" || fail "$IMG.zsync is not for this image's $size bytes"
    log "ok: update information '$out', .zsync and latest.json beside the image"
  fi
  mkdir -p "$WORK/extract"
  (cd "$WORK/extract" && "$IMG" --appimage-extract >/dev/null) || fail "--appimage-extract failed"
  for f in AppRun "usr/bin/$HOST_BIN" "usr/share/$APP/bin/$BACKEND_BIN"; do
    [ -x "$root/$f" ] || fail "$f missing or not executable"
  done
  for f in usr/bin/qt.conf "usr/share/$APP/Caddyfile" usr/plugins/platforms/libqxcb.so \
           usr/plugins/platforms/libqoffscreen.so usr/qml/QtQuick/qmldir \
           usr/qml/QtQuick/Controls/qmldir usr/qml/QtQuick/Layouts/qmldir \
           usr/share/doc/qmlbridge/Qt-LGPL-NOTICE.txt usr/share/doc/qmlbridge/AppImage-runtime.txt usr/share/doc/qmlbridge/LGPL-2.1 \
           usr/share/doc/qmlbridge/LGPL-3 "usr/share/metainfo/$ID.metainfo.xml" \
           "usr/share/applications/$ID.desktop" "usr/share/icons/hicolor/256x256/apps/$ID.png"; do
    [ -f "$root/$f" ] || fail "$f missing from the image"
  done
  [ -d "$root/usr/share/$APP/backend" ] || fail "usr/share/$APP/backend missing"
  f=$(find "$root" -maxdepth 1 -name '*.desktop')
  [ "$f" = "$root/$ID.desktop" ] || fail "want exactly one .desktop file at the AppDir root, $ID.desktop: $f"
  desktop-file-validate "$f" || fail "desktop-file-validate $(basename "$f")"
  grep -qx "Exec=$HOST_BIN" "$f" || fail "$ID.desktop does not run $HOST_BIN"
  icon=$(sed -n 's/^Icon=//p' "$f")
  [ "$icon" = "$ID" ] || fail "the desktop file's icon is $icon, not $ID"
  appstreamcli validate --no-net "$root/usr/share/metainfo/$ID.metainfo.xml" >&2 \
    || fail "appstreamcli validate $ID.metainfo.xml"
  [ -f "$root/$icon.png" ] || [ -f "$root/$icon.svg" ] || fail "icon $icon missing at the AppDir root"
  [ -e "$root/.DirIcon" ] || fail ".DirIcon missing"
  # shellcheck disable=SC2016 # a literal $ORIGIN
  readelf -d "$root/usr/bin/$HOST_BIN" | grep -q 'RUNPATH.*\$ORIGIN/\.\./lib' \
    || fail "usr/bin/$HOST_BIN has no RUNPATH \$ORIGIN/../lib"
  # With the system's Qt hidden, every ELF must resolve all libraries, Qt ones from the image.
  while read -r elf; do
    [ "$(head -c 4 "$elf" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
    out=$(ldd "$elf" 2>&1) || true
    if grep -q 'not found' <<<"$out" || grep -E 'libQt6' <<<"$out" | grep -vq "=> $root/"; then
      log "unresolved or system Qt library in ${elf#"$root"/}:"
      grep -E 'not found|libQt6' <<<"$out" | grep -v "=> $root/" >&2
      bad=1
    fi
  done < <(find "$root/usr" "$root/AppRun" -type f \( -name '*.so*' -o -perm -u+x \))
  [ $bad = 0 ] || fail "libraries unresolved with the system's Qt hidden"
  log "ok: size, layout, desktop file, licences, libraries"
}

fuse_run() {
  log "run 1: FUSE mount, fresh data dir, Xvfb"
  [ ! -e "$DATA" ] || fail "data dir exists before the first run"
  # -noreset: otherwise the server resets whenever its last client (an xwininfo poll) leaves,
  # and a client connecting during the reset is refused ("could not connect to display").
  Xvfb $XDISPLAY -screen 0 1280x800x24 -nolisten tcp -noreset >"$WORK/xvfb.log" 2>&1 &
  wait_for "Xvfb to accept connections" xvfb_ready
  PLATFORM=xcb DISPLAY_ENV=$XDISPLAY start_app fuse
  wait_for "the window \"$WINDOW_TITLE\" to be mapped" window_viewable
  log "  window after $((SECONDS - STARTED)) s (information only)"
  check_online /tmp/.mount_
  post_record
  grep -q "$MARKER" <<<"$(curl -sS -H "Authorization: Bearer $TOKEN" "$URL$API")" \
    || fail "the POSTed record is not listed"
  kill_and_check
  wait_for "the FUSE mount to go away after SIGKILL" no_fuse_mount
  log "ok: FUSE mode; SIGKILL left no process and no mount"
}

extract_env_run() {
  local injected=$WORK/injected-qml marker="QML injected through QMLBRIDGE_DEV_QML_DIR"
  local fixed="a-token-the-release-host-must-not-fix"
  log "run 2: APPIMAGE_EXTRACT_AND_RUN=1, existing data dir, a dev session's variables"
  # Whoever can set the app's environment must not get their QML run inside it: the dev
  # variables are a debug host's only (host/src/dev.rs).
  mkdir -p "$injected"
  printf 'import QtQuick\nItem { Component.onCompleted: console.warn("%s") }\n' "$marker" \
    >"$injected/Main.qml"
  EXTRA_ENV=(QMLBRIDGE_DEV=1 "QMLBRIDGE_DEV_QML_DIR=$injected" "BRIDGE_TOKEN=$fixed")
  APPIMAGE_EXTRACT_AND_RUN=1 start_app extract-env
  EXTRA_ENV=()
  check_online /tmp/appimage_extracted_
  new_log | grep -q "a release host keeps its compiled-in QML" \
    || fail "the release host did not say it ignores QMLBRIDGE_DEV_QML_DIR"
  if new_log | grep -qF "$marker"; then
    fail "the release host ran QML from QMLBRIDGE_DEV_QML_DIR"
  fi
  [ "$TOKEN" != "$fixed" ] || fail "the release host gave its backend BRIDGE_TOKEN (a dev session's fixed token)"
  if [ "$FUSE_RAN" = 1 ]; then
    grep -q "$MARKER" <<<"$BODY" || fail "run 1's record is gone after a relaunch"
  else
    post_record
  fi
  kill_and_check
  log "ok: extract-and-run (env); SIGKILL of the runtime left no process"
}

extract_arg_run() {
  local status=0
  log "run 3: --appimage-extract-and-run, SIGTERM to the host"
  start_app extract-arg --appimage-extract-and-run
  check_online /tmp/appimage_extracted_
  kill -TERM "$HOST_PID"
  wait "$APP_PID" || status=$?
  [ $status = 0 ] || fail "exit status $status after SIGTERM, want 0"
  wait_for "the backend to stop with the host" none_named "$BACKEND_BIN"
  log "ok: extract-and-run (argument); SIGTERM closed the app and its backend"
}

main() {
  EXTRA_ENV=()
  [ ! -s /usr/lib/x86_64-linux-gnu/libQt6Core.so.6 ] || fail "the system's Qt is not hidden"
  HOME_DIR=$WORK/home
  DATA=$HOME_DIR/.local/share/$ORG/$APP
  mkdir -p "$HOME_DIR/run"
  chmod 0700 "$HOME_DIR/run"
  static_checks
  FUSE_RAN=0
  if [ -c /dev/fuse ]; then
    fuse_run
    FUSE_RAN=1
  elif [ -n "${APPIMAGE_TEST_REQUIRE_FUSE:-}" ]; then
    fail "/dev/fuse is missing and APPIMAGE_TEST_REQUIRE_FUSE is set"
  else
    log "SKIP run 1 (FUSE mode): this machine has no /dev/fuse; the extract-and-run modes still run"
  fi
  extract_env_run
  extract_arg_run
  log "PASS"
}

main
