#!/usr/bin/env bash
# `make run`: build the backend and the desktop host, then launch the todo app in Bundled mode
# (the host migrates, spawns and supervises the backend; data in ~/.local/share/qmlbridge/todo).
#
#   PROFILE=release scripts/run.sh    # optimised build (a clean Qt build takes ~10 min per profile)
#   CARGO_TARGET_DIR=...              # where to build (default target/qt)
#   BRIDGE_LOG=debug scripts/run.sh   # more host logging (stderr and <data>/var/log/host.log)
#
# Extra arguments go to the host. For dev mode (a backend you run yourself) see README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
profile=${PROFILE:-debug}
flags=()
[ "$profile" = release ] && flags+=(--release)
# Qt builds share target/qt (as the AppImage build does), so the ~10 min cxx-qt build happens once.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target/qt}
cargo build "${flags[@]}" -p todo-backend -p todo
bin=$CARGO_TARGET_DIR/$profile

# Bundled mode; the host finds the backend binary beside itself, but target/qt/<profile> hides the
# todo example's backend dir and the Caddyfile from its search, so name all three.
unset BRIDGE_URL
export BRIDGE_BACKEND_BIN="${BRIDGE_BACKEND_BIN:-$bin/todo-backend}"
export BRIDGE_BACKEND_DIR="${BRIDGE_BACKEND_DIR:-$repo/examples/todo/backend}"
export BRIDGE_CADDYFILE="${BRIDGE_CADDYFILE:-$repo/Caddyfile}"
exec "$bin/todo" "$@"
