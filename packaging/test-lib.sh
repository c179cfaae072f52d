# shellcheck shell=bash
# What the image tests share (packaging/test-appimage.sh, packaging/test-update.sh) and the update
# bench (scripts/bench-update.sh), sourced after the caller defines `log` (and, for `fail`, the
# array LOGS of files whose tail a failure shows, and DEADLINE in seconds for `wait_for`).

# fail MESSAGE: says it, shows the last lines of every file in LOGS, exits 1.
fail() {
  log "FAIL: $*"
  local f
  for f in "${LOGS[@]}"; do
    [ -f "$f" ] || continue
    log "---- last lines of $f"
    tail -n 40 "$f" >&2
  done
  exit 1
}

# wait_for DESCRIPTION COMMAND...: polls until COMMAND succeeds, up to $DEADLINE seconds.
wait_for() {
  local what=$1 end=$((SECONDS + DEADLINE))
  shift
  until "$@"; do
    [ $SECONDS -lt $end ] || fail "timed out after ${DEADLINE}s waiting for: $what"
    sleep 0.1
  done
}

# Live (non-zombie) pids whose comm is $1 (the kernel cuts comm to 15 characters).
pids_named() {
  local stat pid rest comm state
  for stat in /proc/[0-9]*/stat; do
    { read -r pid rest <"$stat"; } 2>/dev/null || continue
    comm=${rest#(}
    comm=${comm%%) *}
    state=${rest##*) }
    state=${state%% *}
    [ "$comm" = "${1:0:15}" ] && [ "$state" != Z ] && echo "$pid"
  done
  return 0
}
none_named() { [ -z "$(pids_named "$1")" ]; }
one_named() { [ "$(pids_named "$1" | wc -l)" -eq 1 ]; }
# environ_var PID NAME: NAME's value in the environment of process PID.
environ_var() { tr '\0' '\n' <"/proc/$1/environ" | sed -n "s/^$2=//p"; }

# free_port: a TCP port on 127.0.0.1 nobody listens on (for a URL compiled in before the server
# starts); fails when 50 tries found none.
free_port() {
  local port
  for _ in $(seq 50); do
    port=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  log "no free port found"
  return 1
}
