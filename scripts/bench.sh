#!/usr/bin/env bash
# `make bench`: every benchmark, each printing its numbers and the ratio to its target.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --workspace --bins
scripts/bench-supervisor.sh
scripts/bench-hub.sh
scripts/bench-backend.sh
