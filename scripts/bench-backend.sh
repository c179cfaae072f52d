#!/usr/bin/env bash
# Backend benchmark: the todo example's `GET /api/todos` (the generic resource path) with 100
# rows at 64 keep-alive connections
# (wrk -t2 -c64 -d10s), and the idle RSS of `serve`. Prints the numbers and the ratio to the
# targets (>= 30,000 req/s, p99 <= 5 ms, idle RSS <= 15 MB on a 2-core machine).
#
#   scripts/bench-backend.sh               # release build, the committed Caddyfile
#   DURATION=30s scripts/bench-backend.sh  # longer run
#   BENCH_BACKEND_BIN=/path/to/an-older-backend scripts/bench-backend.sh   # the same run on another build
#
# For scale it also runs the same wrk against bare axum serving the same bytes
# (backend/benches/list_reference.rs): on a loaded machine the absolute numbers say more about
# the load than about the backend; the ratio to the reference does not.
#
# The server logs at BRIDGE_LOG=warn (default here): the committed Caddyfile's `log` directive
# would otherwise write one line per request to stderr, which measures the terminal.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
duration=${DURATION:-10s}
if [ -n "${BENCH_BACKEND_BIN:-}" ]; then
  bin=$BENCH_BACKEND_BIN
else
  cargo build --release -q -p todo-backend
  bin=${CARGO_TARGET_DIR:-$repo/target}/release/todo-backend
fi
reference=$(cargo bench -q -p qmlbridge-backend --bench list_reference --no-run --message-format=json 2>/dev/null |
  sed -n 's/.*"executable":"\([^"]*list_reference[^"]*\)".*/\1/p' | tail -1)
command -v wrk >/dev/null || { echo "bench-backend: wrk missing (scripts/install-deps.sh bench)" >&2; exit 1; }

work=$(mktemp -d)
pid=
ref_pid=
cleanup() {
  for p in $pid $ref_pid; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done # set -e: a killed server waits with 143
  rm -rf "$work"
}
trap cleanup EXIT

export BRIDGE_TOKEN=bench-token DATABASE_URL="sqlite://$work/data.sqlite" PORT=0
export BRIDGE_LOG=${BRIDGE_LOG:-warn,qmlbridge_backend::serve=info}
(cd examples/todo/backend && exec "$bin" serve --config "$repo/Caddyfile") 2>"$work/serve.log" &
pid=$!
for _ in $(seq 200); do grep -q 'listening on' "$work/serve.log" && break; sleep 0.05; done
addr=$(sed -n 's/.*listening on http:\/\/\([^ ]*\).*/\1/p' "$work/serve.log" | head -1)
[ -n "$addr" ] || { cat "$work/serve.log" >&2; exit 1; }
url=http://$addr/api/todos
auth="Authorization: Bearer $BRIDGE_TOKEN"

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"; }
rss_start=$(rss_kb)
for i in $(seq 100); do
  curl -sf -o /dev/null -H "$auth" -H 'Content-Type: application/json' \
    -d "{\"title\":\"todo number $i with a realistic title\",\"done\":$([ $((i % 3)) = 0 ] && echo true || echo false)}" "$url"
done
rows=$(curl -sf -H "$auth" "$url" | grep -o '"id":' | wc -l)
[ "$rows" = 100 ] || { echo "bench-backend: expected 100 rows, got $rows" >&2; exit 1; }
sleep 1
rss_idle=$(rss_kb)

wrk -t2 -c64 -d"$duration" --latency -H "$auth" "$url" >"$work/wrk.txt"
sleep 1
rss_after=$(rss_kb)

ref_rps=
if [ -x "$reference" ]; then
  curl -sf -H "$auth" "$url" >"$work/page.json"
  "$reference" "$work/page.json" >"$work/ref.log" &
  ref_pid=$!
  for _ in $(seq 200); do grep -q 'listening on' "$work/ref.log" && break; sleep 0.05; done
  ref_addr=$(sed -n 's/.*listening on http:\/\/\([^ ]*\).*/\1/p' "$work/ref.log" | head -1)
  wrk -t2 -c64 -d"$duration" --latency "http://$ref_addr/api/todos" >"$work/ref.txt"
  ref_rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/ref.txt")
  ref_p99=$(awk '$1 == "99%" {print $2}' "$work/ref.txt")
fi

# wrk prints latencies as 812.00us / 1.23ms / 1.02s; convert to ms.
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'; }
rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.txt")
p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$work/wrk.txt")")
p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")")
errors=$(grep -E 'Non-2xx|Socket errors' "$work/wrk.txt" || true)

echo "== backend: GET /api/todos (100 rows), wrk -t2 -c64 -d$duration, keep-alive, release build"
awk '/Requests\/sec|Transfer\/sec|requests in/' "$work/wrk.txt" | sed 's/^ */   /'
[ -n "$errors" ] && echo "   ERRORS: $errors"
awk -v r="$rps" 'BEGIN { printf "   req/s        %10.0f   target >= 30000   ratio %.2f (>= 1 is good)\n", r, r / 30000 }'
awk -v p="$p50" 'BEGIN { printf "   p50 latency  %10.3f ms\n", p }'
awk -v p="$p99" 'BEGIN { printf "   p99 latency  %10.3f ms  target <= 5 ms    ratio %.2f (<= 1 is good)\n", p, p / 5 }'
if [ -n "$ref_rps" ]; then
  awk -v r="$rps" -v f="$ref_rps" -v p="$ref_p99" 'BEGIN { printf "   reference: bare axum, same bytes, run right after: %.0f req/s, p99 %s; backend/reference %.2f\n", f, p, r / f }'
fi
awk '{print "   load average: " $1 " " $2 " " $3 " (2 cores: anything else running skews these numbers)"}' /proc/loadavg
echo "== backend: serve RSS (VmRSS)"
awk -v a="$rss_start" -v b="$rss_idle" -v c="$rss_after" 'BEGIN {
  printf "   at start     %10.1f MB\n", a / 1024
  printf "   idle, seeded %10.1f MB  target <= 15 MB   ratio %.2f (<= 1 is good)\n", b / 1024, b / 1024 / 15
  printf "   idle, after load %6.1f MB\n", c / 1024 }'
