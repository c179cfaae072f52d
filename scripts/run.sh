#!/usr/bin/env bash
# `make run`: build the backend and the desktop host, then launch the todo app in Bundled mode
# (the host migrates, spawns and supervises the backend) as a development session
# (QMLBRIDGE_DEV=1): its data is ~/.local/share/qmlbridge/todo-dev, never the installed app's
# ~/.local/share/qmlbridge/todo; the backend answers a 500 with its cause (BRIDGE_ENV=dev); the
# host prints the backend's URL and where its token is (<data>/var/dev-token, 0600), so
# `curl -H "Authorization: Bearer $(cat <that file>)" <url>/api/todos` works.
#
#   FRESH=1 scripts/run.sh            # start with empty data: the old dev data dir is moved aside
#                                     # to todo-dev.<UTC time> beside it (nothing is deleted)
#   PROFILE=release scripts/run.sh    # optimised build (a clean Qt build takes ~10 min per profile)
#   CARGO_TARGET_DIR=...              # where to build (default: target/ for debug, target/qt for release)
#   BRIDGE_LOG=debug scripts/run.sh   # more host logging (stderr and <data>/var/log/host.log)
#   BRIDGE_TOKEN=... scripts/run.sh   # the backend's token (debug builds; default: a fresh one)
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

# The session's data dir (the supervisor's rule, through the CLI: <org>/<name>-dev); FRESH=1 moves
# it aside first.
fresh=()
if [ "${FRESH:-0}" != 0 ]; then fresh=(--fresh); fi
data=$(CARGO_TARGET_DIR=$repo/target cargo run --quiet -p qmlbridge-cli -- \
  dev-data --app "$repo/examples/todo" "${fresh[@]}")
echo "make run: the session's data: $data (never the installed app's; FRESH=1 starts empty)"

# Bundled mode; the host finds the backend binary beside itself, but target/<profile> hides the
# todo example's backend dir and the Caddyfile from its search, so name all three.
unset BRIDGE_URL QMLBRIDGE_DEV_PARENT QMLBRIDGE_DEV_QML_DIR
export QMLBRIDGE_DEV=1
export BRIDGE_BACKEND_BIN="${BRIDGE_BACKEND_BIN:-$bin/todo-backend}"
export BRIDGE_BACKEND_DIR="${BRIDGE_BACKEND_DIR:-$repo/examples/todo/backend}"
export BRIDGE_CADDYFILE="${BRIDGE_CADDYFILE:-$repo/Caddyfile}"
exec "$bin/todo" "$@"
