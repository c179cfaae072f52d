#!/usr/bin/env bash
# Runs a command where the system's Qt does not exist: a private mount and
# PID namespace in which tmpfs covers Debian's Qt directories (plugins, QML modules, tools, data)
# and an empty file is bind-mounted over every libQt6* library, so a binary that still needed the
# system's Qt would fail to load. /tmp is a fresh tmpfs too: what the command leaves there (an
# extracted AppImage, data dirs) disappears with the namespace; the checkout and any argument
# that lives under /tmp are bound back in.
#
#   packaging/without-system-qt.sh COMMAND [ARG...]
#
# The command runs as PID 1 of the new PID namespace, so orphans are reparented to it (and reaped)
# and every process still running when it exits is killed by the kernel: nothing outlives a test.
# Needs root, or unprivileged user namespaces (then it maps the caller to root inside).
set -euo pipefail

if [ "${QMLBRIDGE_SYSTEM_QT_HIDDEN:-}" != 1 ]; then
  [ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARG...]" >&2; exit 2; }
  userns=()
  [ "$(id -u)" -eq 0 ] || userns=(--map-root-user)
  exec unshare "${userns[@]}" --mount --propagation private --pid --fork --mount-proc \
    env QMLBRIDGE_SYSTEM_QT_HIDDEN=1 "$0" "$@"
fi

libs=/usr/lib/x86_64-linux-gnu
hidden_dirs=("$libs/qt6" /usr/lib/qt6 /usr/share/qt6)
for d in "${hidden_dirs[@]}"; do
  [ -d "$d" ] && mount -t tmpfs -o ro,size=4k,mode=0755 qt-hidden "$d"
done

# What the command needs from the outer /tmp (a checkout under /tmp, as CI's may be, or an image
# there) stays reachable: each such top-level entry is held open by an fd and bound back into the
# fresh /tmp at the same path.
keep=()
for p in "$(cd "$(dirname "$0")/.." && pwd)" "$@"; do
  case $p in
  /tmp/?*)
    rel=${p#/tmp/}
    keep+=("/tmp/${rel%%/*}")
    ;;
  esac
done
fds=()
[ ${#keep[@]} -eq 0 ] || mapfile -t keep < <(printf '%s\n' "${keep[@]}" | sort -u)
for k in "${keep[@]}"; do
  [ -e "$k" ] || continue
  exec {fd}<"$k"
  fds+=("$fd:$k")
done
mount -t tmpfs -o mode=1777 tmp /tmp
for entry in "${fds[@]}"; do
  fd=${entry%%:*} k=${entry#*:}
  [ -e "$k" ] || mkdir -p "$k"
  mount --no-canonicalize --bind "/proc/self/fd/$fd" "$k" # not resolved by name: that is now the new /tmp
  exec {fd}<&-
done
empty=/tmp/.empty-qt-library
: >"$empty"
n=0
while read -r lib; do
  mount --bind -o ro "$empty" "$lib"
  n=$((n + 1))
done < <(find "$libs" -maxdepth 1 -type f -name 'libQt6*.so*')
echo "without-system-qt: hid ${hidden_dirs[*]} and $n libQt6 files" >&2

exec "$@"
