#!/usr/bin/env bash
# setup.sh - install the Debian packages meshgate needs, when they are missing.
#
#   scripts/setup.sh            build dependencies
#   scripts/setup.sh --test     + the real clients the test suite drives
#   scripts/setup.sh --bench    + wrk, nginx (WebDAV), Radicale and Xandikos for tests/bench/
#
# Idempotent: checks each package with dpkg-query, runs apt-get update and
# apt-get install only when something is missing, and prints nothing when
# everything is already there. Needs root (or sudo) only to install.
set -euo pipefail

BUILD_PKGS=(build-essential cmake pkg-config libmicrohttpd-dev libxml2-dev libjansson-dev
    libsodium-dev libsqlite3-dev check libsubunit-dev libical-dev libcurl4-openssl-dev)
TEST_PKGS=(litmus cadaver curl jq python3-caldav vdirsyncer valgrind chromium iproute2 openssl
    rclone davfs2 rsync)
BENCH_PKGS=(wrk nginx libnginx-mod-http-dav-ext curl radicale xandikos)

usage() {
    awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
}

want=("${BUILD_PKGS[@]}")
for arg in "$@"; do
    case "$arg" in
    --test)
        want+=("${TEST_PKGS[@]}")
        # tests/web needs node and npm; they may be installed outside dpkg, so
        # Debian's are asked for only when there is no node at all
        if ! command -v node >/dev/null 2>&1; then
            want+=(nodejs npm)
        fi
        ;;
    --bench) want+=("${BENCH_PKGS[@]}") ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        echo "setup.sh: unknown option: $arg" >&2
        usage >&2
        exit 2
        ;;
    esac
done

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "setup.sh: dpkg-query not found: this script supports Debian and Ubuntu only;" \
        "install these by hand: ${want[*]}" >&2
    exit 1
fi

missing=()
for pkg in "${want[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
        # skip duplicates (curl is in two lists)
        case " ${missing[*]-} " in *" $pkg "*) ;; *) missing+=("$pkg") ;; esac
    fi
done

if ((${#missing[@]} == 0)); then
    exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "setup.sh: missing packages (${missing[*]}) and not root, no sudo" >&2
        exit 1
    fi
fi

echo "setup.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq >/dev/null
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
echo "setup.sh: done" >&2
