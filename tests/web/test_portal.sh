#!/usr/bin/env bash
# test_portal.sh - the welcome portal (web/) in headless Debian chromium, driven
# by playwright-core (tests/web/portal.test.mjs), against the real server: the
# landing page with the node's name and DAV addresses, a refused sign-in, alice
# signing in and mailing bob, alice's files, contacts and calendar (checked over
# WebDAV, CardDAV and CalDAV), bob reading the mail and seeing none of alice's
# things, sign-up by invite, and the page without JavaScript.
#
#   bash tests/web/test_portal.sh /path/to/meshgate
#
# Builds nothing. Needs node, npm and /usr/bin/chromium (scripts/setup.sh
# --test); installs playwright-core from package-lock.json with `npm ci` when
# tests/web/node_modules is missing. PORTAL_SCREENSHOT_DIR=DIR keeps the
# screenshots there (default: the test's temporary directory, removed at the
# end unless MESHGATE_KEEP=1).
# shellcheck source-path=SCRIPTDIR source=../integration/lib.sh
source "$(dirname "$0")/../integration/lib.sh"
mg_init "$@"

WEB_TESTS=$(cd "$(dirname "$0")" && pwd)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
require_cmd node npm
if [[ ! -x "$CHROMIUM" ]]; then
    fail "chromium not found at $CHROMIUM (run scripts/setup.sh --test)"
    mg_finish
fi

if [[ ! -d "$WEB_TESTS/node_modules/playwright-core" ]]; then
    log "installing playwright-core with npm ci"
    if ! (cd "$WEB_TESTS" && npm ci --no-audit --no-fund --loglevel=error) >"$MG_TMP/npm.log" 2>&1; then
        fail "npm ci in tests/web failed: $(tail -n 5 "$MG_TMP/npm.log" | tr '\n' ' ')"
        mg_finish
    fi
fi
pass "playwright-core installed"

ADMIN_PW='admin-Secret-0'
# Markup in the name: the portal must show it as text.
NODE_NAME='Hilltop <b>Mesh</b> & Co'
mg_add_standard_users
mg_add_user admin "$ADMIN_PW" --admin
# --web: the portal of this checkout, wherever the binary was built and
# whatever directory ctest runs it from
mg_start --name "$NODE_NAME" --web "$(cd "$WEB_TESTS/../../web" && pwd)"

SHOTS=${PORTAL_SCREENSHOT_DIR:-$MG_TMP/screenshots}
mkdir -p "$SHOTS"
out="$MG_TMP/portal.out"
rc=0
ALICE_PW=$ALICE_PW BOB_PW=$BOB_PW ADMIN_USER=admin ADMIN_PW=$ADMIN_PW NODE_NAME=$NODE_NAME \
    CHROMIUM=$CHROMIUM PORTAL_SCREENSHOT_DIR=$SHOTS \
    timeout 240 node "$WEB_TESTS/portal.test.mjs" "$MG_BASE" >"$out" 2>&1 || rc=$?
# every line but the summary, which is folded into this script's own
grep -v '^portal: [0-9]* passed, [0-9]* failed$' "$out" || true
summary=$(grep -E '^portal: [0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1 || true)
if [[ -z "$summary" ]]; then
    fail "portal.test.mjs ended without a summary (exit $rc)"
else
    read -r _ p _ f _ <<<"$summary"
    MG_PASSED=$((MG_PASSED + p))
    MG_FAILED=$((MG_FAILED + f))
    if ((rc != 0 && f == 0)); then
        fail "portal.test.mjs exited with status $rc"
    fi
fi
expect_alive "the portal test"
mg_finish
