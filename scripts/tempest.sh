#!/usr/bin/env bash
# OpenStack's own integration suite against nimbus: installs tempest into its
# own virtualenv, starts `nimbus up` on a private state dir and port, writes
# tempest.conf from scripts/tempest/tempest.conf.in, runs the API tests of
# compute, image, volume and identity at concurrency 2 (minus
# scripts/tempest/exclude.txt), and prints "P passed, F failed, S skipped",
# in all and per area. Not part of `make test`: it takes a while.
#
#   scripts/tempest.sh [REGEX]      # default: the four areas' API tests
#
# NIMBUS_TEMPEST_VENV (default .tempest-venv), NIMBUS_TEMPEST_DIR (default
# /tmp/nimbus-tempest: state dir, workspace and logs), NIMBUS_TEMPEST_PORT
# (default 18774) and NIMBUS_TEMPEST_CONCURRENCY (default 2) change where and how.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh >/dev/null

venv=$(realpath -m "${NIMBUS_TEMPEST_VENV:-.tempest-venv}")
top=${NIMBUS_TEMPEST_DIR:-/tmp/nimbus-tempest}
port=${NIMBUS_TEMPEST_PORT:-18774}
concurrency=${NIMBUS_TEMPEST_CONCURRENCY:-2}
regex=${1:-'^tempest\.api\.(compute|image|volume|identity)\.'}
base_url=http://127.0.0.1:$port
password=tempest-admin-pw

if [[ ! -x $venv/bin/tempest ]]; then
    echo "tempest.sh: installing tempest into $venv"
    python3.11 -m venv "$venv"
    "$venv/bin/pip" install -q 'tempest==47.0.0'
fi

rm -rf "$top" && mkdir -p "$top/state" "$top/logs"
echo "tempest.sh: starting nimbus up on $base_url (log: $top/logs/nimbus.log)"
NIMBUS_STATE_DIR=$top/state NIMBUS_API_PORT=$port NIMBUS_METADATA_PORT=$((port + 1)) \
    NIMBUS_ADMIN_PASSWORD=$password NIMBUS_NETWORK_DRIVER=recorded \
    NIMBUS_SUBJECT_PREFIX=tempest${port} \
    setsid .venv/bin/nimbus up >"$top/logs/nimbus.log" 2>&1 &
nimbus=$!
stop() { kill -TERM -- "-$nimbus" 2>/dev/null || true; wait "$nimbus" 2>/dev/null || true; }
trap stop EXIT
here=$PWD
"$venv/bin/tempest" workspace remove --name nimbus-conformance >/dev/null 2>&1 || true
"$venv/bin/tempest" init --name nimbus-conformance "$top/workspace" >/dev/null
.venv/bin/python scripts/tempest/prepare.py "$base_url" "$password" \
    scripts/tempest/tempest.conf.in "$top/workspace/etc/tempest.conf" "$top/workspace"
cd "$top/workspace"
"$venv/bin/tempest" run --list-tests --regex "$regex" \
    --exclude-list "$here/scripts/tempest/exclude.txt" > "$top/logs/in-scope.txt"
echo "tempest.sh: running $(grep -c '^tempest\.' "$top/logs/in-scope.txt") tests ($regex)" \
    "at concurrency $concurrency"
"$venv/bin/tempest" run --regex "$regex" \
    --exclude-list "$here/scripts/tempest/exclude.txt" --concurrency "$concurrency" \
    >"$top/logs/tempest.log" 2>&1 || true
"$venv/bin/stestr" last --subunit > "$top/logs/results.subunit"
"$venv/bin/python" "$here/scripts/tempest/summary.py" "$top/logs/results.subunit" \
    "$top/logs/in-scope.txt" "$top/logs/nimbus.log"
