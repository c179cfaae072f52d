#!/usr/bin/env bash
# Builds dist/qmlbridge-todo-x86_64.AppImage from release builds.
#
#   packaging/build-appimage.sh
#
# Steps: cargo release build of `qmlbridge` + `todo-backend` -> AppDir (binaries, backend
# files where the host's path resolution looks, Qt libraries/plugins/QML modules the way
# linuxdeploy's Qt plugin bundles them, RUNPATH set with patchelf, qt.conf, desktop file, icon,
# licences) -> SquashFS -> AppImage type-2 runtime + SquashFS.
#
# Environment:
#   CARGO_TARGET_DIR          where cargo builds (default: <repo>/target/qt, the Qt builds' dir)
#   APPIMAGE_SKIP_BUILD=1     use the release binaries already in $CARGO_TARGET_DIR/release
#   APPIMAGE_COMP=gzip|xz     SquashFS compression (default gzip; the runtime cannot read zstd)
#   APPIMAGE_BLOCK=128K       SquashFS block size (default 128K)
#
# Why gzip with 128K blocks: the runtime's squashfuse decompresses a whole block for every page
# the dynamic loader faults in, with a small cache. Measured on the 2-core dev machine (under load)
# for the first `usr/bin/todo --version` from a fresh mount, i.e. loading all of Qt:
# xz/1M 10.8-13.6 s (26.8 MB image), xz/128K 2.4 s (29.2 MB), gzip/1M 1.6 s (37.0 MB),
# gzip/128K 0.35-0.56 s (37.4 MB), gzip/64K 0.27 s (37.9 MB). xz would only buy size.
#   QMLBRIDGE_QUICK_STYLES    Qt Quick Controls styles to bundle (default "Basic Fusion": Fusion
#                             is Qt 6's default on Linux, Basic the fallback every style builds on)
#
# Nothing is downloaded except the crates.io crate that carries the runtime (through cargo).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PKG=$ROOT/packaging
APP=todo                     # the host's app name: data dir and share/<app>/ (docs/contract.md §9)
ARCH=x86_64
OUT=$ROOT/dist/qmlbridge-$APP-$ARCH.AppImage
BUILD=$ROOT/build/appimage
APPDIR=$BUILD/AppDir
COMP=${APPIMAGE_COMP:-gzip}
BLOCK=${APPIMAGE_BLOCK:-128K}
MAX_BYTES=$((40 * 1000 * 1000)) # the image's size budget: at most 40 MB
STYLES=${QMLBRIDGE_QUICK_STYLES:-Basic Fusion}

# The runtime: AppImageKit's type-2 runtime (git 8bbf694), as shipped in the `appimage` crate.
RUNTIME_CRATE=appimage
RUNTIME_CRATE_VERSION=0.4.0
RUNTIME_SHA256=328e0d745c5c6817048c27bc3e8314871703f8f47ffa81a37cb06cd95a94b323

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target/qt}
case $TARGET_DIR in /*) ;; *) TARGET_DIR=$ROOT/$TARGET_DIR ;; esac

QMAKE=$(command -v qmake6 || command -v qmake)
QT_LIBS=$("$QMAKE" -query QT_INSTALL_LIBS)
QT_PLUGINS=$("$QMAKE" -query QT_INSTALL_PLUGINS)
QT_QML=$("$QMAKE" -query QT_INSTALL_QML)
QT_LIBEXECS=$("$QMAKE" -query QT_INSTALL_LIBEXECS)

log() { printf 'build-appimage: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

for tool in mksquashfs patchelf desktop-file-validate cc strip ldd file; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh appimage)"
done

source "$PKG/lib-deploy.sh"

build_release() {
  if [ "${APPIMAGE_SKIP_BUILD:-0}" = 1 ]; then
    log "APPIMAGE_SKIP_BUILD=1: using $TARGET_DIR/release"
  else
    log "cargo build --release -p todo -p todo-backend (target dir $TARGET_DIR)"
    (cd "$ROOT" && CARGO_TARGET_DIR=$TARGET_DIR cargo build --release \
       -p todo -p todo-backend)
  fi
  for b in todo todo-backend; do
    [ -x "$TARGET_DIR/release/$b" ] || die "missing $TARGET_DIR/release/$b"
  done
}

# Prints the path of the pinned runtime, fetching the crate through cargo when needed.
runtime_path() {
  local dir=$BUILD/runtime-crate meta manifest rt
  mkdir -p "$dir/src"
  cat >"$dir/Cargo.toml" <<EOF
[package]
name = "qmlbridge-appimage-runtime-fetch"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
$RUNTIME_CRATE = "=$RUNTIME_CRATE_VERSION"

# its own workspace root, not a member of the repo's workspace
[workspace]
EOF
  : >"$dir/src/lib.rs"
  meta=$(cargo metadata --format-version 1 --manifest-path "$dir/Cargo.toml")
  manifest=$(grep -o "\"manifest_path\":\"[^\"]*/$RUNTIME_CRATE-$RUNTIME_CRATE_VERSION/Cargo.toml\"" \
             <<<"$meta" | head -n1 | cut -d'"' -f4)
  [ -n "$manifest" ] || die "crate $RUNTIME_CRATE $RUNTIME_CRATE_VERSION not found by cargo metadata"
  rt=$(dirname "$manifest")/assets/runtime-$ARCH
  [ -f "$rt" ] || die "$rt missing: the crate no longer ships the runtime"
  echo "$RUNTIME_SHA256  $rt" | sha256sum --check --quiet - >&2 \
    || die "runtime sha256 mismatch: $rt"
  echo "$rt"
}

assemble_appdir() {
  local rel=$TARGET_DIR/release share=$APPDIR/usr/share/$APP
  rm -rf "$APPDIR"
  mkdir -p "$APPDIR/usr/bin" "$APPDIR/usr/lib" "$share/bin" "$share/backend"

  log "AppRun, binaries, backend files"
  cc -O2 -Wall -Wextra -Werror -o "$APPDIR/AppRun" "$PKG/AppRun.c"
  strip "$APPDIR/AppRun"
  install -m 0755 "$rel/todo" "$APPDIR/usr/bin/todo"
  # <exe_dir>/../share/<app>/{bin/todo-backend,Caddyfile,backend}: the host's AppImage
  # fallback (docs/contract.md §9; host/supervisor/src/paths.rs).
  install -m 0755 "$rel/todo-backend" "$share/bin/todo-backend"
  strip "$APPDIR/usr/bin/todo" "$share/bin/todo-backend"
  install -m 0644 "$ROOT/Caddyfile" "$share/Caddyfile"
  # The backend's working directory: `root public` in the Caddyfile (git keeps no empty dirs).
  mkdir -p "$share/backend/public"
  if [ -d "$ROOT/examples/todo/backend/public" ]; then cp -a "$ROOT/examples/todo/backend/public/." "$share/backend/public/"; fi

  log "desktop file, icon"
  install -m 0644 "$PKG/qmlbridge.desktop" "$APPDIR/qmlbridge.desktop"
  install -m 0644 "$PKG/qmlbridge.png" "$APPDIR/qmlbridge.png"
  install -m 0644 "$PKG/qmlbridge.svg" "$APPDIR/qmlbridge.svg"
  ln -s qmlbridge.png "$APPDIR/.DirIcon"
  install -D -m 0644 "$PKG/qmlbridge.desktop" "$APPDIR/usr/share/applications/qmlbridge.desktop"
  install -D -m 0644 "$PKG/qmlbridge.png" "$APPDIR/usr/share/icons/hicolor/256x256/apps/qmlbridge.png"
  install -D -m 0644 "$PKG/qmlbridge.svg" "$APPDIR/usr/share/icons/hicolor/scalable/apps/qmlbridge.svg"
  desktop-file-validate "$APPDIR/qmlbridge.desktop"

  deploy_qt_plugins
  deploy_qml_modules
  deploy_libraries "$APPDIR/usr/bin/todo" "$share/bin/todo-backend" \
    $(find "$APPDIR/usr/plugins" "$APPDIR/usr/qml" -name '*.so' -type f)
  set_runpaths
  write_qt_conf
  deploy_licences
}

make_image() {
  local rt=$1 payload=$BUILD/payload.squashfs comp_args=(-comp "$COMP")
  [ "$COMP" = xz ] && comp_args+=(-Xbcj x86)
  log "mksquashfs ($COMP, $BLOCK blocks)"
  rm -f "$payload"
  mksquashfs "$APPDIR" "$payload" -root-owned -noappend -no-xattrs -b "$BLOCK" "${comp_args[@]}" \
    -quiet -no-progress >/dev/null
  mkdir -p "$(dirname "$OUT")"
  # A type-2 runtime finds the SquashFS at the end of its own ELF image (section headers are
  # last in this runtime: e_shoff + e_shnum * e_shentsize == file size), so plain concatenation.
  cat "$rt" "$payload" >"$OUT.tmp"
  chmod 0755 "$OUT.tmp"
  mv -f "$OUT.tmp" "$OUT"
  [ "$("$OUT" --appimage-offset)" = "$(stat -c %s "$rt")" ] \
    || die "runtime reports a SquashFS offset other than its own size"
  [ "$(stat -c %s "$OUT")" -le $MAX_BYTES ] \
    || die "$OUT is $(stat -c %s "$OUT") bytes, over the $MAX_BYTES limit"
}

main() {
  local t0=$SECONDS rt
  build_release
  rt=$(runtime_path)
  assemble_appdir
  make_image "$rt"
  log "wrote $OUT ($(du -h "$OUT" | cut -f1), AppDir $(du -sh "$APPDIR" | cut -f1)) in $((SECONDS - t0)) s"
}

main "$@"
