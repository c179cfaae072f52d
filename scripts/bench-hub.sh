#!/usr/bin/env bash
# Mercure hub benchmark: latency p50/p99 and updates/s at 1,000 subscribers, RSS per
# 1,000 idle subscribers and at 10,000. Prints the numbers and their ratio to the targets.
set -euo pipefail
cd "$(dirname "$0")/.."
# 10,000 idle subscribers need 10,000 sockets on each side.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
cargo build --release -p qmlbridge-backend --example fixture --example hub_bench
exec target/release/examples/hub_bench
