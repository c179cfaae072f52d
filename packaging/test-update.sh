#!/usr/bin/env bash
# End-to-end test of an app's self-update (docs/updates.md) with real images and a feed served
# from 127.0.0.1, on a generated app (scripts/test-new-app.sh's `bookmarks`: resources
# bookmarks:title,url and tags:label):
#
#   packaging/test-update.sh APP_DIR
#
# The app is copied (the original is left as it is) and released three times, each build signed
# by `qmlbridge bundle --sign` with temporary keys made by `qmlbridge keygen` outside the app:
#   v0.1.0  [update] feed on 127.0.0.1, one key, check_at_start, auto_download, rollback = "auto"
#   v0.2.0  a new migration (a column) and a changed page; trusts a second key (rotation)
#   v0.3.0  signed with the second key; its migration fails on the rows v0.1.0 wrote (a UNIQUE
#           index over two equal URLs)
# Then, in a private mount and PID namespace (packaging/without-system-qt.sh: nothing outlives
# the test), the images run from a temporary "Applications" directory with the data in a
# temporary XDG_DATA_HOME, FUSE-mounted as a user runs them, offscreen:
#   A. v0.1.0 writes rows; v0.2.0 is published; the app checks at start, downloads the delta and
#      replaces its image (the previous one kept); bytes fetched are printed next to the full
#      size; relaunched, v0.2.0 runs with every row and its new column.
#   B. A tampered image, a tampered latest.json, a feed signed by an unknown key: each refused,
#      the image byte-identical, host.log naming which.
#   C. v0.3.0, signed by the rotated key that v0.2.0 trusts: accepted and installed; relaunched,
#      its migration fails: the database is restored byte for byte, the image rolled back to
#      v0.2.0, which is restarted and running, and the user told (the notice).
#   D. SIGKILL of the app during the download (the feed server stalls mid-body) and during the
#      replace (strace kills it at the syscall): the old image still starts, and every
#      executable file beside it is a complete, signed release.
#
# The release build happens in CARGO_TARGET_DIR (default: the checkout's target/qt, shared with
# every AppImage build, so only the app's crates are compiled again per version).
# Needs: curl, strace, minisign, zsyncmake, jq, unshare (scripts/install-deps.sh appimage).
# No timing is asserted; generous timeouts only.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEADLINE=${UPDATE_TEST_DEADLINE:-120} # seconds to wait for each condition (a loaded 2-core CI)
PASSWORD=the-test-release-password    # the temporary keys' password: they are deleted after
NAME=bookmarks                        # the generated app's name, host binary and data-dir leaf
ORG=example
BACKEND_BIN=$NAME-backend
DUP_URL=https://duplicate.example.org # two rows share it: v0.3.0's UNIQUE index fails on them

log() { printf 'test-update: %s\n' "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }

sha() { sha256sum "$1" | cut -d' ' -f1; }

# ---------------------------------------------------------------------------------------------
# Outside the namespace: build the three releases.
# ---------------------------------------------------------------------------------------------


# set_update_section KEYS...: the manifest's [update] section with the test feed and KEYS.
set_update_section() {
  local manifest=$APP/qmlbridge.toml keys="" k
  for k in "$@"; do keys+="${keys:+, }\"$k\""; done
  sed -i '/^\[update\]/,$d' "$manifest"
  cat >>"$manifest" <<EOF
[update]
feed = "$FEED_URL"
keys = [$keys]
check_at_start = true
auto_download = true
rollback = "auto"
EOF
}

set_version() { sed -i "s/^version = .*/version = \"$1\"/" "$APP/qmlbridge.toml"; }

# release VERSION KEYFILE: bundles and signs the app as it is now into $REL/VERSION/.
release() {
  local version=$1 key=$2 start=$SECONDS
  set_version "$version"
  rm -rf "$APP/dist"
  log "building v$version (release build in $QT_TARGET)"
  CARGO_TARGET_DIR=$QT_TARGET QMLBRIDGE_SIGN_PASSWORD=$PASSWORD \
    "$CLI" bundle --app "$APP" --sign --key "$key" >"$WORK/bundle-$version.log" 2>&1 \
    || { tail -n 60 "$WORK/bundle-$version.log" >&2; die "bundle --sign of v$version failed"; }
  mkdir -p "$REL/$version"
  cp -a "$APP/dist/." "$REL/$version/"
  log "v$version: $(stat -c %s "$REL/$version/$NAME-$version-x86_64.AppImage") bytes in $((SECONDS - start)) s"
}

# The lines v0.2.0's Main.qml gains (a sed replacement: newlines as \n).
page_lines() {
  printf '%s\\n' \
    "    Component.onCompleted: console.info(\"$PAGE_MARKER\")" \
    "    property string updaterNotice: Updater.notice" \
    "    onUpdaterNoticeChanged: console.info(\"$NOTICE_MARKER\" + updaterNotice)"
}

build_releases() {
  local k1 k2
  mkdir -p "$KEYS" "$REL"
  # The keys live outside the app (keygen refuses a directory inside one).
  QMLBRIDGE_SIGN_PASSWORD=$PASSWORD "$CLI" keygen --out "$KEYS" --name first >/dev/null
  QMLBRIDGE_SIGN_PASSWORD=$PASSWORD "$CLI" keygen --out "$KEYS" --name second >/dev/null
  k1=$(tail -n1 "$KEYS/first.pub") k2=$(tail -n1 "$KEYS/second.pub")
  # A key no version trusts, made with the stock tool (no password).
  minisign -G -W -p "$KEYS/unknown.pub" -s "$KEYS/unknown.key" >/dev/null
  if [ ${#k1} != 56 ] || [ ${#k2} != 56 ]; then die "keygen printed no public keys ('$k1', '$k2')"; fi

  mkdir -p "$(dirname "$APP")"
  cp -a "$SOURCE_APP" "$APP"
  rm -rf "$APP/dist" "$APP/target"

  set_update_section "$k1"
  release 0.1.0 "$KEYS/first.key"

  # v0.2.0: a new column (the API shows it), a changed page (it logs a marker), both keys trusted.
  set_update_section "$k1" "$k2"
  cat >"$APP/backend/migrations/0003_bookmark_notes.sql" <<'EOF'
-- v0.2.0: a note on each bookmark; existing rows get an empty one.
ALTER TABLE "bookmarks" ADD COLUMN "note" TEXT NOT NULL DEFAULT '';
EOF
  grep -q '^    url: String,$' "$APP/backend/src/lib.rs" || die "the app's Bookmark has no url field"
  sed -i 's/^    url: String,$/    url: String,\n    note: String,/' "$APP/backend/src/lib.rs"
  # The page also logs what the Updater tells the user after a rollback (its notice), so the
  # test sees what the window shows.
  sed -i "0,/^    title: qsTr(\"Bookmarks\")$/s//    title: qsTr(\"Bookmarks 0.2\")\n$(page_lines)/" \
    "$APP/qml/Main.qml"
  grep -qF "$PAGE_MARKER" "$APP/qml/Main.qml" || die "could not change the app's Main.qml"
  release 0.2.0 "$KEYS/first.key"

  # v0.3.0: signed with the second key only; its migration cannot apply to v0.1.0's rows.
  cat >"$APP/backend/migrations/0004_unique_urls.sql" <<'EOF'
-- v0.3.0: one bookmark per URL. Fails where two rows already share one: the upgrade must leave
-- the user's data as it was.
ALTER TABLE "bookmarks" ADD COLUMN "visits" INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX "bookmarks_url" ON "bookmarks" ("url");
EOF
  release 0.3.0 "$KEYS/second.key"
}

# ---------------------------------------------------------------------------------------------
# Inside the namespace: run them.
# ---------------------------------------------------------------------------------------------

LOGS=()
# shellcheck source=packaging/test-lib.sh
. "$ROOT/packaging/test-lib.sh"
app_stopped() { none_named "$NAME" && none_named "$BACKEND_BIN" && none_named "$RUNTIME_COMM"; }

# The lines host.log got since the last start_app (the data dir outlives a run).
new_log() { tail -c +$((LOG_OFFSET + 1)) "$DATA/var/log/host.log" 2>/dev/null; }
logged() { new_log | grep -qF -- "$1"; }
logged_online() { new_log | grep -q 'state=Online'; }

# use_home DIR: the user's home (data dir, Applications) for the next runs.
use_home() {
  HOME_DIR=$1
  DATA=$HOME_DIR/.local/share/$ORG/$NAME
  APPS=$HOME_DIR/Applications
  IMG=$APPS/Bookmarks.AppImage
  RUNTIME_COMM=$(basename "$IMG")
  mkdir -p "$APPS" "$HOME_DIR/run"
  chmod 0700 "$HOME_DIR/run"
}

# start_app NAME: starts the image in $APPS as a user would (FUSE, offscreen).
start_app() {
  local name=$1
  LOG_OFFSET=$(stat -c %s "$DATA/var/log/host.log" 2>/dev/null || echo 0)
  LOGS=("$WORK/run-$name.log" "$DATA/var/log/host.log" "$DATA/var/log/backend.log" "$WORK/feed.log")
  (env -u BRIDGE_URL -u DATABASE_URL -u BRIDGE_BACKEND_BIN -u BRIDGE_BACKEND_DIR \
    -u BRIDGE_CADDYFILE -u QT_PLUGIN_PATH -u QML2_IMPORT_PATH -u QML_IMPORT_PATH \
    -u LD_LIBRARY_PATH -u WAYLAND_DISPLAY -u DISPLAY -u APPIMAGE -u APPDIR -u PORT -u FEED_PORT \
    HOME="$HOME_DIR" XDG_DATA_HOME="$HOME_DIR/.local/share" XDG_CONFIG_HOME="$HOME_DIR/.config" \
    XDG_CACHE_HOME="$HOME_DIR/.cache" XDG_RUNTIME_DIR="$HOME_DIR/run" \
    QT_QPA_PLATFORM=offscreen BRIDGE_LOG=info \
    "$IMG" >"$WORK/run-$name.log" 2>&1 </dev/null || true) 2>/dev/null &
  APP_PID=$! # a subshell whose notice of a SIGKILLed app ("Killed") goes nowhere
}

# Waits for Online; sets URL and TOKEN (read from the backend's environment: we are
# root in our own namespace).
wait_online() {
  local backend port
  wait_for "the host to log state=Online" logged_online
  wait_for "one backend process" one_named "$BACKEND_BIN"
  wait_for "one host process" one_named "$NAME"
  backend=$(pids_named "$BACKEND_BIN")
  port=$(environ_var "$backend" PORT)
  TOKEN=$(environ_var "$backend" BRIDGE_TOKEN)
  if [ -z "$port" ] || [ -z "$TOKEN" ]; then fail "the backend's environment lacks PORT or BRIDGE_TOKEN"; fi
  URL=http://127.0.0.1:$port
}

api() {
  local path=$1
  shift
  curl -sS --fail -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
    "$@" "$URL/api/$path" || fail "$* $URL/api/$path failed"
}

# stop_app: SIGTERM to the host (as closing the window), then everything of the app must end.
stop_app() {
  local pid
  for pid in $(pids_named "$NAME"); do kill -TERM "$pid"; done
  wait_for "the app to stop after SIGTERM" app_stopped
  wait "$APP_PID" 2>/dev/null || true
}

# kill_app: SIGKILL to the host and the runtime, as a crash or a power cut would.
kill_app() {
  local pid
  for pid in $(pids_named "$NAME") $(pids_named "$RUNTIME_COMM"); do kill -KILL "$pid" 2>/dev/null || true; done
  wait_for "the app to end after SIGKILL" app_stopped
  wait "$APP_PID" 2>/dev/null || true
}

image_is() { [ "$(sha "$IMG")" = "$(sha "$(image_of "$1")")" ]; }
image_of() { echo "$REL/$1/$NAME-$1-x86_64.AppImage"; }

# publish VERSION [DIR]: the release's files into the served feed directory, the image and its
# .zsync first and latest.json with its signature last (as docs/updates.md says).
publish() {
  local version=$1 from=${2:-$REL/$1}
  rm -f "$FEED"/*
  cp "$from/$NAME-$version-x86_64.AppImage" "$from/$NAME-$version-x86_64.AppImage.zsync" "$FEED/"
  cp "$from/latest.json" "$from/latest.json.minisig" "$FEED/"
}

# Every executable file beside the image is a complete, signed release (no partial file can be
# executed): its SHA-256 is one of the releases'.
only_complete_executables() {
  local f known
  known=" $(sha "$(image_of 0.1.0)") $(sha "$(image_of 0.2.0)") $(sha "$(image_of 0.3.0)") "
  while read -r f; do
    case $known in *" $(sha "$f") "*) ;; *) fail "$f is executable but no complete release" ;; esac
  done < <(find "$APPS" -maxdepth 1 -type f -perm -u+x)
}

# rows: the bookmarks as "title|url|note" lines, sorted.
rows() { api bookmarks | jq -r '.[] | "\(.title)|\(.url)|\(.note // "-")"' | sort; }

scenario_delta() {
  local full fetched
  log "A. v0.1.0 -> v0.2.0 through the delta"
  use_home "$WORK/home"
  cp "$(image_of 0.1.0)" "$IMG"
  publish 0.1.0
  start_app a-first
  wait_online
  api bookmarks -d '{"title":"First","url":"https://example.org/1"}' -o /dev/null
  api bookmarks -d "{\"title\":\"Twin one\",\"url\":\"$DUP_URL\"}" -o /dev/null
  api bookmarks -d "{\"title\":\"Twin two\",\"url\":\"$DUP_URL\"}" -o /dev/null
  api tags -d '{"label":"kept"}' -o /dev/null
  ROWS_BEFORE=$(rows | cut -d'|' -f1,2)
  [ "$(wc -l <<<"$ROWS_BEFORE")" = 3 ] || fail "want 3 bookmarks, got: $ROWS_BEFORE"
  stop_app

  publish 0.2.0
  FEED_LOG_OFFSET=$(stat -c %s "$WORK/feed.log")
  start_app a-update
  wait_online
  wait_for "the image to become v0.2.0's (check at start, delta download, replace)" image_is 0.2.0
  [ "$(sha "$APPS/.$(basename "$IMG").previous")" = "$(sha "$(image_of 0.1.0)")" ] \
    || fail "the previous image (v0.1.0) is not kept beside the image"
  only_complete_executables
  full=$(stat -c %s "$(image_of 0.2.0)")
  fetched=$(served_image_bytes "$NAME-0.2.0-x86_64.AppImage")
  log "delta v0.1.0 -> v0.2.0: fetched $fetched of $full bytes ($((fetched * 100 / full))%)"
  [ "$fetched" -lt "$full" ] || fail "the update fetched $fetched bytes, not less than the image's $full: no delta"
  stop_app

  start_app a-relaunch
  wait_online
  wait_for "v0.2.0's changed page (its marker in host.log)" logged "$PAGE_MARKER"
  [ "$(rows | cut -d'|' -f1,2)" = "$ROWS_BEFORE" ] || fail "rows changed across the update: $(rows)"
  rows | grep -qv '|-$' || fail "v0.2.0's column note is missing from /api/bookmarks: $(rows)"
  [ "$(api tags | jq length)" = 1 ] || fail "the tag is gone after the update"
  stop_app
  log "ok: v0.2.0 runs with every row kept and its new column"
}

# refused CASE WANT: with the feed as prepared, the app starts, refuses the release with an
# error containing WANT, and leaves the image byte-identical.
refused() {
  local what=$1 want=$2
  start_app "refuse-$what"
  wait_online
  wait_for "the refusal '$want' in host.log" logged "$want"
  stop_app
  cmp -s "$IMG" "$(image_of 0.2.0)" || fail "$what: the image changed"
  only_complete_executables
  log "ok: $what refused: $(new_log | grep -F -- "$want" | head -n1)"
}

scenario_tampering() {
  local t=$WORK/tampered
  log "B. tampered releases are refused"
  rm -rf "$t" && mkdir -p "$t" && cp "$REL/0.3.0/"* "$t/"
  # One byte in the middle of the image flipped, and its .zsync made anew for it (as whoever
  # controls the server would), so the delta assembles exactly the tampered file; latest.json as
  # signed.
  local img=$t/$NAME-0.3.0-x86_64.AppImage size byte
  size=$(stat -c %s "$img")
  byte=$(od -An -tu1 -j $((size / 2)) -N1 "$img")
  printf '%b' "\\0$(printf %03o $((byte ^ 0x55)))" | dd of="$img" bs=1 seek=$((size / 2)) conv=notrunc status=none
  cmp -s "$img" "$(image_of 0.3.0)" && fail "could not tamper with the image"
  (cd "$t" && zsyncmake -b 2048 -u "$(basename "$img")" -o "$img.zsync" "$(basename "$img")" >/dev/null) \
    || fail "zsyncmake failed"
  publish 0.3.0 "$t"
  refused "a tampered image" "image: tampered"

  cp "$REL/0.3.0/"* "$t/"
  sed -i 's/"version": "0.3.0"/"version": "0.3.1"/' "$t/latest.json"
  cmp -s "$t/latest.json" "$REL/0.3.0/latest.json" && fail "could not tamper with latest.json"
  publish 0.3.0 "$t"
  refused "a tampered latest.json" "latest.json: tampered"

  cp "$REL/0.3.0/"* "$t/"
  rm "$t/latest.json.minisig"
  minisign -S -s "$KEYS/unknown.key" -m "$t/latest.json" -x "$t/latest.json.minisig" >/dev/null
  publish 0.3.0 "$t"
  refused "a feed signed by an unknown key" "latest.json: signed by an unknown key"
}

scenario_failed_migration() {
  local db=$DATA/var/data.sqlite notice
  log "C. v0.3.0 (signed by the rotated key) installs; its migration fails; back to v0.2.0"
  [ ! -s "$db-wal" ] || fail "the database's WAL is not empty after the app stopped"
  cp "$db" "$WORK/before.sqlite"
  publish 0.3.0
  start_app c-update
  wait_online
  wait_for "the image to become v0.3.0's (signed by the second key, trusted by v0.2.0)" image_is 0.3.0
  stop_app
  log "ok: v0.3.0, signed by the rotated key, accepted and installed"

  start_app c-migrate
  wait_for "the image rolled back to v0.2.0's" image_is 0.2.0
  wait_for "v0.2.0 restarted after the rollback" logged_online_after_rollback
  wait_online
  rows | cut -d'|' -f1,2 | diff - <(echo "$ROWS_BEFORE") >&2 || fail "rows differ after the rollback"
  # The window was told: the restarted v0.2.0's Updater.notice names both versions.
  wait_for "the Updater's notice in the restarted window" logged "$NOTICE_MARKER"
  notice=$(new_log | awk -v m="$NOTICE_MARKER" 'index($0, m) { on = 1 } on' | head -n 12)
  if ! grep -qF 0.3.0 <<<"$notice" || ! grep -qF 0.2.0 <<<"$notice"; then
    fail "the notice does not say what happened: $notice"
  fi
  log "  the window shows: $(head -n1 <<<"$notice" | sed 's/.*notice: //' | cut -c1-140)..."
  stop_app
  cmp "$db" "$WORK/before.sqlite" || fail "the database is not byte for byte what it was before v0.3.0"
  jq -e '.rolled_back | index("0.3.0")' "$DATA/var/update/state.json" >/dev/null \
    || fail "state.json does not record that 0.3.0 was rolled back: $(cat "$DATA/var/update/state.json")"
  log "ok: the database restored byte for byte, the app back on v0.2.0, the user told"
}
# start_feed [MODE]: (re)starts the feed server (host/update/examples/feed_server.rs) on
# 127.0.0.1:$FEED_PORT serving $FEED, one line per request appended to feed.log. MODE: normal,
# or stall:<bytes> (an image's body stops after that many bytes and never ends).
start_feed() {
  if [ -n "${FEED_PID:-}" ]; then
    kill "$FEED_PID"
    wait "$FEED_PID" 2>/dev/null || true
  fi
  "$FEED_SERVER" "$FEED" --port "$FEED_PORT" --mode "${1:-normal}" >>"$WORK/feed.log" 2>&1 &
  FEED_PID=$!
  wait_for "the feed server" feed_up
}
feed_up() { (exec 3<>"/dev/tcp/127.0.0.1/$FEED_PORT") 2>/dev/null; }
# served_image_bytes NAME: the body bytes of NAME the feed server sent since FEED_LOG_OFFSET.
served_image_bytes() {
  tail -c +$((FEED_LOG_OFFSET + 1)) "$WORK/feed.log" \
    | awk -v p="GET /$1 " 'index($0, p) == 1 { n += $(NF - 3) } END { print n + 0 }'
}

# After the rollback the host restarted the image (detached) and that process came Online.
logged_online_after_rollback() {
  new_log | sed -n '/qmlbridge::relaunch: restarted/,$p' | grep -q 'state=Online'
}

# killed_at POINT: a fresh v0.1.0 with v0.2.0 in the feed; strace SIGKILLs the host at the
# syscall of POINT (which is not executed): `chmod`, the verified staged file made executable;
# `rename`, the staged file renamed over the image (the previous image linked, the install
# recorded). Then the image is still v0.1.0's, every executable beside it a complete release,
# and it starts.
killed_at() {
  local what=$1 host tracer syscalls path
  use_home "$WORK/home-kill-$what"
  cp "$(image_of 0.1.0)" "$IMG"
  # Both are the staged file's: strace -P matches a rename by its first path only.
  path=$APPS/.$(basename "$IMG").download
  case $what in
    chmod) syscalls=chmod,fchmod,fchmodat ;;
    rename) syscalls=rename,renameat,renameat2 ;;
  esac
  start_app "kill-$what"
  wait_for "the host process" one_named "$NAME"
  host=$(pids_named "$NAME")
  strace -f -qq -p "$host" -o "$WORK/strace-$what.log" -P "$path" -e trace="$syscalls" \
    -e inject="$syscalls":error=EIO:signal=KILL &
  tracer=$!
  wait_for "the host to be killed at $what" app_ended_or_host_gone
  kill_app
  wait "$tracer" 2>/dev/null || true
  LOGS+=("$WORK/strace-$what.log")
  # The syscall was entered (strace prints no result: the SIGKILL came first).
  grep -Eq "^[0-9]+ +f?${what}[a-z0-9]*\\(" "$WORK/strace-$what.log" \
    || fail "strace did not stop the host at $what (attached too late?)"
  image_is 0.1.0 || fail "killed at $what: the image is no longer v0.1.0's"
  only_complete_executables
  start_app "after-kill-$what"
  wait_online
  stop_app
  image_is 0.1.0 || image_is 0.2.0 || fail "after the kill at $what the image is no release"
  only_complete_executables
  log "ok: killed at $what: the old image still starts; no partial file is executable"
}
app_ended_or_host_gone() { none_named "$NAME"; }
image_stalled() { [ "$(served_image_bytes "$NAME-0.2.0-x86_64.AppImage")" -gt 0 ]; }

scenario_kills() {
  local staged
  log "D. SIGKILL during the download and during the replace"
  publish 0.2.0
  # The download: the feed server stalls in the middle of the image's body.
  use_home "$WORK/home-kill-download"
  cp "$(image_of 0.1.0)" "$IMG"
  staged=$APPS/.$(basename "$IMG").download
  start_feed stall:4096
  FEED_LOG_OFFSET=$(stat -c %s "$WORK/feed.log")
  start_app kill-download
  wait_online
  wait_for "the image's body to stall" image_stalled
  [ -e "$staged" ] || fail "no staged file $staged while the download is under way"
  [ ! -x "$staged" ] || fail "the partial download $staged is executable"
  kill_app
  start_feed normal
  image_is 0.1.0 || fail "killed during the download: the image changed"
  only_complete_executables
  start_app after-kill-download
  wait_online
  stop_app
  only_complete_executables
  log "ok: killed during the download: the old image still starts; the partial file was never executable"

  # The replace: at the staged file's chmod (verified, not yet executable), and at the rename
  # over the image (the previous image linked, the install recorded).
  killed_at chmod
  killed_at rename
}

inside() {
  FEED=$WORK/feed
  rm -rf "$FEED" "$WORK"/home* "$WORK"/*.log
  mkdir -p "$FEED"
  start_feed
  scenario_delta
  scenario_tampering
  scenario_failed_migration
  scenario_kills
  kill "$FEED_PID"
  log "PASS"
}

main() {
  [ $# = 1 ] || { echo "usage: $0 APP_DIR (a generated bookmarks app, scripts/test-new-app.sh)" >&2; exit 2; }
  SOURCE_APP=$(realpath "$1")
  [ -f "$SOURCE_APP/qmlbridge.toml" ] || die "no qmlbridge.toml in $SOURCE_APP"
  for tool in curl strace minisign zsyncmake sha256sum jq unshare; do
    command -v "$tool" >/dev/null || die "$tool not found (scripts/install-deps.sh appimage)"
  done
  CLI=${QMLBRIDGE_CLI:-}
  if [ -z "$CLI" ]; then
    cargo build --quiet -p qmlbridge-cli --manifest-path "$ROOT/Cargo.toml"
    CLI=${CARGO_TARGET_DIR:-$ROOT/target}/debug/qmlbridge
  fi
  QT_TARGET=${QMLBRIDGE_QT_TARGET_DIR:-$ROOT/target/qt}
  cargo build --quiet -p qmlbridge-update --example feed_server --manifest-path "$ROOT/Cargo.toml"
  FEED_SERVER=${CARGO_TARGET_DIR:-$ROOT/target}/debug/examples/feed_server
  PAGE_MARKER="the changed page of v0.2.0"
  NOTICE_MARKER="the Updater's notice: "
  if [ -n "${UPDATE_TEST_REUSE:-}" ]; then
    # A developer's shortcut: the releases a kept run built (their feed port is compiled in).
    WORK=$UPDATE_TEST_REUSE
    KEYS=$WORK/keys REL=$WORK/releases
    FEED_PORT=$(cat "$WORK/port")
    log "reusing the releases in $WORK (port $FEED_PORT)"
  else
    WORK=$(mktemp -d /tmp/qmlbridge-update.XXXXXX)
    KEYS=$WORK/keys REL=$WORK/releases APP=$WORK/app/$NAME
    FEED_PORT=$(free_port)
    echo "$FEED_PORT" >"$WORK/port"
    FEED_URL=http://127.0.0.1:$FEED_PORT/latest.json
    build_releases
  fi
  # UPDATE_TEST_KEEP=1 keeps the work dir (releases, logs) for UPDATE_TEST_REUSE=DIR.
  if [ "${UPDATE_TEST_KEEP:-}" = 1 ]; then log "keeping $WORK"; else trap 'rm -rf "$WORK"' EXIT; fi
  export WORK KEYS REL FEED_PORT PAGE_MARKER NOTICE_MARKER FEED_SERVER
  "$ROOT/packaging/without-system-qt.sh" "$0" --inside "$WORK"
}

if [ "${1:-}" = --inside ]; then
  WORK=$2
  inside
else
  main "$@"
fi
