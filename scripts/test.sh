#!/usr/bin/env bash
# test.sh - build meshgate and run the whole test suite (unit + integration).
#
#   scripts/test.sh [--sanitize] [--valgrind] [-j N] [-- CTEST ARGS...]
#
#   (no flag)    setup.sh --test, build ./build (RelWithDebInfo), ctest -j2
#   --sanitize   also build ./build-asan with ASan+UBSan (-DMESHGATE_SANITIZE=ON)
#                and run the whole suite there
#   --valgrind   also run the integration tests with the server under valgrind
#                (MESHGATE_WRAPPER, honoured by tests/integration/lib.sh)
#   -j N         parallel tests (default 2)
#   -- ARGS      passed to every ctest run, e.g. -- -R litmus
#
# Ends with one line "N passed, N failed" over all runs; exits non-zero on any
# failure, on a build failure, or when no test ran.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SANITIZE=0
VALGRIND=0
JOBS=2
CTEST_EXTRA=()
while (($#)); do
    case "$1" in
    --sanitize) SANITIZE=1 ;;
    --valgrind) VALGRIND=1 ;;
    -j)
        JOBS=${2:?-j wants a number}
        shift
        ;;
    -j*) JOBS=${1#-j} ;;
    --)
        shift
        CTEST_EXTRA=("$@")
        break
        ;;
    -h | --help)
        awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
        exit 0
        ;;
    *)
        echo "test.sh: unknown option $1 (see --help)" >&2
        exit 2
        ;;
    esac
    shift
done

TOTAL_PASSED=0
TOTAL_FAILED=0
RUNS=()
LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/meshgate-test.XXXXXX")
trap 'rm -rf "$LOGDIR"' EXIT

finish() {
    echo
    echo "== summary"
    local r
    for r in "${RUNS[@]}"; do echo "  $r"; done
    echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
    if ((TOTAL_FAILED > 0 || TOTAL_PASSED == 0)); then
        exit 1
    fi
    exit 0
}

# build DIR CMAKE_ARGS...: configures and builds; a failure counts as one failed test.
build() {
    local dir=$1
    shift
    echo "== configure and build $dir ($*)"
    local t0=$SECONDS
    if ! cmake -S . -B "$dir" "$@" >"$LOGDIR/configure.log" 2>&1; then
        cat "$LOGDIR/configure.log"
        echo "test.sh: cmake configure of $dir failed"
        return 1
    fi
    if ! cmake --build "$dir" -j"$JOBS" >"$LOGDIR/build.log" 2>&1; then
        # the log of a parallel build interleaves; show its errors first
        grep -E 'error|Error' "$LOGDIR/build.log" | head -40 || true
        echo "---- end of build log ----"
        tail -n 40 "$LOGDIR/build.log"
        echo "test.sh: build of $dir failed"
        return 1
    fi
    echo "   built in $((SECONDS - t0)) s"
}

# run_ctest LABEL DIR [CTEST ARGS...]: runs ctest, adds its counts to the totals.
run_ctest() {
    local label=$1 dir=$2
    shift 2
    local log="$LOGDIR/ctest-$label.log" t0=$SECONDS rc=0
    echo "== ctest: $label"
    ctest --test-dir "$dir" -j"$JOBS" --output-on-failure "$@" "${CTEST_EXTRA[@]}" 2>&1 |
        tee "$log" || rc=$?
    local line total failed
    # "100% tests passed, 0 tests failed out of 12"
    line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
    if [[ -z "$line" ]]; then
        echo "test.sh: ctest ($label) ran no test or printed no summary (exit $rc)"
        TOTAL_FAILED=$((TOTAL_FAILED + 1))
        RUNS+=("$label: no tests ran (exit $rc)")
        return 0
    fi
    failed=$(sed -E 's/.* ([0-9]+) tests? failed.*/\1/' <<<"$line")
    total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
    TOTAL_PASSED=$((TOTAL_PASSED + total - failed))
    TOTAL_FAILED=$((TOTAL_FAILED + failed))
    RUNS+=("$label: $((total - failed)) passed, $failed failed ($((SECONDS - t0)) s)")
    if ((rc != 0 && failed == 0)); then
        echo "test.sh: ctest ($label) exited $rc with no failed test"
        TOTAL_FAILED=$((TOTAL_FAILED + 1))
    fi
}

bash scripts/setup.sh --test

if build build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMESHGATE_SANITIZE=OFF -DMESHGATE_WERROR=ON; then
    run_ctest default build
    if ((VALGRIND)); then
        MESHGATE_WRAPPER="valgrind --leak-check=full --error-exitcode=99 --errors-for-leak-kinds=definite --quiet" \
            run_ctest valgrind build -R '^integration_'
    fi
else
    TOTAL_FAILED=$((TOTAL_FAILED + 1))
    RUNS+=("default: build failed")
fi

if ((SANITIZE)); then
    if build build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMESHGATE_SANITIZE=ON -DMESHGATE_WERROR=ON; then
        # leaks and UB fail the test that hit them (the server's exit status is checked)
        ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1} \
            UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
            run_ctest sanitize build-asan
    else
        TOTAL_FAILED=$((TOTAL_FAILED + 1))
        RUNS+=("sanitize: build failed")
    fi
fi

finish
