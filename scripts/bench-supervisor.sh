#!/usr/bin/env bash
# The supervisor's part of `make bench`: spawn -> Online, kill -9 -> Online (p50/p95
# over BENCH_RUNS, default 50) and refused connections during restarts, with the real release
# backend. Prints the numbers and the ratio to each target.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p todo-backend --bin todo-backend
QMLBRIDGE_BACKEND="$PWD/target/release/todo-backend" \
    cargo bench -p qmlbridge-supervisor --bench restart
