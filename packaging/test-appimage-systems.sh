#!/usr/bin/env bash
# The image on the systems people run it on, as an unprivileged user (STYLE.md test layer 5):
#   fuse3   a Debian 13 (trixie) root with FUSE 3 (fusermount3) and no libfuse2, the desktop
#           libraries and no Qt: the image mounts itself through fusermount3;
#   nofuse  the same root with no /dev/fuse: the image extracts once into the user's cache, and a
#           second start runs from there without extracting again (same directory inode and mtime,
#           and the runtime says so);
#   host    this Debian 12 machine (libfuse2 and fusermount from FUSE 2), the system's Qt hidden.
# In each: the window is mapped (Xvfb + xwininfo), the host logs state=Online, the data dir holds
# var/data.sqlite; SIGKILL of the image's process leaves no host, no backend and no mount.
#
#   packaging/test-appimage-systems.sh IMAGE      (test-appimage.sh runs it after its own checks)
#   packaging/test-appimage-systems.sh --root     only builds (or finds) the trixie root, prints it
#
# Reads QMLBRIDGE_APP_NAME, QMLBRIDGE_ORG, QMLBRIDGE_HOST_BIN, QMLBRIDGE_BACKEND_BIN and
# QMLBRIDGE_WINDOW_TITLE (default QMLBRIDGE_DISPLAY_NAME), as `qmlbridge bundle --test` sets them.
# The trixie root is built with debootstrap from the Debian archive this machine's apt uses and
# kept under <target>/appimage-systems/ (rebuilt when the package list below changes), so only
# the first run pays for it (~3-5 min). /dev/fuse here is root's only: the fuse3 case gives its
# root a device node of its own (mknod in a private /dev), never touching the machine's.
# Needs root, debootstrap, setpriv (scripts/install-deps.sh appimage).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF=$ROOT/packaging/test-appimage-systems.sh
DEADLINE=${APPIMAGE_TEST_DEADLINE:-30}
SUITE=trixie
TESTER_UID=1000
# What a current desktop has, without Qt (the image brings its own): X and Wayland client
# libraries, GL, fonts and text shaping, GLib, D-Bus, FUSE 3 (what packaging/excludelist leaves to
# the system); xvfb and x11-utils to show and find the window.
PACKAGES=(fuse3 procps xvfb xauth x11-utils libgl1 libegl1 libopengl0 libfontconfig1
          fonts-dejavu-core libxkbcommon0 libxkbcommon-x11-0 libx11-xcb1 libxcb-cursor0
          libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0
          libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libdbus-1-3 libglib2.0-0t64 libharfbuzz0b
          libcom-err2 libwayland-cursor0 libwayland-egl1)

log() { printf 'test-appimage-systems: %s\n' "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

# The Debian archive apt uses here (deb822 .sources or one-line lists), for debootstrap.
debian_mirror() {
  local url
  url=$(sed -n 's/^URIs: *\([^ ]*\/debian\/\?\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
  [ -n "$url" ] || url=$(sed -n 's/^deb \(\[[^]]*\] \)\?\([^ ]*\/debian\/\?\) .*/\2/p' \
    /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | head -n1)
  [ -n "$url" ] || die "no Debian archive in /etc/apt/sources.list*: debootstrap needs one"
  echo "$url"
}

# Prints the path of the cached trixie root, building it first when missing.
system_root() {
  local target key dir tmp mirror
  # The framework's own target dir, whatever CARGO_TARGET_DIR the caller builds with: one root.
  target=$(cd "$ROOT" && env -u CARGO_TARGET_DIR cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
  key=$(printf '%s\n' "$SUITE" "${PACKAGES[@]}" | sha256sum | cut -c1-12)
  dir=$target/appimage-systems/$SUITE-$key
  if [ -f "$dir/.complete" ]; then
    echo "$dir"
    return
  fi
  command -v debootstrap >/dev/null || die "debootstrap not found (scripts/install-deps.sh appimage)"
  mirror=$(debian_mirror)
  tmp=$dir.tmp
  rm -rf "$tmp"
  mkdir -p "$(dirname "$dir")"
  log "building a $SUITE root (debootstrap minbase + ${#PACKAGES[@]} packages) in $dir; later runs reuse it"
  debootstrap --variant=minbase "$SUITE" "$tmp" "$mirror" >"$tmp.log" 2>&1 \
    || { tail -n 20 "$tmp.log" >&2; die "debootstrap failed"; }
  # shellcheck disable=SC2016 # expanded by the inner shell
  unshare --mount --propagation private bash -c '
    set -e
    mount -t proc proc "$1/proc"
    shift
    chroot "$0" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" </dev/null
    chroot "$0" apt-get clean' "$tmp" "$tmp" "${PACKAGES[@]}" >>"$tmp.log" 2>&1 \
    || { tail -n 20 "$tmp.log" >&2; die "apt-get install in the $SUITE root failed"; }
  # fusermount3 reads /etc/mtab, a symlink on every installed system but not in a fresh root.
  ln -sf /proc/self/mounts "$tmp/etc/mtab"
  chroot "$tmp" useradd --create-home --uid $TESTER_UID tester
  [ ! -e "$tmp/usr/lib/x86_64-linux-gnu/libfuse.so.2" ] || die "the $SUITE root has libfuse2"
  ! compgen -G "$tmp/usr/lib/x86_64-linux-gnu/libQt6Core.so*" >/dev/null || die "the $SUITE root has Qt"
  [ -u "$tmp/usr/bin/fusermount3" ] || die "the $SUITE root has no setuid fusermount3"
  rm -f "$tmp.log"
  touch "$tmp/.complete"
  mv "$tmp" "$dir"
  echo "$dir"
}

# --- inside a private mount + PID namespace, as root --------------------------------------------

# A /dev of our own for the root at $1: the usual nodes bound from the machine's, and, when $2 is
# "fuse", a FUSE node every user may open (what desktops have; the machine's is root's only).
private_dev() {
  local dev=$1/dev n
  mount -t tmpfs -o mode=0755,nosuid dev "$dev"
  for n in null zero full random urandom tty; do
    touch "$dev/$n"
    mount --bind "/dev/$n" "$dev/$n"
  done
  mkdir -m 1777 "$dev/shm"
  mkdir "$dev/pts"
  ln -s /proc/self/fd "$dev/fd"
  if [ "$2" = fuse ]; then
    mknod -m 0666 "$dev/fuse" c 10 229
  fi
}

# Runs the checks for case $1 in the trixie root $2 on image $3.
in_system() {
  local case=$1 sysroot=$2 img=$3 fuse=fuse
  [ "$case" = nofuse ] && fuse=none
  mount -t proc proc "$sysroot/proc"
  mount --rbind /sys "$sysroot/sys"
  private_dev "$sysroot" "$fuse"
  mount -t tmpfs -o mode=1777 tmp "$sysroot/tmp"
  mkdir -p "$sysroot/opt/qmlbridge-test"
  mount -t tmpfs tmp "$sysroot/opt/qmlbridge-test"
  touch "$sysroot/opt/qmlbridge-test/app.AppImage" "$sysroot/opt/qmlbridge-test/check"
  mount --bind -o ro "$img" "$sysroot/opt/qmlbridge-test/app.AppImage"
  mount --bind -o ro "$SELF" "$sysroot/opt/qmlbridge-test/check"
  chroot "$sysroot" /usr/bin/setpriv --reuid=$TESTER_UID --regid=$TESTER_UID --init-groups \
    /usr/bin/env -i PATH=/usr/bin:/bin "${APP_ENV[@]}" \
    /bin/bash /opt/qmlbridge-test/check --check "$case" /opt/qmlbridge-test/app.AppImage
}

# Runs the checks on this machine (inside without-system-qt.sh) as user nobody, with a FUSE node
# nobody may open bound over /dev/fuse in this namespace only.
on_host() {
  local img=$1 node=/tmp/.fuse-node copy=/tmp/.image/app.AppImage
  mknod -m 0666 "$node" c 10 229
  mount --bind "$node" /dev/fuse
  # A copy nobody can read wherever the checkout lives.
  mkdir -p "$(dirname "$copy")"
  install -m 0755 "$img" "$copy"
  setpriv --reuid=65534 --regid=65534 --clear-groups \
    env -i PATH=/usr/bin:/bin "${APP_ENV[@]}" bash "$SELF" --check host "$copy"
}

# --- as the unprivileged user --------------------------------------------------------------------

pids_named() {
  local stat pid rest comm state
  for stat in /proc/[0-9]*/stat; do
    { read -r pid rest <"$stat"; } 2>/dev/null || continue
    comm=${rest#(}
    comm=${comm%%) *}
    state=${rest##*) }
    state=${state%% *}
    [ "$comm" = "${1:0:15}" ] && [ "$state" != Z ] && echo "$pid"
  done
  return 0
}
none_named() { [ -z "$(pids_named "$1")" ]; }
no_mount() { ! grep -q '/\.mount_' /proc/self/mounts; }
xvfb_ready() { xwininfo -display "$DISPLAY" -root >/dev/null 2>&1; }
window_viewable() { xwininfo -display "$DISPLAY" -name "$WINDOW_TITLE" 2>/dev/null | grep -q IsViewable; }
new_log() { tail -c +$((LOG_OFFSET + 1)) "$DATA/var/log/host.log" 2>/dev/null; }
logged_online() { new_log | grep -q 'state=Online'; }

fail() {
  log "FAIL ($CASE): $*"
  for f in "$WORK/app.log" "$DATA/var/log/host.log"; do
    [ -f "$f" ] && { log "---- last lines of $f"; tail -n 30 "$f" >&2; }
  done
  exit 1
}

wait_for() {
  local what=$1 end=$((SECONDS + DEADLINE))
  shift
  until "$@"; do
    [ $SECONDS -lt $end ] || fail "timed out after ${DEADLINE}s waiting for: $what"
    sleep 0.1
  done
}

# start_and_check: starts the image, checks window, Online, data; sets APP_PID, HOST_PID.
start_and_check() {
  LOG_OFFSET=$(stat -c %s "$DATA/var/log/host.log" 2>/dev/null || echo 0)
  STARTED=$SECONDS
  env HOME="$HOME" XDG_RUNTIME_DIR="$XDG_RUNTIME_DIR" DISPLAY="$DISPLAY" QT_QPA_PLATFORM=xcb \
    BRIDGE_LOG=info "$IMG" >"$WORK/app.log" 2>&1 </dev/null &
  APP_PID=$!
  wait_for "the window \"$WINDOW_TITLE\" to be mapped" window_viewable
  wait_for "the host to log state=Online" logged_online
  log "  window and Online after $((SECONDS - STARTED)) s (information only)"
  [ -s "$DATA/var/data.sqlite" ] || fail "$DATA/var/data.sqlite missing after the first start"
  HOST_PID=$(pids_named "$HOST_BIN")
  [ "$(wc -w <<<"$HOST_PID")" -eq 1 ] || fail "expected one host process, found: $HOST_PID"
}

kill_and_check() {
  kill -KILL "$APP_PID"
  wait "$APP_PID" 2>/dev/null || true
  wait_for "no backend after SIGKILL" none_named "$BACKEND_BIN"
  wait_for "no host after SIGKILL" none_named "$HOST_BIN"
  wait_for "no FUSE mount after SIGKILL" no_mount
}

check() {
  CASE=$1 IMG=$2
  WORK=$(mktemp -d)
  export HOME=$WORK/home XDG_RUNTIME_DIR=$WORK/run DISPLAY=:72
  mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
  chmod 0700 "$XDG_RUNTIME_DIR"
  DATA=$HOME/.local/share/$ORG/$APP
  local cache=$HOME/.cache/qmlbridge/appimage dir before after
  log "$CASE: as $(id -un 2>/dev/null || id -u) on $(. /etc/os-release && echo "$PRETTY_NAME")"
  Xvfb "$DISPLAY" -screen 0 1280x800x24 -nolisten tcp -noreset >"$WORK/xvfb.log" 2>&1 &
  wait_for "Xvfb" xvfb_ready
  start_and_check
  case $CASE in
    fuse3 | host)
      case $(readlink "/proc/$HOST_PID/exe") in
        /tmp/.mount_*) ;;
        *) fail "the host runs $(readlink "/proc/$HOST_PID/exe"), not from a FUSE mount" ;;
      esac
      [ ! -e "$cache" ] || fail "FUSE mode wrote a cache at $cache"
      kill_and_check
      ;;
    nofuse)
      grep -q 'extracted the app once to' "$WORK/app.log" || fail "the first start did not say it extracted"
      dir=$(find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name '.*')
      [ "$(wc -l <<<"$dir")" -eq 1 ] || fail "want one cache dir, found: $dir"
      case $(readlink "/proc/$HOST_PID/exe") in
        "$dir"/*) ;;
        *) fail "the host runs $(readlink "/proc/$HOST_PID/exe"), not from the cache $dir" ;;
      esac
      before=$(stat -c '%i %Y %Z' "$dir")
      kill_and_check
      start_and_check
      grep -q "running from $dir (extracted by an earlier start)" "$WORK/app.log" \
        || fail "the second start did not run from the cache"
      after=$(stat -c '%i %Y %Z' "$dir")
      [ "$before" = "$after" ] || fail "the cache dir changed on the second start: $before -> $after"
      kill_and_check
      ;;
  esac
  log "ok: $CASE"
}

main() {
  case ${1:-} in
    --check) check "$2" "$3"; return ;;
    --system) in_system "$2" "$3" "$4"; return ;;
    --host) on_host "$2"; return ;;
  esac
  [ $# -eq 1 ] || { log "usage: $0 IMAGE"; exit 2; }
  [ "$(id -u)" -eq 0 ] || die "needs root (namespaces, chroot, device nodes)"
  local img sysroot t0=$SECONDS case
  img=$(realpath "$1")
  sysroot=$(system_root)
  for case in fuse3 nofuse; do
    unshare --mount --pid --fork --propagation private "$SELF" --system "$case" "$sysroot" "$img"
  done
  "$ROOT/packaging/without-system-qt.sh" "$SELF" --host "$img"
  log "PASS: fuse3, nofuse ($SUITE), host ($((SECONDS - t0)) s)"
}

[ "${1:-}" != --root ] || { system_root; exit; }
for var in QMLBRIDGE_APP_NAME QMLBRIDGE_ORG QMLBRIDGE_HOST_BIN QMLBRIDGE_BACKEND_BIN; do
  [ -n "${!var:-}" ] || die "$var is not set (qmlbridge bundle --app DIR --test sets the manifest's)"
done
APP=$QMLBRIDGE_APP_NAME ORG=$QMLBRIDGE_ORG HOST_BIN=$QMLBRIDGE_HOST_BIN BACKEND_BIN=$QMLBRIDGE_BACKEND_BIN
WINDOW_TITLE=${QMLBRIDGE_WINDOW_TITLE:-${QMLBRIDGE_DISPLAY_NAME:-}}
[ -n "$WINDOW_TITLE" ] || die "QMLBRIDGE_WINDOW_TITLE or QMLBRIDGE_DISPLAY_NAME must be set"
APP_ENV=("QMLBRIDGE_APP_NAME=$APP" "QMLBRIDGE_ORG=$ORG" "QMLBRIDGE_HOST_BIN=$HOST_BIN"
         "QMLBRIDGE_BACKEND_BIN=$BACKEND_BIN" "QMLBRIDGE_WINDOW_TITLE=$WINDOW_TITLE")
main "$@"
