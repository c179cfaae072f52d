#!/usr/bin/env bash
# Builds an app's AppImage from release builds; generic: `qmlbridge bundle --app DIR` reads the
# app's qmlbridge.toml, writes and validates its desktop entry, AppStream metainfo and icon sizes,
# and runs this script with the variables below set (docs/manifest.md).
#
# Steps: cargo release build of the host + backend packages -> AppDir (binaries, backend files
# where the host's path resolution looks, Qt libraries/plugins/QML modules the way linuxdeploy's
# Qt plugin bundles them, RUNPATH set with patchelf, qt.conf, desktop file, icons, metainfo,
# licences) -> SquashFS -> our AppImage type-2 runtime (packaging/runtime, built here, static)
# + SquashFS, the payload's SHA-256 written into the runtime's .qmlbridge_payload section.
#
# Set by `qmlbridge bundle` (all required):
#   QMLBRIDGE_APP_DIR          the app's root (cargo builds there)
#   QMLBRIDGE_APP_NAME         share/<name>/ (the host's AppImage fallback, docs/contract.md §9)
#   QMLBRIDGE_IDENTIFIER       the reverse-DNS id: desktop file, icon and metainfo names
#   QMLBRIDGE_HOST_PACKAGE, QMLBRIDGE_HOST_BIN         the host crate and binary (usr/bin/<bin>)
#   QMLBRIDGE_BACKEND_PACKAGE, QMLBRIDGE_BACKEND_BIN   the backend crate and binary
#   QMLBRIDGE_BACKEND_DIR      the backend's working directory (its public/ is shipped)
#   QMLBRIDGE_CADDYFILE        the backend's configuration
#   QMLBRIDGE_QML_DIRS         ':'-separated dirs whose QML decides the Qt QML modules shipped
#   QMLBRIDGE_QUICK_STYLES     Qt Quick Controls styles to bundle (e.g. "Basic Fusion": Fusion is
#                              Qt 6's default on Linux, Basic the fallback every style builds on)
#   QMLBRIDGE_MAX_SIZE_MB      the image's size budget (10^6 bytes)
#   QMLBRIDGE_META_DIR         <id>.desktop, <id>.metainfo.xml, icons/<N>x<N>.png [icons/scalable.svg]
#   QMLBRIDGE_BUILD_DIR        scratch space (the AppDir)
#   QMLBRIDGE_OUT              the image to write
# Set by `qmlbridge bundle --sign` (optional):
#   QMLBRIDGE_UPDATE_INFO      the update information written into the runtime's .upd_info
#                              section (AppImage spec: `zsync|<url of the .zsync file>`), before
#                              the image exists, so its checksums and signature cover it
#
# Environment for a person:
#   CARGO_TARGET_DIR          where cargo builds (default: the workspace's target/qt, the Qt builds' dir)
#   APPIMAGE_SKIP_BUILD=1     use the release binaries already in $CARGO_TARGET_DIR/release
#   APPIMAGE_COMP=gzip|zstd   SquashFS compression (default: see COMP below; the runtime reads both)
#   APPIMAGE_BLOCK=128K       SquashFS block size (default: see BLOCK below)
#   QMLBRIDGE_RUNTIME_TARGET_DIR  where the runtime is built (packaging/build-runtime.sh)
#
# Why zstd with 128K blocks: the runtime decompresses a whole block for every page the loader
# faults in (it keeps a few blocks and reads the libraries ahead; the kernel keeps the pages).
# Measured on the 2-core dev machine (loaded by other builds) with a 98 MB AppDir (Qt Quick, two
# Controls styles, a backend): image size and first window from a fresh FUSE mount
# (packaging/bench-appimage.sh, cold / warm median of 3):
#   gzip  64K 39.8 MB  598 / 532 ms     zstd  64K 37.4 MB  523 / 458 ms
#   gzip 128K 39.4 MB  508-657 / 490-622 zstd 128K 35.9 MB  524-564 / 372-508 ms
#   gzip 256K 39.2 MB  718 / 704 ms     zstd 256K 34.9 MB  619 / 511 ms
#   gzip   1M 39.0 MB  644 / 755 ms     zstd   1M 36.7 MB  615 / 541 ms
# zstd/128K is the smallest but one and among the fastest; larger blocks cost start time (a
# fault decompresses more than it needs). The first start without FUSE extracts 98 MB: ~0.7 s
# gzip, ~0.7-1.1 s zstd (level 15 decompresses as fast; the spread is the machine's load).
#
# Nothing is downloaded: the runtime is built from packaging/runtime with the crates cargo already
# has, and both cargo builds run --offline when every crate is local (packaging/build-runtime.sh):
# once built, bundling works with no network and never asks the crate registry.
set -euo pipefail

PKG=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

log() { printf 'build-appimage: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

for var in QMLBRIDGE_APP_DIR QMLBRIDGE_APP_NAME QMLBRIDGE_IDENTIFIER QMLBRIDGE_HOST_PACKAGE \
           QMLBRIDGE_HOST_BIN QMLBRIDGE_BACKEND_PACKAGE QMLBRIDGE_BACKEND_BIN QMLBRIDGE_BACKEND_DIR \
           QMLBRIDGE_CADDYFILE QMLBRIDGE_QML_DIRS QMLBRIDGE_QUICK_STYLES QMLBRIDGE_MAX_SIZE_MB \
           QMLBRIDGE_META_DIR QMLBRIDGE_BUILD_DIR QMLBRIDGE_OUT; do
  [ -n "${!var+set}" ] || die "$var is not set: run this through \`qmlbridge bundle --app DIR\`"
done
APP_DIR=$QMLBRIDGE_APP_DIR
APP=$QMLBRIDGE_APP_NAME
ID=$QMLBRIDGE_IDENTIFIER
HOST_BIN=$QMLBRIDGE_HOST_BIN
BACKEND_BIN=$QMLBRIDGE_BACKEND_BIN
META=$QMLBRIDGE_META_DIR
OUT=$QMLBRIDGE_OUT
BUILD=$QMLBRIDGE_BUILD_DIR
APPDIR=$BUILD/AppDir
COMP=${APPIMAGE_COMP:-zstd}
BLOCK=${APPIMAGE_BLOCK:-128K}
case $COMP in gzip | zstd) ;; *) die "APPIMAGE_COMP=$COMP: the runtime reads gzip and zstd" ;; esac
MAX_BYTES=$((QMLBRIDGE_MAX_SIZE_MB * 1000 * 1000))
STYLES=$QMLBRIDGE_QUICK_STYLES
IFS=: read -r -a QML_DIRS <<<"$QMLBRIDGE_QML_DIRS"

FRAMEWORK=$(cd "$PKG/.." && pwd)

# Qt builds share <workspace target>/qt (as scripts/run.sh does), so the ~10 min cxx-qt build
# happens once; the workspace is the app's (for the todo example, the framework's).
if [ -n "${CARGO_TARGET_DIR:-}" ]; then
  TARGET_DIR=$CARGO_TARGET_DIR
else
  TARGET_DIR=$(cd "$APP_DIR" && cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/qt
fi
case $TARGET_DIR in /*) ;; *) TARGET_DIR=$PWD/$TARGET_DIR ;; esac

QMAKE=$(command -v qmake6 || command -v qmake)
# shellcheck disable=SC2034 # read by lib-deploy.sh
QT_LIBS=$("$QMAKE" -query QT_INSTALL_LIBS)
QT_PLUGINS=$("$QMAKE" -query QT_INSTALL_PLUGINS)
QT_QML=$("$QMAKE" -query QT_INSTALL_QML)
QT_LIBEXECS=$("$QMAKE" -query QT_INSTALL_LIBEXECS)

for tool in mksquashfs patchelf desktop-file-validate cc strip ldd file readelf sha256sum; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh appimage)"
done

# shellcheck source=packaging/lib-deploy.sh
source "$PKG/lib-deploy.sh"
# build_runtime, cargo_offline_first
# shellcheck source=packaging/build-runtime.sh
source "$PKG/build-runtime.sh"

build_release() {
  if [ "${APPIMAGE_SKIP_BUILD:-0}" = 1 ]; then
    log "APPIMAGE_SKIP_BUILD=1: using $TARGET_DIR/release"
  else
    log "cargo build --release -p $QMLBRIDGE_HOST_PACKAGE -p $QMLBRIDGE_BACKEND_PACKAGE (target dir $TARGET_DIR)"
    (cd "$APP_DIR" && CARGO_TARGET_DIR=$TARGET_DIR cargo_offline_first build --release \
       -p "$QMLBRIDGE_HOST_PACKAGE" -p "$QMLBRIDGE_BACKEND_PACKAGE")
  fi
  for b in "$HOST_BIN" "$BACKEND_BIN"; do
    [ -x "$TARGET_DIR/release/$b" ] || die "missing $TARGET_DIR/release/$b"
  done
}

# The desktop entry, icons and metainfo `qmlbridge bundle` wrote and validated, where the AppImage
# tooling and desktops look: <id>.desktop and <id>.png at the AppDir root (.DirIcon), the hicolor
# theme under usr/share/icons, AppStream under usr/share/metainfo.
deploy_desktop_integration() {
  local png size largest=
  install -m 0644 "$META/$ID.desktop" "$APPDIR/$ID.desktop"
  install -D -m 0644 "$META/$ID.desktop" "$APPDIR/usr/share/applications/$ID.desktop"
  install -D -m 0644 "$META/$ID.metainfo.xml" "$APPDIR/usr/share/metainfo/$ID.metainfo.xml"
  for png in "$META"/icons/*x*.png; do
    [ -f "$png" ] || continue
    size=$(basename "$png" .png)
    install -D -m 0644 "$png" "$APPDIR/usr/share/icons/hicolor/$size/apps/$ID.png"
    largest=$png
  done
  [ -n "$largest" ] || die "no icon PNG in $META/icons"
  # The 256 px PNG at the root when there is one (what AppImage tooling shows), else the largest.
  [ -f "$META/icons/256x256.png" ] && largest=$META/icons/256x256.png
  install -m 0644 "$largest" "$APPDIR/$ID.png"
  ln -s "$ID.png" "$APPDIR/.DirIcon"
  if [ -f "$META/icons/scalable.svg" ]; then
    install -m 0644 "$META/icons/scalable.svg" "$APPDIR/$ID.svg"
    install -D -m 0644 "$META/icons/scalable.svg" "$APPDIR/usr/share/icons/hicolor/scalable/apps/$ID.svg"
  fi
  desktop-file-validate "$APPDIR/$ID.desktop"
}

assemble_appdir() {
  local rel=$TARGET_DIR/release share=$APPDIR/usr/share/$APP
  rm -rf "$APPDIR"
  mkdir -p "$APPDIR/usr/bin" "$APPDIR/usr/lib" "$share/bin" "$share/backend"

  log "AppRun, binaries, backend files"
  # AppRun execs usr/bin/<host>: the name is compiled in (a C string literal, quoted for cc).
  cc -O2 -Wall -Wextra -Werror -DAPP_BIN="\"$HOST_BIN\"" -o "$APPDIR/AppRun" "$PKG/AppRun.c"
  strip "$APPDIR/AppRun"
  install -m 0755 "$rel/$HOST_BIN" "$APPDIR/usr/bin/$HOST_BIN"
  # <exe_dir>/../share/<app>/{bin/<backend>,Caddyfile,backend}: the host's AppImage
  # fallback (docs/contract.md §9; host/supervisor/src/paths.rs).
  install -m 0755 "$rel/$BACKEND_BIN" "$share/bin/$BACKEND_BIN"
  strip "$APPDIR/usr/bin/$HOST_BIN" "$share/bin/$BACKEND_BIN"
  install -m 0644 "$QMLBRIDGE_CADDYFILE" "$share/Caddyfile"
  # The backend's working directory: `root public` in the Caddyfile (git keeps no empty dirs).
  mkdir -p "$share/backend/public"
  if [ -d "$QMLBRIDGE_BACKEND_DIR/public" ]; then cp -a "$QMLBRIDGE_BACKEND_DIR/public/." "$share/backend/public/"; fi

  log "desktop file, icons, metainfo"
  deploy_desktop_integration

  deploy_qt_plugins
  deploy_qml_modules
  local plugins
  mapfile -t plugins < <(find "$APPDIR/usr/plugins" "$APPDIR/usr/qml" -name '*.so' -type f)
  deploy_libraries "$APPDIR/usr/bin/$HOST_BIN" "$share/bin/$BACKEND_BIN" "${plugins[@]}"
  set_runpaths
  write_qt_conf
  deploy_licences
}

# "<offset> <size>" (decimal) of ELF section $2 in file $1.
section_extent() {
  readelf -S -W "$1" | sed -n "s/^ *\[ *[0-9]*\] $2 \+[A-Z_]\+ \+[0-9a-f]\+ \([0-9a-f]\+\) \([0-9a-f]\+\) .*/\1 \2/p" |
    { read -r off size && echo "$((16#$off)) $((16#$size))"; }
}

make_image() {
  local rt=$1 payload=$BUILD/payload.squashfs head=$BUILD/runtime.head sha extent section
  log "mksquashfs ($COMP, $BLOCK blocks)"
  rm -f "$payload"
  mksquashfs "$APPDIR" "$payload" -root-owned -noappend -no-xattrs -b "$BLOCK" -comp "$COMP" \
    -quiet -no-progress >/dev/null
  mkdir -p "$(dirname "$OUT")"
  # The type-2 layout: the runtime, "AI\x02" at offset 8 (the spec's magic), then the payload
  # right after the section header table, which this runtime has last (its offset rule).
  cp "$rt" "$head"
  chmod u+w "$head"
  printf 'AI\002' | dd of="$head" bs=1 seek=8 conv=notrunc status=none
  for section in .upd_info .sha256_sig .sig_key .qmlbridge_payload; do
    [ -n "$(section_extent "$head" "$section")" ] || die "the runtime has no $section section"
  done
  # The payload's digest, so a start without FUSE finds its cache without hashing the payload.
  sha=$(sha256sum "$payload" | cut -d' ' -f1)
  extent=$(section_extent "$head" .qmlbridge_payload)
  printf 'sha256=%s\n' "$sha" | dd of="$head" bs=1 seek="${extent%% *}" conv=notrunc status=none
  if [ -n "${QMLBRIDGE_UPDATE_INFO:-}" ]; then
    extent=$(section_extent "$head" .upd_info)
    # The section is zero-filled: the text and at least one NUL must fit.
    [ "${#QMLBRIDGE_UPDATE_INFO}" -lt "${extent##* }" ] \
      || die "QMLBRIDGE_UPDATE_INFO is ${#QMLBRIDGE_UPDATE_INFO} bytes; .upd_info holds ${extent##* }"
    printf '%s' "$QMLBRIDGE_UPDATE_INFO" | dd of="$head" bs=1 seek="${extent%% *}" conv=notrunc status=none
  fi
  cat "$head" "$payload" >"$OUT.tmp"
  chmod 0755 "$OUT.tmp"
  mv -f "$OUT.tmp" "$OUT"
  [ "$("$OUT" --appimage-offset)" = "$(stat -c %s "$head")" ] \
    || die "runtime reports a SquashFS offset other than its own size"
  [ "$(stat -c %s "$OUT")" -le $MAX_BYTES ] \
    || die "$OUT is $(stat -c %s "$OUT") bytes, over the $MAX_BYTES limit"
}

main() {
  local t0=$SECONDS rt
  build_release
  rt=$(build_runtime "$FRAMEWORK")
  assemble_appdir
  make_image "$rt"
  log "wrote $OUT ($(du -h "$OUT" | cut -f1), AppDir $(du -sh "$APPDIR" | cut -f1)) in $((SECONDS - t0)) s"
}

main "$@"
