#!/usr/bin/env bash
# `make screenshots`: runs the desktop app under Xvfb and writes what a person would see to
# screenshots/ (git-ignored):
#   online.png   dev mode against a real backend, with a few todos
#   offline.png  bundled mode whose backend cannot start (bad DATABASE_URL): the Offline overlay
#                with the error, the tail of var/log/backend.log and Retry
# Needs `scripts/install-deps.sh screenshots` (xvfb, imagemagick's `import`).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
# The workspace's debug build in target/, the one `make run` and `make test` share (scripts/run.sh).
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$repo/target}
cargo build --workspace
bin=$CARGO_TARGET_DIR/debug
out=$repo/screenshots
mkdir -p "$out"
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Waits up to $2 s for the HTTP endpoint $1 to answer 200.
wait_http() {
  for _ in $(seq 1 $(($2 * 10))); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "screenshots: $1 never answered" >&2
  return 1
}

# Shoots the Xvfb screen into $1 after the app has had $2 s to settle; the rest is the command.
shoot() {
  local png=$1 settle=$2
  shift 2
  # shellcheck disable=SC2016 # expanded by the inner shell, which gets them as arguments
  xvfb-run -a -s "-screen 0 480x640x24" bash -c '
    png=$1; settle=$2; shift 2
    "$@" &
    app=$!
    sleep "$settle"
    import -window root "$png"
    kill -TERM "$app"
    wait "$app"
  ' shoot "$png" "$settle" "$@"
  echo "screenshots: wrote $png"
}

# 1. Online: dev mode, a backend of our own with three todos (one done).
port=$(free_port)
export XDG_DATA_HOME=$work/xdg
(cd examples/todo/backend && DATABASE_URL="sqlite://$work/dev.sqlite" PORT=$port "$bin/todo-backend" migrate >/dev/null)
(cd examples/todo/backend && DATABASE_URL="sqlite://$work/dev.sqlite" PORT=$port exec "$bin/todo-backend" serve --config "$repo/Caddyfile") 2>"$work/dev-backend.log" &
pids+=($!)
wait_http "http://127.0.0.1:$port/healthz" 30
api=(curl -fsS -o /dev/null -H "Authorization: Bearer qmlbridge-dev-token" -H "Content-Type: application/json")
"${api[@]}" -d '{"title":"Buy milk"}' "http://127.0.0.1:$port/api/todos"
"${api[@]}" -d '{"title":"Write the QML tests","done":true}' "http://127.0.0.1:$port/api/todos"
"${api[@]}" -d '{"title":"Package the AppImage"}' "http://127.0.0.1:$port/api/todos"
BRIDGE_URL="http://127.0.0.1:$port" shoot "$out/online.png" 4 "$bin/todo"

# 2. Offline: bundled mode whose backend refuses its configuration (exit 78: Offline at once).
XDG_DATA_HOME=$work/xdg-offline \
BRIDGE_BACKEND_BIN="$bin/todo-backend" BRIDGE_BACKEND_DIR="$repo/examples/todo/backend" \
BRIDGE_CADDYFILE="$repo/Caddyfile" DATABASE_URL="postgres://nowhere/todo" \
  shoot "$out/offline.png" 5 "$bin/todo"
