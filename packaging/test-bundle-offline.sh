#!/usr/bin/env bash
# Bundling works offline once built: the AppImage runtime's build (packaging/build-runtime.sh, the
# step every `qmlbridge bundle` runs) is run again with no network at all, and cargo's offline-first
# build of a crate whose lock file needs an update resolves it from the crates already in
# ~/.cargo/registry. Run after an image was built once (make test: after appimage-test), so the
# runtime's build is already there and this costs seconds.
#
# No network: a network namespace of its own (`unshare -n`: as root), else cargo's and curl's
# proxies pointed at a closed port on 127.0.0.1 (any registry request then fails the build).
set -euo pipefail
PKG=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
log() { printf 'test-bundle-offline: %s\n' "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

# Runs "$@" with the network unreachable.
offline() {
  if unshare -n true 2>/dev/null; then
    unshare -n "$@"
  else
    local closed=http://127.0.0.1:9
    CARGO_HTTP_PROXY=$closed CARGO_NET_RETRY=0 http_proxy=$closed https_proxy=$closed \
      HTTPS_PROXY=$closed ALL_PROXY=$closed "$@"
  fi
}

main() {
  local first second
  first=$("$PKG/build-runtime.sh")
  log "built once (online allowed): $first"
  second=$(offline "$PKG/build-runtime.sh") || die "the runtime's build needed the network"
  [ "$second" = "$first" ] || die "the offline build gave $second, not $first"
  file -b "$second" | grep -Eq 'static-pie linked|statically linked' || die "$second is not static"
  log "the runtime's build ran with no network"

  # A lock file that needs an update (here: none yet) asks the registry's index unless cargo is
  # offline; cargo_offline_first resolves it from the local crates (libc: in the framework's lock).
  work=$(mktemp -d /tmp/qmlbridge-offline.XXXXXX)
  trap 'rm -rf "$work"' EXIT
  mkdir "$work/src"
  printf '[package]\nname = "probe"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\nlibc = "0.2"\n\n[workspace]\n' \
    >"$work/Cargo.toml"
  echo 'fn main() { let _: libc::c_int = 0; }' >"$work/src/main.rs"
  # shellcheck disable=SC2016 # $1 is the inner shell's: the script to source
  (cd "$work" && CARGO_TARGET_DIR=$work/target \
     offline bash -c 'source "$1" && cargo_offline_first build --quiet' _ "$PKG/build-runtime.sh") \
    || die "a lock file that needs an update was not resolved offline"
  [ -f "$work/Cargo.lock" ] || die "no Cargo.lock written"
  log "a lock file that needs an update resolved from the local crates, with no network"
}

main "$@"
