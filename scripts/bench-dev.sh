#!/usr/bin/env bash
# `qmlbridge dev`'s part of `make bench`: generates the bookmarks app outside the checkout, builds
# it (debug, the shared target dir, as `qmlbridge dev` does) and times the edit loop under Xvfb
# (cli/benches/dev.rs): QML save -> window reloaded, backend save -> build and swap.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
work=$(mktemp -d /tmp/qmlbridge-bench-dev.XXXXXX)
trap 'rm -rf "$work"' EXIT
cargo build --quiet -p qmlbridge-cli --manifest-path "$ROOT/Cargo.toml"
"$CARGO_TARGET_DIR/debug/qmlbridge" new "$work/bookmarks" --name bookmarks --org example \
  --id org.example.Bookmarks --resource bookmarks:title:text,url:text --resource tags:label:text \
  --framework "$ROOT" >/dev/null
(cd "$work/bookmarks" && cargo build --quiet --bin bookmarks-backend --bin bookmarks)
QMLBRIDGE_DEV_APP=$work/bookmarks BRIDGE_LOG=warn cargo bench --quiet -p qmlbridge-cli --bench dev \
  --manifest-path "$ROOT/Cargo.toml" 2>/dev/null | grep -E '^dev: '
