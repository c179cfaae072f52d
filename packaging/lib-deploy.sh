# shellcheck shell=bash
# Qt deployment for build-appimage.sh (sourced): the linuxdeploy-plugin-qt recipe, by hand.
#
# Uses from the caller: PKG APPDIR BUILD HOST_BIN QML_DIRS QT_LIBS QT_PLUGINS QT_QML QT_LIBEXECS
# STYLES, log, die.

# Qt plugins the app can load: the platforms a desktop needs (xcb, Wayland when installed,
# offscreen for headless runs and tests), GL integration for xcb, input methods (compose, ibus),
# the bundled image formats. Paths relative to $QT_PLUGINS; globs allowed; missing ones skipped.
QT_PLUGIN_FILES=(
  platforms/libqxcb.so
  platforms/libqoffscreen.so
  platforms/libqwayland-egl.so
  platforms/libqwayland-generic.so
  'xcbglintegrations/*.so'
  'platforminputcontexts/*.so'
  'imageformats/*.so'
  'wayland-shell-integration/*.so'
  'wayland-decoration-client/*.so'
  wayland-graphics-integration-client/libqt-plugin-wayland-egl.so
)

deploy_qt_plugins() {
  local pattern f n=0
  log "Qt plugins from $QT_PLUGINS"
  for pattern in "${QT_PLUGIN_FILES[@]}"; do
    for f in "$QT_PLUGINS"/$pattern; do
      [ -f "$f" ] || continue
      install -D -m 0644 "$f" "$APPDIR/usr/plugins/${f#"$QT_PLUGINS"/}"
      n=$((n + 1))
    done
  done
  [ -f "$APPDIR/usr/plugins/platforms/libqxcb.so" ] || die "no xcb platform plugin in $QT_PLUGINS"
  [ -f "$APPDIR/usr/plugins/platforms/libqoffscreen.so" ] || die "no offscreen platform plugin"
  log "  $n plugins"
}

# Prints the relative paths (under $QT_QML) of the QML modules the UI needs: what
# qmlimportscanner finds in $QML_DIRS (the framework's components and the app's window, following
# each module's qmldir imports), plus the Controls styles in $STYLES because QtQuick.Controls
# picks its style at run time; other styles dropped.
qml_module_paths() {
  local scan=$BUILD/qml-scan imports files dir
  rm -rf "$scan"
  mkdir -p "$scan"
  imports=$(grep -rhoE '^\s*import\s+QtQuick\.Controls(\s|$)' "${QML_DIRS[@]}" || true)
  if [ -n "$imports" ]; then
    for s in $STYLES; do printf 'import QtQuick.Controls.%s\n' "$s"; done >"$scan/Styles.qml"
  fi
  printf 'import QtQml\nQtObject {}\n' >>"$scan/Styles.qml"
  # The UI's own files only: <dir>/tests/ (QtTest) is not shipped.
  files=()
  for dir in "${QML_DIRS[@]}"; do
    mapfile -t -O "${#files[@]}" files < <(find "$dir" -path "$dir/tests" -prune -o -name '*.qml' -print)
  done
  "$QT_LIBEXECS/qmlimportscanner" -qmlFiles "${files[@]}" "$scan/Styles.qml" -importPath "$QT_QML" \
    | STYLES=$STYLES python3 -c '
import json, os, re, sys
styles = set(os.environ["STYLES"].split())
for m in json.load(sys.stdin):
    name, rel = m.get("name", ""), m.get("relativePath")
    style = re.fullmatch(r"QtQuick\.Controls\.(\w+)(\.impl)?", name)
    if style and style.group(1) != "impl" and style.group(1) not in styles:
        continue
    if rel:
        print(rel)
    elif m.get("type") == "module" and name != "QmlBridge":
        print(f"build-appimage:   no directory (built in or not installed): {name}", file=sys.stderr)
' | sort -u
}

# Copies each module directory: its files and subdirectories, but not nested modules (a subdir
# with its own qmldir is copied only when it is in the list itself) nor Qt Designer support.
deploy_qml_modules() {
  local rel n=0
  log "QML modules from $QT_QML (styles: $STYLES)"
  while read -r rel; do
    (cd "$QT_QML/$rel" && find . -mindepth 1 \
        \( -type d \( -name designer -o -exec test -e '{}/qmldir' ';' \) -prune \) \
        -o \( -type f -o -type l \) -print) |
      while read -r f; do
        install -D -m 0644 "$QT_QML/$rel/$f" "$APPDIR/usr/qml/$rel/$f"
      done
    n=$((n + 1))
  done < <(qml_module_paths)
  # Type information is for tooling (qmllint, Qt Creator); the engine never reads it.
  find "$APPDIR/usr/qml" \( -name '*.qmltypes' -o -name '*.debug' \) -delete
  [ -f "$APPDIR/usr/qml/QtQuick/qmldir" ] || die "QtQuick module not deployed"
  log "  $n modules, $(du -sh "$APPDIR/usr/qml" | cut -f1)"
}

# True when the soname is in packaging/excludelist (exact names or globs).
is_excluded() {
  local name=$1 pattern
  for pattern in "${EXCLUDED[@]}"; do
    # shellcheck disable=SC2053  # the pattern is meant as a glob
    [[ $name == $pattern ]] && return 0
  done
  return 1
}

# Copies into usr/lib every library `ldd` resolves for the given ELF files, minus the excluded
# ones. ldd prints the whole transitive closure, so one pass over all files is enough.
deploy_libraries() {
  local elf name path n=0
  mapfile -t EXCLUDED < <(sed -e 's/#.*//' -e 's/[[:space:]]*$//' -e '/^$/d' "$PKG/excludelist")
  log "libraries (ldd minus packaging/excludelist)"
  declare -A seen=()
  : >"$BUILD/library-sources"
  for elf in "$@"; do
    while read -r name path; do
      [ -n "${seen[$name]:-}" ] && continue
      seen[$name]=1
      [ "$path" = "not" ] && die "$elf: $name not found by ldd"
      is_excluded "$name" && continue
      cp -L "$path" "$APPDIR/usr/lib/$name"
      readlink -f "$path" >>"$BUILD/library-sources"
      chmod 0644 "$APPDIR/usr/lib/$name"
      n=$((n + 1))
    done < <(ldd "$elf" | awk '$2 == "=>" && $1 !~ /^linux-vdso/ {print $1, $3}')
  done
  log "  $n libraries, $(du -sh "$APPDIR/usr/lib" | cut -f1)"
}

# RUNPATH so every ELF finds usr/lib without LD_LIBRARY_PATH. DT_RUNPATH applies only to an
# object's own direct dependencies, so libraries, plugins and QML plugins each get theirs.
set_runpaths() {
  local f dir up
  log "RUNPATH (patchelf)"
  # shellcheck disable=SC2016 # a literal $ORIGIN, for the loader
  patchelf --set-rpath '$ORIGIN/../lib' "$APPDIR/usr/bin/$HOST_BIN"
  for f in "$APPDIR"/usr/lib/*.so*; do
    # shellcheck disable=SC2016 # a literal $ORIGIN
    patchelf --set-rpath '$ORIGIN' "$f"
  done
  while read -r f; do
    dir=$(dirname "${f#"$APPDIR"/usr/}")
    up=$(sed -E 's#[^/]+#..#g' <<<"$dir")
    patchelf --set-rpath "\$ORIGIN/$up/lib" "$f"
  done < <(find "$APPDIR/usr/plugins" "$APPDIR/usr/qml" -name '*.so' -type f)
}

# qt.conf beside the binary: Qt resolves it against applicationDirPath() (usr/bin).
write_qt_conf() {
  cat >"$APPDIR/usr/bin/qt.conf" <<'EOF'
[Paths]
Prefix = ..
Libraries = lib
Plugins = plugins
Qml2Imports = qml
QmlImports = qml
EOF
}

# Our notices, the licence texts they name, and Debian's copyright file of every package a
# bundled library comes from.
deploy_licences() {
  local doc=$APPDIR/usr/share/doc/qmlbridge f pkg n=0
  log "licence notices"
  mkdir -p "$doc"
  install -m 0644 "$PKG"/licenses/*.txt "$doc/"
  install -m 0644 /usr/share/common-licenses/LGPL-3 "$doc/LGPL-3"
  install -m 0644 /usr/share/common-licenses/GPL-3 "$doc/GPL-3"
  # The runtime prepended to the payload is static: glibc's licence, and its crates as built.
  install -m 0644 /usr/share/common-licenses/LGPL-2.1 "$doc/LGPL-2.1"
  (cd "$FRAMEWORK" && cargo tree -p qmlbridge-appimage-runtime --target "$RUNTIME_TARGET" -e normal \
     --prefix none --format '  {p} {l}' 2>/dev/null) | grep -v -e '(\*)' -e 'proc-macro' -e '(/' |
    sort -u >>"$doc/AppImage-runtime.txt"
  declare -A done_pkg=()
  for f in $(cat "$BUILD/library-sources") \
           $(find "$APPDIR/usr/plugins" "$APPDIR/usr/qml" -name '*.so' -type f); do
    case $f in
      "$APPDIR"/usr/plugins/*) f=$QT_PLUGINS/${f#"$APPDIR"/usr/plugins/} ;;
      "$APPDIR"/usr/qml/*) f=$QT_QML/${f#"$APPDIR"/usr/qml/} ;;
    esac
    pkg=$(dpkg-query -S "$f" 2>/dev/null | head -n1 | cut -d: -f1) || true
    if [ -z "$pkg" ]; then pkg=$(dpkg-query -S "${f/#\/usr/}" 2>/dev/null | head -n1 | cut -d: -f1) || true; fi
    [ -z "$pkg" ] && continue
    [ -n "${done_pkg[$pkg]:-}" ] && continue
    done_pkg[$pkg]=1
    if [ -f "/usr/share/doc/$pkg/copyright" ]; then
      install -D -m 0644 "/usr/share/doc/$pkg/copyright" "$APPDIR/usr/share/doc/$pkg/copyright"
      n=$((n + 1))
    fi
  done
  log "  $n Debian copyright files"
}
