#!/usr/bin/env bash
# Runs the Electrum cross-check (check.py here) against `foaf node`. Electrum comes from Debian
# (`python3-electrum`, for the system python3); installed with apt-get when missing and when we
# may (root, or passwordless sudo), otherwise the script says what to install. Extra arguments go to check.py, e.g.
#   bash interop/electrum/run.sh -- --fault a01-wrong-direction   (must fail)
set -euo pipefail
cd "$(dirname "$0")/../.."
target=${CARGO_TARGET_DIR:-target}
py=/usr/bin/python3
if ! "$py" -c 'import electrum.lntransport, electrum.lnmsg' 2>/dev/null; then
    sudo=()
    [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null && sudo=(sudo -n)
    if ! command -v apt-get >/dev/null || { [[ $(id -u) -ne 0 ]] && [[ ${#sudo[@]} -eq 0 ]]; }; then
        echo "electrum-check: needs Debian's python3-electrum (apt-get install python3-electrum)" >&2
        exit 2
    fi
    echo "electrum-check: installing python3-electrum with apt-get" >&2
    timeout 300 "${sudo[@]}" apt-get update -qq
    timeout 300 "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-electrum >/dev/null
fi
cargo build --quiet -p foaf
timeout 120 "$py" interop/electrum/check.py --foaf "$target/debug/foaf" "$@"
