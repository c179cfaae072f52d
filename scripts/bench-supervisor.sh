#!/usr/bin/env bash
# The supervisor's part of `make bench`: spawn -> Online, kill -9 -> Online (p50/p95
# over BENCH_RUNS, default 50) and refused connections during restarts, with a real release
# backend: the framework's fixture (backend/examples/fixture). Prints the numbers and the
# ratio to each target.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p qmlbridge-backend --example fixture
QMLBRIDGE_BACKEND="${CARGO_TARGET_DIR:-$PWD/target}/release/examples/fixture" \
    cargo bench -p qmlbridge-supervisor --bench restart
