#!/usr/bin/env bash
# `make run`: build the backend and the desktop host, then launch the todo app in Bundled mode
# (the host migrates, spawns and supervises the backend; data in ~/.local/share/qmlbridge/todo).
#
#   PROFILE=release scripts/run.sh    # optimised build (a clean Qt build takes ~10 min per profile)
#   CARGO_TARGET_DIR=...              # where to build (default: target/ for debug, target/qt for release)
#   BRIDGE_LOG=debug scripts/run.sh   # more host logging (stderr and <data>/var/log/host.log)
#
# Extra arguments go to the host. For dev mode (a backend you run yourself) see README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
profile=${PROFILE:-debug}
# cxx-qt-lib's C++ (~10 min on two cores) is built once per set of build-dependency features: a
# debug build of the whole workspace in target/ resolves them as `make test` does, so `make run`
# and `make test` share one debug build; release builds share target/qt with `make appimage`.
if [ "$profile" = release ]; then
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target/qt}
  cargo build --release -p todo-backend -p todo
else
  export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
  cargo build --workspace
fi
bin=$CARGO_TARGET_DIR/$profile

# Bundled mode; the host finds the backend binary beside itself, but target/<profile> hides the
# todo example's backend dir and the Caddyfile from its search, so name all three.
unset BRIDGE_URL
export BRIDGE_BACKEND_BIN="${BRIDGE_BACKEND_BIN:-$bin/todo-backend}"
export BRIDGE_BACKEND_DIR="${BRIDGE_BACKEND_DIR:-$repo/examples/todo/backend}"
export BRIDGE_CADDYFILE="${BRIDGE_CADDYFILE:-$repo/Caddyfile}"
exec "$bin/todo" "$@"
