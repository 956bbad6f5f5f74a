#!/usr/bin/env bash
# Runs the pyln-proto cross-check against `foaf node` (see check.py and README.md here).
# Installs the pinned pyln-proto into a venv under target/ (reused across runs), builds the
# foaf binary, and runs the check twice: default types 347/349 and custom-range types.
# Every step is bounded by a timeout.
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${CARGO_TARGET_DIR:-target}
venv=${PYLN_VENV:-$target/pyln-venv}
if ! "$venv/bin/python" -c 'import pyln.proto.wire' 2>/dev/null; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    timeout 300 "$venv/bin/pip" install --quiet --disable-pip-version-check \
        -r examples/pyln-check/requirements.txt
fi
cargo build --quiet -p foaf
timeout 120 "$venv/bin/python" examples/pyln-check/check.py --foaf "$target/debug/foaf"
timeout 120 "$venv/bin/python" examples/pyln-check/check.py --foaf "$target/debug/foaf" --types 33115,33117
