#!/usr/bin/env bash
# Installs the Debian 12 packages qmlbridge needs; idempotent and non-interactive.
#
#   scripts/install-deps.sh [GROUP...]    GROUP: build test bench appimage all (default: build test)
#
# Runs `apt-get update` once, only when something is missing. As root it calls apt-get
# directly; otherwise through sudo when available.
set -euo pipefail

build=(pkg-config g++ make python3
       qt6-base-dev qt6-declarative-dev qt6-declarative-dev-tools qmake6
       qml6-module-qtqml qml6-module-qtquick qml6-module-qtquick-window
       qml6-module-qtquick-controls qml6-module-qtquick-layouts
       qml6-module-qtquick-templates qml6-module-qtqml-workerscript qml6-module-qtqml-models)
# desktop-file-utils, appstream: the CLI's tests validate what `qmlbridge bundle` writes.
# xvfb, x11-utils (xwininfo): `qmlbridge dev`'s test and bench read the window's title off an X server.
# minisign, zsync: the update tests check keys, signatures and .zsync files against the reference tools.
test=(qml6-module-qttest xvfb xauth x11-utils chromium procps psmisc fonts-dejavu-core desktop-file-utils
      appstream minisign zsync)
bench=(wrk xvfb x11-utils)
# fonts-dejavu-core: the icon's text when `qmlbridge bundle` renders the PNG sizes.
# fuse (fusermount) + libfuse2: the Debian 12 system the image is tested on (FUSE 2), and the old
# runtime the bench compares with; debootstrap: the Debian 13 root packaging/test-appimage-systems.sh
# builds; binutils (readelf): the runtime's sections; strace (kills at a syscall), jq, minisign,
# zsync (zsyncmake): packaging/test-update.sh.
appimage=(squashfs-tools patchelf desktop-file-utils appstream file qt6-wayland libfuse2 fuse curl xvfb
          x11-utils fonts-dejavu-core debootstrap binutils strace jq minisign zsync)
screenshots=(imagemagick xvfb xauth curl fonts-dejavu-core)

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(build test)
wanted=()
for g in "${groups[@]}"; do
  case "$g" in
    build) wanted+=("${build[@]}") ;;
    test) wanted+=("${build[@]}" "${test[@]}") ;;
    bench) wanted+=("${bench[@]}") ;;
    appimage) wanted+=("${appimage[@]}") ;;
    screenshots) wanted+=("${screenshots[@]}") ;;
    all) wanted+=("${build[@]}" "${test[@]}" "${bench[@]}" "${appimage[@]}" "${screenshots[@]}") ;;
    *) echo "install-deps: unknown group '$g' (build test bench appimage screenshots all)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${wanted[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
# de-duplicate
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk 'NF && !seen[$0]++')
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
  apt=(apt-get)
elif command -v sudo >/dev/null 2>&1; then
  apt=(sudo -n apt-get)
else
  echo "install-deps: missing packages (${missing[*]}) and not root; install them, then retry" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${apt[@]}" update -qq
"${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" </dev/null
