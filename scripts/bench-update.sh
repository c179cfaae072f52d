#!/usr/bin/env bash
# `make bench`, self-updates (docs/updates.md): real AppImages of a generated app, a feed served
# from 127.0.0.1 (host/update/examples/feed_server.rs), and the updater's engine
# (`qmlbridge-update`, what the app's Updater runs) timed by a small driver built here:
#   check     the feed and its signature fetched and verified
#   delta     the .zsync fetched, the running image scanned for shared blocks, the rest fetched
#             with range requests, the result verified (size, SHA-256, signature), installed
#   full      the same from a server that ignores ranges (every answer the whole file): the
#             updater's fallback, the reference the delta's ratios are measured against
# for two releases over the same v0.1.0: a one-line QML change and a one-line backend change,
# each rebuilt (release) and bundled with `qmlbridge bundle --sign`. Prints numbers, asserts none.
#
# RUNS=N: runs per measurement (median printed; default 3).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-3}
NAME=bookmarks
PASSWORD=the-bench-release-password
QT_TARGET=${QMLBRIDGE_QT_TARGET_DIR:-$ROOT/target/qt}

log() { printf 'bench-update: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# shellcheck source=packaging/test-lib.sh
. "$ROOT/packaging/test-lib.sh"

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

work=$(mktemp -d /tmp/qmlbridge-bench-update.XXXXXX)
server_pid=
cleanup() {
  [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --quiet -p qmlbridge-cli --manifest-path "$ROOT/Cargo.toml"
cli=${CARGO_TARGET_DIR:-$ROOT/target}/debug/qmlbridge
app=$work/app/$NAME
port=$(free_port)
feed=$work/feed
mkdir -p "$feed" "$work/rel" "$work/keys"

# The driver: the engine's check and download, timed, as the app's Updater calls them.
mkdir -p "$work/driver/src"
cp "$ROOT/Cargo.lock" "$work/driver/"
cat >"$work/driver/Cargo.toml" <<EOF
[package]
name = "update-bench"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
qmlbridge-update = { path = "$ROOT/host/update" }
tokio = { version = "1", features = ["rt-multi-thread", "macros"] }

[workspace]
EOF
cat >"$work/driver/src/main.rs" <<'EOF'
//! update-bench FEED KEY RUNNING_VERSION IMAGE DATA_DIR: checks the feed, downloads and installs
//! the release over IMAGE; prints "check_ms download_ms fetched reused size".
use std::time::Instant;

use qmlbridge_update::{Check, Config, TrustedKeys, check, download};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [feed, key, running, image, data] = &args[..] else {
        eprintln!("usage: update-bench FEED KEY RUNNING_VERSION IMAGE DATA_DIR");
        std::process::exit(2);
    };
    let cfg = Config {
        feed: feed.clone(),
        keys: TrustedKeys::parse([key.as_str()]).expect("the key"),
        running_version: running.clone(),
        image: image.into(),
        data_dir: data.into(),
    };
    let start = Instant::now();
    let release = match check(&cfg).await.expect("check") {
        Check::Available(release) => release,
        Check::UpToDate => panic!("the feed offers nothing newer than {running}"),
    };
    let check_ms = start.elapsed().as_secs_f64() * 1e3;
    let start = Instant::now();
    let installed = download(&cfg, &release, |_| {}).await.expect("download");
    let download_ms = start.elapsed().as_secs_f64() * 1e3;
    println!(
        "{check_ms:.1} {download_ms:.1} {} {} {}",
        installed.fetched, installed.reused, installed.size
    );
}
EOF
log "building the driver and the feed server (release)"
CARGO_TARGET_DIR=$QT_TARGET cargo build --quiet --release --manifest-path "$work/driver/Cargo.toml"
CARGO_TARGET_DIR=$QT_TARGET cargo build --quiet --release -p qmlbridge-update --example feed_server \
  --manifest-path "$ROOT/Cargo.toml"
driver=$QT_TARGET/release/update-bench
server=$QT_TARGET/release/examples/feed_server

# The app and its three releases, signed with a temporary key kept outside the app.
"$cli" new "$app" --name "$NAME" --org example --id org.example.Bookmarks \
  --resource bookmarks:title:text,url:text --framework "$ROOT" >/dev/null
QMLBRIDGE_SIGN_PASSWORD=$PASSWORD "$cli" keygen --out "$work/keys" --name bench >/dev/null 2>&1
key=$(tail -n1 "$work/keys/bench.pub")
cat >>"$app/qmlbridge.toml" <<EOF

[update]
feed = "http://127.0.0.1:$port/latest.json"
keys = ["$key"]
EOF

# release VERSION: bundles the app as it is now into $work/rel/VERSION.
release() {
  local version=$1 start=$SECONDS
  sed -i "s/^version = .*/version = \"$version\"/" "$app/qmlbridge.toml"
  rm -rf "$app/dist"
  CARGO_TARGET_DIR=$QT_TARGET QMLBRIDGE_SIGN_PASSWORD=$PASSWORD \
    "$cli" bundle --app "$app" --sign --key "$work/keys/bench.key" >"$work/bundle-$version.log" 2>&1 \
    || { tail -n 40 "$work/bundle-$version.log" >&2; die "bundle --sign of v$version failed"; }
  mkdir -p "$work/rel/$version"
  cp -a "$app/dist/." "$work/rel/$version/"
  log "v$version bundled in $((SECONDS - start)) s"
}

release 0.1.0
# A one-line QML change.
cp "$app/qml/Main.qml" "$work/Main.qml.orig"
sed -i '0,/title: qsTr("Bookmarks")/s//title: qsTr("My bookmarks")/' "$app/qml/Main.qml"
cmp -s "$app/qml/Main.qml" "$work/Main.qml.orig" && die "the QML change did not apply"
release 0.1.1
cp "$work/Main.qml.orig" "$app/qml/Main.qml"
# A one-line backend change (the QML as in v0.1.0).
cp "$app/backend/src/lib.rs" "$work/lib.rs.orig"
sed -i '0,/max_chars = 1000/s//max_chars = 2000/' "$app/backend/src/lib.rs"
cmp -s "$app/backend/src/lib.rs" "$work/lib.rs.orig" && die "the backend change did not apply"
release 0.1.2

# serve MODE: (re)starts the feed server: `normal`, or `ignore-ranges` (every answer is the
# whole file, as from a server without range support: the updater's full download).
serve() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null || true
  fi
  "$server" "$feed" --port "$port" --mode "$1" >>"$work/feed.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  die "the feed server did not start (see $work/feed.log)"
}

# measure VERSION MODE: RUNS updates of a copy of v0.1.0's image to VERSION, the server in MODE;
# prints the medians "check_ms download_ms fetched size".
measure() {
  local version=$1 seed=$base i run
  serve "$2"
  rm -f "$feed"/*
  cp "$work/rel/$version/"*.AppImage "$work/rel/$version/"*.zsync "$feed/"
  cp "$work/rel/$version/latest.json" "$work/rel/$version/latest.json.minisig" "$feed/"
  : >"$work/samples"
  for i in $(seq "$RUNS"); do
    run=$work/run-$version-$i
    mkdir -p "$run/Applications" "$run/data"
    cp "$seed" "$run/Applications/$NAME.AppImage"
    "$driver" "http://127.0.0.1:$port/latest.json" "$key" 0.1.0 "$run/Applications/$NAME.AppImage" \
      "$run/data" >>"$work/samples"
    cmp -s "$run/Applications/$NAME.AppImage" "$work/rel/$version/$NAME-$version-x86_64.AppImage" \
      || die "the update to v$version did not install v$version's image"
    rm -rf "$run"
  done
  printf '%s %s %s %s\n' "$(cut -d' ' -f1 "$work/samples" | median)" \
    "$(cut -d' ' -f2 "$work/samples" | median)" "$(cut -d' ' -f3 "$work/samples" | median)" \
    "$(cut -d' ' -f5 "$work/samples" | head -n1)"
}

base=$work/rel/0.1.0/$NAME-0.1.0-x86_64.AppImage
echo "update: $RUNS runs each, medians; feed on 127.0.0.1, images of a generated app (v0.1.0 running)"
for case in "0.1.1 one-line QML change" "0.1.2 one-line backend change"; do
  version=${case%% *}
  what=${case#* }
  # Not in a subshell: serve keeps the server's pid.
  measure "$version" normal >"$work/delta"
  measure "$version" ignore-ranges >"$work/full"
  read -r check_ms delta_ms fetched size <"$work/delta"
  read -r _ full_ms full_fetched _ <"$work/full"
  printf '%s (v%s, %s bytes):\n' "$what" "$version" "$size"
  printf '  check %s ms; delta download + apply %s ms, fetched %s bytes (%s%% of the image)\n' \
    "$check_ms" "$delta_ms" "$fetched" "$(awk -v a="$fetched" -v b="$size" 'BEGIN { printf "%.1f", 100 * a / b }')"
  printf '  full download + apply %s ms, fetched %s bytes; delta/full: %s of the bytes, %s of the time\n' \
    "$full_ms" "$full_fetched" \
    "$(awk -v a="$fetched" -v b="$full_fetched" 'BEGIN { printf "%.3f", a / b }')" \
    "$(awk -v a="$delta_ms" -v b="$full_ms" 'BEGIN { printf "%.2f", a / b }')"
done
