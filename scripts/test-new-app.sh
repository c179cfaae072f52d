#!/usr/bin/env bash
# `make test`'s proof of the skeleton, as a new user would go: `qmlbridge new` a two-resource
# `bookmarks` app outside the checkout, run the generated app's own `make test` (its backend tests
# and a QtQuickTest of its window), then bundle its AppImage and run the image's end-to-end test
# (system Qt hidden, data in ~/.local/share/example/bookmarks, /api/bookmarks and /api/tags with
# the session token, SIGKILL leaves no process), its self-update from a feed on 127.0.0.1
# (packaging/test-update.sh), and last its edit loop under `qmlbridge dev`.
#
# The generated app shares this checkout's target dirs (debug: target/, release: target/qt), so
# cxx-qt is not rebuilt: it starts from the framework's Cargo.lock.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { printf 'test-new-app: %s\n' "$*" >&2; }

work=$(mktemp -d /tmp/qmlbridge-new-app.XXXXXX)
trap 'rm -rf "$work"' EXIT
cargo build --quiet -p qmlbridge-cli --manifest-path "$ROOT/Cargo.toml"
cli=${CARGO_TARGET_DIR:-$ROOT/target}/debug/qmlbridge
app=$work/bookmarks

start=$SECONDS
"$cli" new "$app" --name bookmarks --org example --id org.example.Bookmarks \
  --resource bookmarks:title:text,url:text --resource tags:label:text --framework "$ROOT"
log "generated in $((SECONDS - start)) s"

start=$SECONDS
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target} make -C "$app" test
log "the generated app's make test passed in $((SECONDS - start)) s"

# QML the engine would refuse fails the host's build, naming the file and line (a misspelt
# property in a page; qmlbridge_manifest::build::check_qml), then the page is restored.
start=$SECONDS
page=$(cd "$app/qml" && pwd -P)/BookmarksPage.qml
cp "$page" "$work/page.qml"
sed -i '0,/textFormat: Text.PlainText/s//textFormatt: Text.PlainText/' "$page"
line=$(grep -n textFormatt "$page" | cut -d: -f1)
if out=$(cd "$app" && CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target} cargo build -p bookmarks 2>&1); then
  log "FAIL: the host built with a misspelt property in $page"; exit 1
fi
grep -F "$page:$line:" <<<"$out" | grep -q textFormatt \
  || { printf '%s\n' "$out" >&2; log "FAIL: the build's error does not name $page:$line"; exit 1; }
cp "$work/page.qml" "$page"
log "a misspelt QML property failed the host's build at $page:$line in $((SECONDS - start)) s"

# The second image of make test (appimage-test built the runtime): cargo may not reach the crate
# registry (its proxy is a closed port), so the bundle proves it needs none once the crates are
# fetched; packaging/test-bundle-offline.sh then repeats the runtime's build with no network at all.
start=$SECONDS
QMLBRIDGE_TEST_RESOURCE=bookmarks \
  QMLBRIDGE_TEST_BODY='{"title":"written through the AppImage","url":"https://example.org"}' \
  CARGO_HTTP_PROXY=http://127.0.0.1:9 CARGO_NET_RETRY=0 \
  CARGO_TARGET_DIR=$ROOT/target/qt "$cli" bundle --app "$app" --test
log "its AppImage passed the end-to-end test in $((SECONDS - start)) s, the crate registry unreachable"
"$ROOT/packaging/test-bundle-offline.sh"

# Its self-update, with three signed releases of a copy of the app and a feed on 127.0.0.1.
start=$SECONDS
"$ROOT/packaging/test-update.sh" "$app"
log "its self-update passed the end-to-end test in $((SECONDS - start)) s"

# Last, since it edits the app: `qmlbridge dev` driven as a developer would (cli/tests/dev.rs):
# QML reload, a resource and migration swapped in under a looping client, a broken build, Ctrl-C.
start=$SECONDS
QMLBRIDGE_DEV_APP=$app CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target} \
  cargo test --quiet -p qmlbridge-cli --manifest-path "$ROOT/Cargo.toml" --test dev -- --ignored
log "qmlbridge dev's edit loop passed in $((SECONDS - start)) s"
