#!/usr/bin/env bash
# Time to first window of the AppImage, our runtime against AppImageKit's old one on the same
# payload: prints numbers, asserts nothing. Goal: <= 400 ms cold to the first window.
#
#   packaging/bench-appimage.sh [IMAGE]     default: the newest examples/*/dist/*-x86_64.AppImage
#
# Runs with the system's Qt hidden (packaging/without-system-qt.sh) under Xvfb with the xcb
# platform plugin, as a user's launch would. The clock starts just before exec of the image and
# stops when `xwininfo` first reports the window IsViewable (polled every ~20 ms, so numbers are
# ~20 ms coarse); the time to the host's state=Online is printed beside it.
#   cold: the image (and a cache's files) dropped from the page cache (dd iflag=nocache), a fresh
#         data dir (first launch: creates it, migrates); median of $COLD_RUNS (default 1), each
#         with its own fresh data dir: on a busy machine one cold sample varies by +-100 ms
#   warm: immediately again, same data dir (median of $RUNS)
# Modes: new/fuse (our runtime, FUSE), new/cache (our runtime where FUSE cannot be used:
# QMLBRIDGE_APPIMAGE_NO_FUSE=1; its cold run is the first start, which extracts, then a cold start
# from the cache), old/fuse (AppImageKit's runtime, libfuse2), old/extract (its
# APPIMAGE_EXTRACT_AND_RUN=1, which extracts on every start). The old runtime reads only gzip
# payloads (a zstd payload is repacked as gzip/128K, what images had with it); it is fetched here
# (the crates.io crate `appimage`, through cargo) and nowhere else. Needs squashfs-tools.
#
# The window's title and the processes: BENCH_WINDOW_TITLE, BENCH_HOST_BIN, BENCH_BACKEND_BIN,
# BENCH_DATA (data dir under XDG_DATA_HOME), defaulting to the reference example's; BENCH_MODES
# picks modes (default: all four). BENCH_BASELINE=IMAGE adds mode base/fuse: that image (the same
# payload under an earlier build of our runtime) in the same run, for a before/after comparison.
# Needs xvfb, x11-utils (xwininfo), libfuse2 for the old runtime.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-3}
COLD_RUNS=${COLD_RUNS:-1}
DEADLINE=60
TITLE=${BENCH_WINDOW_TITLE:-qmlbridge todo}
HOST_BIN=${BENCH_HOST_BIN:-todo}
BACKEND_BIN=${BENCH_BACKEND_BIN:-todo-backend}
DATA_REL=${BENCH_DATA:-qmlbridge/todo}
# AppImageKit's type-2 runtime (git 8bbf694), as shipped in the `appimage` crate: the baseline.
OLD_CRATE=appimage
OLD_CRATE_VERSION=0.4.0
OLD_SHA256=328e0d745c5c6817048c27bc3e8314871703f8f47ffa81a37cb06cd95a94b323

# Prints the old runtime's path, fetching the crate through cargo when needed.
old_runtime() {
  local dir=$1/old-runtime-crate meta manifest rt
  mkdir -p "$dir/src"
  printf '%s\n' '[package]' 'name = "bench-old-runtime"' 'version = "0.0.0"' 'edition = "2021"' \
    'publish = false' '[dependencies]' "$OLD_CRATE = \"=$OLD_CRATE_VERSION\"" '[workspace]' \
    >"$dir/Cargo.toml"
  : >"$dir/src/lib.rs"
  meta=$(cargo metadata --format-version 1 --manifest-path "$dir/Cargo.toml")
  manifest=$(grep -o "\"manifest_path\":\"[^\"]*/$OLD_CRATE-$OLD_CRATE_VERSION/Cargo.toml\"" \
             <<<"$meta" | head -n1 | cut -d'"' -f4)
  rt=$(dirname "$manifest")/assets/runtime-x86_64
  echo "$OLD_SHA256  $rt" | sha256sum --check --quiet - >&2 || return 1
  echo "$rt"
}

outer() {
  local img=$1 work old_img offset comp rt
  work=$(mktemp -d)
  offset=$("$img" --appimage-offset)
  # SquashFS superblock: the compression id is the u16 at byte 20 (1 gzip, 6 zstd).
  comp=$(od -An -tu2 -j $((offset + 20)) -N2 "$img" | tr -d ' ')
  old_img=$work/old.AppImage
  if [[ " ${BENCH_MODES:-old/fuse} " != *" old/"* ]]; then
    old_img=
  elif ! rt=$(old_runtime "$work"); then
    echo "old runtime: skipped (the crate could not be fetched or its checksum differs)"
    old_img=
  elif [ "$comp" = 1 ]; then
    { cat "$rt"; tail -c +$((offset + 1)) "$img"; } >"$old_img"
  else
    # The old runtime reads only gzip: the same tree as the images were before (gzip, 128K).
    echo "old runtime: the payload (compression id $comp) repacked as gzip/128K for it"
    (cd "$work" && "$img" --appimage-extract >/dev/null)
    mksquashfs "$work/squashfs-root" "$work/old.squashfs" -root-owned -noappend -no-xattrs \
      -b 128K -comp gzip -quiet -no-progress >/dev/null
    cat "$rt" "$work/old.squashfs" >"$old_img"
    rm -rf "$work/squashfs-root" "$work/old.squashfs"
  fi
  [ -z "$old_img" ] || chmod 0755 "$old_img"
  # The checkout is bound back into the namespace; the work dir lives under /tmp, so bind it too.
  # The baseline image is an argument too, so that one under /tmp stays reachable in there.
  exec "$ROOT/packaging/without-system-qt.sh" "$0" --inside "$img" "$old_img" "$work" \
    "${BENCH_BASELINE:-}"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# launch IMAGE HOME [VAR=VALUE...]: prints "<ms to window> <ms to Online>", closes the app again.
launch() {
  local img=$1 home=$2 t0 t_win='' t_online='' pid host offset data
  shift 2
  data=$home/.local/share/$DATA_REL
  mkdir -p "$home/run"
  chmod 0700 "$home/run"
  # host.log outlives a run: only what this launch appends counts.
  offset=$(stat -c %s "$data/var/log/host.log" 2>/dev/null || echo 0)
  t0=$(now_ms)
  env -u BRIDGE_URL -u WAYLAND_DISPLAY "$@" HOME="$home" XDG_CACHE_HOME="$home/.cache" \
    XDG_DATA_HOME="$home/.local/share" XDG_RUNTIME_DIR="$home/run" \
    DISPLAY=$DISPLAY_NUM QT_QPA_PLATFORM=xcb "$img" >"$WORK/app.log" 2>&1 </dev/null &
  pid=$!
  while [ -z "$t_win" ] || [ -z "$t_online" ]; do
    if [ -z "$t_win" ] && xwininfo -display $DISPLAY_NUM -name "$TITLE" 2>/dev/null |
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
  # Close it like a window manager would ask: SIGTERM to the host.
  host=$(pgrep -x "$HOST_BIN" || true)
  kill -TERM "${host:-$pid}"
  wait "$pid" || true
  while pgrep -x "$BACKEND_BIN" >/dev/null; do sleep 0.05; done
  # The image's mount helper or cleanup helper finishes right after.
  while grep -q -e '/\.mount_' -e '/appimage_extracted_' /proc/self/mounts; do sleep 0.05; done
  echo "$t_win $t_online"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }

drop_caches() {
  dd if="$1" iflag=nocache count=0 status=none
  [ -d "$2/.cache" ] && find "$2/.cache" -type f -exec dd iflag=nocache count=0 status=none if={} \;
  return 0
}

# bench LABEL IMAGE [VAR=VALUE...]
bench() {
  local label=$1 img=$2 home k r cold cached='' cold_win=() cold_online=() warm_win=() warm_online=()
  shift 2
  for k in $(seq "$COLD_RUNS"); do
    home=$WORK/home-${label//\//-}-$k
    drop_caches "$img" "$home"
    r=$(launch "$img" "$home" "$@")
    cold_win+=("${r% *}")
    cold_online+=("${r#* }")
  done
  cold="$(printf '%s\n' "${cold_win[@]}" | median) $(printf '%s\n' "${cold_online[@]}" | median)"
  if [ "$label" = new/cache ]; then
    drop_caches "$img" "$home"
    cached=$(launch "$img" "$home" "$@")
  fi
  for _ in $(seq "$RUNS"); do
    r=$(launch "$img" "$home" "$@")
    warm_win+=("${r% *}")
    warm_online+=("${r#* }")
  done
  printf '%-12s cold (median of %d): window %5d ms, Online %5d ms | warm (median of %d): window %5d ms, Online %5d ms\n' \
    "$label" "$COLD_RUNS" "${cold% *}" "${cold#* }" "$RUNS" \
    "$(printf '%s\n' "${warm_win[@]}" | median)" "$(printf '%s\n' "${warm_online[@]}" | median)"
  if [ -n "$cached" ]; then
    printf '%-12s (the cold run above extracted; cold from the cache: window %5d ms, Online %5d ms)\n' \
      "" "${cached% *}" "${cached#* }"
  fi
}

inside() {
  local img=$1 old=$2 baseline=$4
  WORK=$3
  DISPLAY_NUM=:77
  # -noreset: otherwise the server resets whenever its last client (an xwininfo poll) leaves,
  # and a client connecting during the reset is refused ("could not connect to display").
  Xvfb $DISPLAY_NUM -screen 0 1280x800x24 -nolisten tcp -noreset >"$WORK/xvfb.log" 2>&1 &
  until xwininfo -display $DISPLAY_NUM -root >/dev/null 2>&1; do sleep 0.05; done
  echo "image: $img ($(stat -c %s "$img") bytes; goal: <= 400 ms cold to the first window)"
  local modes=" ${BENCH_MODES:-new/fuse new/cache old/fuse old/extract} "
  [ -z "$baseline" ] || bench base/fuse "$baseline"
  [[ $modes != *" new/fuse "* ]] || bench new/fuse "$img"
  [[ $modes != *" new/cache "* ]] || bench new/cache "$img" QMLBRIDGE_APPIMAGE_NO_FUSE=1
  if [ -n "$old" ]; then
    [[ $modes != *" old/fuse "* ]] || bench old/fuse "$old"
    [[ $modes != *" old/extract "* ]] || bench old/extract "$old" APPIMAGE_EXTRACT_AND_RUN=1
  fi
}

main() {
  if [ "${1:-}" = --inside ]; then
    inside "$2" "$3" "$4" "${5:-}"
    return
  fi
  local img
  img=${1:-$(find "$ROOT"/examples/*/dist -name '*-x86_64.AppImage' -printf '%T@ %p\n' 2>/dev/null |
    sort -rn | head -n1 | cut -d' ' -f2-)}
  if [ -z "$img" ] || [ ! -x "$img" ]; then
    echo "no image at '$img' (make appimage)" >&2
    exit 1
  fi
  for tool in Xvfb xwininfo; do
    command -v "$tool" >/dev/null || { echo "$tool not found" >&2; exit 1; }
  done
  if [ -n "${BENCH_BASELINE:-}" ]; then
    [ -x "$BENCH_BASELINE" ] || { echo "BENCH_BASELINE=$BENCH_BASELINE is not an executable image" >&2; exit 1; }
    BENCH_BASELINE=$(realpath "$BENCH_BASELINE")
    export BENCH_BASELINE
  fi
  outer "$(realpath "$img")"
}

main "$@"
