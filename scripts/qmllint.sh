#!/usr/bin/env bash
# qmllint, every category Qt enables by default, against the QML modules that host builds export
# to <target>/cxxqt/qml_modules (QmlBridge, and an app's own module): run after a host was built
# (cargo build, clippy or test). A host's build already fails on what the engine would refuse
# (qmlbridge_manifest::build::check_qml); this also holds the QML to qmllint's style findings.
#
#   scripts/qmllint.sh                 the framework's QML (qml, host/fixture/qml, the examples' qml)
#   scripts/qmllint.sh PATH...         the .qml files under each PATH (an app's Makefile: qml),
#                                      against $CARGO_TARGET_DIR's modules
set -euo pipefail

log() { printf 'qmllint: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

main() {
  local root modules qmllint dir
  root=$(cd "$(dirname "$0")/.." && pwd)
  local -a files imports=()
  if [ $# -gt 0 ]; then
    mapfile -t files < <(find "$@" -name "*.qml" | sort)
  else
    cd "$root"
    mapfile -t files < <(find qml host/fixture/qml examples/todo/qml examples/expenses/qml -name "*.qml" | sort)
    imports=(-I qml/components)
  fi
  [ ${#files[@]} -gt 0 ] || die "no .qml files under $*"
  # The type info of the most recent host build: $CARGO_TARGET_DIR's, else the newer of target/
  # (`make test`) and target/qt (`make run`, `make appimage`: the Qt builds' dir) among those that
  # have the test fixture's module too (only a workspace-wide build makes it).
  if [ -n "${CARGO_TARGET_DIR:-}" ]; then
    modules=$CARGO_TARGET_DIR/cxxqt/qml_modules
  else
    modules=
    for dir in $(ls -td "$root/target/cxxqt/qml_modules" "$root/target/qt/cxxqt/qml_modules" 2>/dev/null || true); do
      if [ -f "$dir/Fixture/qmldir" ]; then
        modules=$dir
        break
      fi
    done
    modules=${modules:-$root/target/cxxqt/qml_modules}
  fi
  [ -f "$modules/QmlBridge/qmldir" ] \
    || die "$modules/QmlBridge is missing; build the host first (cargo build of a Qt host)"
  # The copy a host's build made for qmllint (cxx-qt's integer type names and missing prototypes
  # made readable: qmlbridge_manifest::build::lintable_modules), when it is as new as the types.
  if [ "${modules}_lint/QmlBridge/plugin.qmltypes" -nt "$modules/QmlBridge/plugin.qmltypes" ]; then
    modules=${modules}_lint
  fi
  qmllint=$(command -v qmllint6 || command -v qmllint || echo /usr/lib/qt6/bin/qmllint)
  # Warnings make qmllint exit non-zero; a file that must silence a Qt 6.4 false positive
  # does it on that line with a `// qmllint disable <category>` comment saying why.
  "$qmllint" -I "$modules" "${imports[@]}" "${files[@]}"
  log "${#files[@]} files clean"
}

main "$@"
