#!/usr/bin/env bash
# Time to first window of the AppImage: prints numbers, asserts nothing.
#
#   packaging/bench-appimage.sh [IMAGE]     default: examples/todo/dist/todo-<version>-x86_64.AppImage
#
# Runs with the system's Qt hidden (packaging/without-system-qt.sh) under Xvfb with the xcb
# platform plugin, as a user's launch would. The clock starts just before exec of the image and
# stops when `xwininfo` first reports the "qmlbridge todo" window IsViewable (polled every ~20 ms,
# so numbers are ~20 ms coarse); the time to the host's state=Online is printed beside it.
#   cold: the image file dropped from the page cache (dd iflag=nocache), a fresh data dir
#         (first launch: creates it, migrates)
#   warm: immediately again, same data dir (median of $RUNS)
# for FUSE mode and for APPIMAGE_EXTRACT_AND_RUN=1. Needs xvfb, x11-utils (xwininfo).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-3}
DEADLINE=60

if [ "${1:-}" != --inside ]; then
  IMG=$(realpath "${1:-$(ls -t "$ROOT"/examples/todo/dist/todo-*-x86_64.AppImage 2>/dev/null | head -n1)}")
  [ -x "$IMG" ] || { echo "no image at $IMG (make appimage)" >&2; exit 1; }
  for tool in Xvfb xwininfo; do
    command -v "$tool" >/dev/null || { echo "$tool not found" >&2; exit 1; }
  done
  exec "$ROOT/packaging/without-system-qt.sh" "$0" --inside "$IMG"
fi
IMG=$2
WORK=$(mktemp -d)
DISPLAY_NUM=:77

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# launch MODE HOME: prints "<ms to window> <ms to Online>" and closes the app again.
launch() {
  local mode=$1 home=$2 t0 t_win= t_online= pid host offset env_extra=()
  [ "$mode" = extract ] && env_extra=(APPIMAGE_EXTRACT_AND_RUN=1)
  local data=$home/.local/share/qmlbridge/todo
  mkdir -p "$home/run"
  chmod 0700 "$home/run"
  # host.log outlives a run: only what this launch appends counts.
  offset=$(stat -c %s "$data/var/log/host.log" 2>/dev/null || echo 0)
  t0=$(now_ms)
  env -u BRIDGE_URL -u WAYLAND_DISPLAY "${env_extra[@]}" HOME="$home" \
    XDG_DATA_HOME="$home/.local/share" XDG_RUNTIME_DIR="$home/run" \
    DISPLAY=$DISPLAY_NUM QT_QPA_PLATFORM=xcb "$IMG" >"$WORK/app.log" 2>&1 </dev/null &
  pid=$!
  while [ -z "$t_win" ] || [ -z "$t_online" ]; do
    if [ -z "$t_win" ] && xwininfo -display $DISPLAY_NUM -name "qmlbridge todo" 2>/dev/null |
        grep -q IsViewable; then
      t_win=$(($(now_ms) - t0))
    fi
    if [ -z "$t_online" ] && tail -c +$((offset + 1)) "$data/var/log/host.log" 2>/dev/null |
        grep -q 'state=Online'; then
      t_online=$(($(now_ms) - t0))
    fi
    if ! kill -0 "$pid" 2>/dev/null || [ $(($(now_ms) - t0)) -gt $((DEADLINE * 1000)) ]; then
      echo "the app exited or timed out; its log:" >&2
      tail -n 30 "$WORK/app.log" >&2
      exit 1
    fi
    sleep 0.02
  done
  # Close it like a window manager would ask: SIGTERM to the host (the child in extract mode).
  host=$(pgrep -x todo || true)
  kill -TERM ${host:-$pid}
  wait "$pid" || true
  while pgrep -x todo-backend >/dev/null; do sleep 0.05; done
  echo "$t_win $t_online"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }

bench_mode() {
  local mode=$1 home=$WORK/home-$1 cold warm_win=() warm_online=() i r
  dd if="$IMG" iflag=nocache count=0 status=none
  cold=$(launch "$mode" "$home")
  for i in $(seq "$RUNS"); do
    r=$(launch "$mode" "$home")
    warm_win+=("${r% *}")
    warm_online+=("${r#* }")
  done
  printf '%-8s cold: window %5d ms, Online %5d ms | warm (median of %d): window %5d ms, Online %5d ms\n' \
    "$mode" "${cold% *}" "${cold#* }" "$RUNS" \
    "$(printf '%s\n' "${warm_win[@]}" | median)" "$(printf '%s\n' "${warm_online[@]}" | median)"
}

# -noreset: otherwise the server resets whenever its last client (an xwininfo poll) leaves,
# and a client connecting during the reset is refused ("could not connect to display").
Xvfb $DISPLAY_NUM -screen 0 1280x800x24 -nolisten tcp -noreset >"$WORK/xvfb.log" 2>&1 &
until xwininfo -display $DISPLAY_NUM -root >/dev/null 2>&1; do sleep 0.05; done
echo "image: $IMG ($(stat -c %s "$IMG") bytes)"
bench_mode fuse
bench_mode extract
