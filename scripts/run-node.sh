#!/usr/bin/env bash
# run-node.sh - build meshgate and run a single node on this machine.
#
#   scripts/run-node.sh [extra "meshgate serve" flags...]
#
# Installs missing build dependencies (scripts/setup.sh), builds a Release
# binary in ./build, creates ./meshgate-data, creates a first (admin) user when
# the node has none, prints the URLs for clients and runs the node in the
# foreground (Ctrl-C stops it).
#
# Environment:
#   MESHGATE_USER      name of the first user (default: admin)
#   MESHGATE_PASSWORD  its password (default: a random one, printed once)
#   MESHGATE_LISTEN    address to listen on (default: 127.0.0.1:8080)
#   MESHGATE_DATA      data directory (default: ./meshgate-data)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

USER_NAME=${MESHGATE_USER:-admin}
LISTEN=${MESHGATE_LISTEN:-127.0.0.1:8080}
DATA=${MESHGATE_DATA:-./meshgate-data}

bash scripts/setup.sh

# Release build; warnings are not errors here (a newer compiler may warn about
# new things), the test suite and CI build with -Werror.
if ! cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DMESHGATE_WERROR=OFF >build-configure.log 2>&1; then
    cat build-configure.log >&2
    echo "run-node.sh: cmake configure failed (log above, also in build-configure.log)" >&2
    exit 1
fi
rm -f build-configure.log
echo "run-node.sh: building meshgate (Release) in ./build ..." >&2
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null 2>&1 ||
    cmake --build build -j1 # on failure, build again serially so the first error is readable
BIN=./build/meshgate

mkdir -p "$DATA"

if [[ -z "$("$BIN" user list --data "$DATA")" ]]; then
    if [[ -n "${MESHGATE_PASSWORD:-}" ]]; then
        password=$MESHGATE_PASSWORD
        shown="(from \$MESHGATE_PASSWORD)"
    else
        # 24 characters from [A-Za-z0-9]
        # (no `| head -c` at the end: under pipefail its early exit can fail tr)
        password=$(head -c 64 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
        password=${password:0:24}
        shown=$password
    fi
    printf '%s\n' "$password" | "$BIN" user add "$USER_NAME" --data "$DATA" --admin >/dev/null
    unset password
    cat <<MSG

  First user created:  $USER_NAME
  Password:            $shown
  (shown only this once; change it with: $BIN user passwd $USER_NAME --data $DATA)
MSG
else
    USER_NAME=$("$BIN" user list --data "$DATA" | awk 'NR == 1 { print $1 }')
fi

host=${LISTEN%:*}
port=${LISTEN##*:}
case "$host" in
0.0.0.0 | "" | "[::]") shown_host=127.0.0.1 ;;
*) shown_host=$host ;;
esac
base="http://$shown_host:$port"
cat <<MSG

  meshgate node, data in $DATA
  Browser (welcome portal):  $base/
  CalDAV / CardDAV:          $base/  (clients discover the rest)
                             or $base/dav/principals/$USER_NAME/
  WebDAV files:              $base/dav/files/$USER_NAME/
  Health:                    $base/healthz
  Add users:                 $BIN user add NAME --data $DATA

MSG

exec "$BIN" serve --listen "$LISTEN" --data "$DATA" "$@"
