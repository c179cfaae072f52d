#!/usr/bin/env bash
# `make bench`: every benchmark, each printing its numbers and the ratio to its target.
# Each part builds the release binaries it measures; none asserts anything.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bench-supervisor.sh
scripts/bench-hub.sh
scripts/bench-backend.sh
scripts/bench-model.sh
scripts/bench-dev.sh
scripts/bench-update.sh
# Time to first window of the AppImage: only when one was built (`make appimage`),
# since that needs a release Qt build of its own.
image=$(find examples/todo/dist -maxdepth 1 -name 'todo-*-x86_64.AppImage' -printf '%T@ %p\n' 2>/dev/null \
  | sort -n | tail -n1 | cut -d' ' -f2- || true)
if [ -n "$image" ] && [ -x "$image" ]; then
  packaging/bench-appimage.sh "$image"
else
  echo "appimage: skipped (no examples/todo/dist/todo-*-x86_64.AppImage; run make appimage first)"
fi
