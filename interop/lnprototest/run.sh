#!/usr/bin/env bash
# Runs the BOLT #14 lnprototest scripts against `foaf node` (README.md here).
#   bash interop/lnprototest/run.sh [PYTEST ARGS]   the suite (pytest's closing line counts)
#   bash interop/lnprototest/run.sh --faults [ERE]  each fault of faults.txt (or those whose switch
#                                                   matches ERE) must make its test fail
# Installs the pinned lnprototest into its own venv under target/ (reused across runs; apart
# from examples/pyln-check's, which pins a newer pyln-proto) and builds the foaf binary.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${CARGO_TARGET_DIR:-target}
venv=${LNPROTOTEST_VENV:-$target/lnprototest-venv}
reqs=interop/lnprototest/requirements.txt
if ! cmp -s "$reqs" "$venv/requirements.txt" 2>/dev/null; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    timeout 300 "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps -r "$reqs"
    cp "$reqs" "$venv/requirements.txt"
fi
cargo build --quiet -p foaf
export FOAF_NODE
FOAF_NODE=$(cd "$target/debug" && pwd)/foaf
pytest=("$venv/bin/python" -m pytest interop/lnprototest -p no:cacheprovider)

if [[ "${1:-}" != "--faults" ]]; then
    exec timeout 600 "${pytest[@]}" "$@"
fi

# Fault mode. pytest's own output goes to a log (its "1 failed" lines are the expected result
# here, not a failure of the run); one line per fault is printed instead.
log=$target/lnprototest-faults.log
: > "$log"
only=${2:-.}
caught=0 missed=0 broken=0
while read -r switch test; do
    [[ -z "$switch" || "$switch" == \#* ]] && continue
    [[ "$switch" =~ $only ]] || continue
    # A faulty node often just stays silent: shorter read timeouts keep the run short.
    rc=0
    out=$(TIMEOUT=3 timeout 120 "${pytest[@]}" -q -k "$test" "--runner-args=$switch" 2>&1) || rc=$?
    printf '=== %s %s (exit %s)\n%s\n' "$switch" "$test" "$rc" "$out" >>"$log"
    # A failure of the set-up (the node did not start, a background peer did not connect) is
    # not the fault being caught.
    if [[ $rc -eq 1 ]] && grep -q "foaf node never logged\|foaf node exited before logging" <<<"$out"; then
        rc=3
    fi
    case $rc in
        1) echo "caught  $switch: $test fails"; caught=$((caught + 1)) ;;
        0) echo "MISSED  $switch: $test passed against the faulty node"; missed=$((missed + 1)) ;;
        *) echo "BROKEN  $switch: pytest exited $rc, or the set-up failed (see $log)"; broken=$((broken + 1)) ;;
    esac
done < interop/lnprototest/faults.txt
echo "lnprototest fault injection: $caught caught, $missed missed, $broken broken (pytest output: $log)"
[[ $missed -eq 0 && $broken -eq 0 && $caught -gt 0 ]]
