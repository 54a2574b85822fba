#!/usr/bin/env bash
# test_litmus.sh - the litmus WebDAV compliance suites (RFC 4918) against
# /dav/files/alice/: basic copymove props locks http.
#
# litmus exits 0 even when it skipped tests, and stops at the first suite that
# fails, so each suite runs on its own and its summary lines are read:
#   "<- summary for `props': of 30 tests run: 30 passed, 0 failed. 100.0%"
#   "-> 3 tests were skipped."
# Every failed and every skipped test counts as a failure here. Warnings do not.
#
#   bash tests/integration/test_litmus.sh /path/to/meshgate
source "$(dirname "$0")/lib.sh"
mg_init "$@"
require_cmd litmus
mg_add_standard_users
mg_start

SUITES=${LITMUS_SUITES:-basic copymove props locks http}
URL="$MG_BASE/dav/files/alice/"
table=()

for suite in $SUITES; do
    dir="$MG_TMP/litmus-$suite"
    mkdir -p "$dir"
    out="$dir/output.txt"
    start=$(now_ms)
    # litmus writes debug.log and child.log into its working directory
    (cd "$dir" && TESTS="$suite" timeout 300 litmus "$URL" alice "$ALICE_PW") >"$out" 2>&1 &&
        rc=0 || rc=$?
    ms=$(($(now_ms) - start))
    if ((rc == 124)); then
        fail "litmus $suite: timed out after 300 s"
    fi

    summary=$(grep -E "^<- summary for \`$suite'" "$out" | tail -n 1 || true)
    if [[ -z "$summary" ]]; then
        fail "litmus $suite: no summary line (exit $rc); output: $(tail -n 5 "$out" | tr '\n' ' ')"
        table+=("$(printf '%-10s %s' "$suite" "no summary (exit $rc)")")
        continue
    fi
    # "<- summary for `basic': of 16 tests run: 15 passed, 1 failed. 93.8%"
    run=$(sed -E 's/.* of ([0-9]+) tests? run.*/\1/' <<<"$summary")
    npass=$(sed -E 's/.*: ([0-9]+) passed.*/\1/' <<<"$summary")
    nfail=$(sed -E 's/.*, ([0-9]+) failed.*/\1/' <<<"$summary")
    nskip=$(grep -E '^-> [0-9]+ tests? (was|were) skipped' "$out" | sed -E 's/^-> ([0-9]+).*/\1/' | tail -n 1 || true)
    nskip=${nskip:-0}
    nwarn=$(grep -E '^-> [0-9]+ warnings? (was|were) issued' "$out" | sed -E 's/^-> ([0-9]+).*/\1/' | tail -n 1 || true)
    nwarn=${nwarn:-0}

    MG_PASSED=$((MG_PASSED + npass))
    # Each FAIL/SKIPPED line names the test: " 6. propset... FAIL (reason)".
    # Without a terminal litmus prints the test name twice; keep the last copy.
    listed_fail=0
    listed_skip=0
    while IFS= read -r line; do
        [[ -n "$line" ]] || continue
        clean=$(tr -d '\r' <<<"$line" |
            sed -E 's/^.*(^|[^0-9])([0-9]+\. [A-Za-z0-9_]+)\.* (FAIL|SKIPPED)/\2 \3/; s/^[ .]+//')
        if [[ "$line" == *SKIPPED* ]]; then
            listed_skip=$((listed_skip + 1))
            fail "litmus $suite: skipped: $clean"
        else
            listed_fail=$((listed_fail + 1))
            fail "litmus $suite: $clean"
        fi
    done < <(grep -E '(FAIL|SKIPPED)' "$out" | grep -vE '^(<-|->)' || true)
    # counts the line parser missed (a changed output format) still fail the script
    if ((nfail > listed_fail)); then
        fail "litmus $suite: $((nfail - listed_fail)) more failed test(s), see $out"
    fi
    if ((nskip > listed_skip)); then
        fail "litmus $suite: $((nskip - listed_skip)) more skipped test(s), see $out"
    fi
    if ((rc != 0 && nfail == 0 && rc != 124)); then
        fail "litmus $suite: exit status $rc with no failed test"
    fi
    table+=("$(printf '%-10s %3s run %3s passed %3s failed %3s skipped %3s warnings %6s ms' \
        "$suite" "$run" "$npass" "$nfail" "$nskip" "$nwarn" "$ms")")
done

echo "litmus summary ($URL):"
for row in "${table[@]}"; do
    echo "  $row"
done

expect_alive "litmus suites"
mg_finish
