#!/usr/bin/env bash
# Builds the AppImage runtime every image starts with (packaging/runtime) statically, in its own
# target dir, and prints its path; build-appimage.sh runs it for every image, and sources it for
# `cargo_offline_first`, which its release build uses too.
#
#   QMLBRIDGE_RUNTIME_TARGET_DIR  where the runtime is built (default: the framework's target/runtime,
#                                 its own dir so its static build never waits on the Qt build's lock)
#
# Bundling works offline once built: cargo runs with --offline whenever every crate the workspace
# resolves to is already in ~/.cargo/registry (any earlier build fetched them), so it never asks
# the registry, not even for an index update when the lock file would need one (the crates cargo
# has are enough then). Only when a crate is missing does cargo go online, to fetch it once.
set -euo pipefail

RUNTIME_TARGET=x86_64-unknown-linux-gnu

# Runs `cargo ARGS...` in the current directory, with --offline when its workspace resolves and
# every crate is local (CARGO_NET_OFFLINE=true: always offline, as cargo reads it).
cargo_offline_first() {
  local offline=()
  if cargo metadata --offline --format-version 1 --filter-platform "$RUNTIME_TARGET" >/dev/null 2>&1; then
    offline=(--offline)
  else
    printf 'build-runtime: some crates of %s are not in ~/.cargo/registry: cargo fetches them (once)\n' \
      "$PWD" >&2
  fi
  cargo "$@" "${offline[@]}"
}

# The static runtime (glibc's static archives; an explicit --target keeps build scripts and proc
# macros dynamic), built in the framework at $1; prints its path.
build_runtime() {
  local framework=$1 dir=${QMLBRIDGE_RUNTIME_TARGET_DIR:-} rt
  if [ -z "$dir" ]; then
    # The framework's target dir whatever CARGO_TARGET_DIR the app builds with: one runtime build.
    dir=$(cd "$framework" && env -u CARGO_TARGET_DIR cargo metadata --offline --format-version 1 --no-deps |
      python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/runtime
  fi
  printf 'build-runtime: cargo build --release -p qmlbridge-appimage-runtime (static, target dir %s)\n' \
    "$dir" >&2
  # One codegen unit, LTO and abort-on-panic for this binary only (its own target dir): every
  # image carries it, and it is 11% smaller so.
  (cd "$framework" && RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET_DIR=$dir \
     CARGO_PROFILE_RELEASE_LTO=fat CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 CARGO_PROFILE_RELEASE_PANIC=abort \
     cargo_offline_first build --release --quiet --target "$RUNTIME_TARGET" -p qmlbridge-appimage-runtime) >&2
  rt=$dir/$RUNTIME_TARGET/release/runtime
  file -b "$rt" | grep -Eq 'static-pie linked|statically linked' \
    || { printf 'build-runtime: error: %s is not a static executable: %s\n' "$rt" "$(file -b "$rt")" >&2; exit 1; }
  echo "$rt"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  build_runtime "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fi
