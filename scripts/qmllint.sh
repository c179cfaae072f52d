#!/usr/bin/env bash
# qmllint over qml/, against the QmlBridge module's type info that the host's build
# script exports to <target>/cxxqt/qml_modules: run after the host crate was built.
set -euo pipefail
cd "$(dirname "$0")/.."
# The QmlBridge type info of the most recent host build: $CARGO_TARGET_DIR's, else the newer of
# target/ (`make test`) and target/qt (`make run`, `make appimage`: the Qt builds' dir) among
# those that have the test fixture's module too (only a workspace-wide build makes it).
if [ -n "${CARGO_TARGET_DIR:-}" ]; then
  modules=$CARGO_TARGET_DIR/cxxqt/qml_modules
else
  modules=
  for dir in $(ls -td target/cxxqt/qml_modules target/qt/cxxqt/qml_modules 2>/dev/null || true); do
    if [ -f "$dir/Fixture/qmldir" ]; then
      modules=$dir
      break
    fi
  done
  modules=${modules:-target/cxxqt/qml_modules}
fi
qmllint=$(command -v qmllint6 || command -v qmllint || echo /usr/lib/qt6/bin/qmllint)
if [ ! -f "$modules/QmlBridge/qmldir" ]; then
  echo "qmllint: $modules/QmlBridge is missing; build the host first (cargo build -p qmlbridge-qt)" >&2
  exit 1
fi
mapfile -t files < <(find qml host/fixture/qml examples/todo/qml examples/expenses/qml -name "*.qml" | sort)
# Warnings make qmllint exit non-zero; a file that must silence a Qt 6.4 false positive
# does it on that line with a `// qmllint disable <category>` comment saying why.
"$qmllint" -I "$modules" -I qml/components "${files[@]}"
echo "qmllint: ${#files[@]} files clean"
