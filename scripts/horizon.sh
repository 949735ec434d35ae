#!/usr/bin/env bash
# Horizon, OpenStack's dashboard, unchanged, against nimbus: installs
# horizon 27 into its own virtualenv, starts `nimbus up` on a private state
# dir and port, runs Horizon's development server against nimbus's Keystone
# (settings: scripts/horizon/local_settings.py), and walks its pages and
# actions in headless Chromium (scripts/horizon/walk.py), one line per step,
# screenshots in docs/horizon/. Not part of `make test`: it takes minutes.
#
#   scripts/horizon.sh              # the walk; exits non-zero if a step failed
#   scripts/horizon.sh --serve      # no walk: leaves both running until Ctrl-C
#
# NIMBUS_HORIZON_VENV (default .horizon-venv), NIMBUS_HORIZON_DIR (default
# /tmp/nimbus-horizon: state dir and logs), NIMBUS_HORIZON_PORT (nimbus's API,
# default 18874; Horizon is on PORT+6) and NIMBUS_HORIZON_SHOTS (default
# docs/horizon) change where.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh >/dev/null

venv=$(realpath -m "${NIMBUS_HORIZON_VENV:-.horizon-venv}")
top=${NIMBUS_HORIZON_DIR:-/tmp/nimbus-horizon}
port=${NIMBUS_HORIZON_PORT:-18874}
horizon_port=$((port + 6))
shots=${NIMBUS_HORIZON_SHOTS:-docs/horizon}
base_url=http://127.0.0.1:$port
horizon_url=http://127.0.0.1:$horizon_port
password=horizon-admin-pw

if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import openstack_dashboard' 2>/dev/null; then
    echo "horizon.sh: installing horizon 27 into $venv"
    python3.11 -m venv "$venv"
    "$venv/bin/pip" install -q 'horizon==27.*' 2>&1 | { grep -v 'is ignored: it is neither' || true; }
fi
dashboard=$("$venv/bin/python" -c 'import os, openstack_dashboard as d; print(os.path.dirname(d.__file__))')
cp scripts/horizon/local_settings.py "$dashboard/local/local_settings.py"

rm -rf "$top" && mkdir -p "$top/state" "$top/logs" "$top/horizon"
echo "horizon.sh: starting nimbus up on $base_url (log: $top/logs/nimbus.log)"
NIMBUS_STATE_DIR=$top/state NIMBUS_API_PORT=$port NIMBUS_METADATA_PORT=$((port + 1)) \
    NIMBUS_ADMIN_PASSWORD=$password NIMBUS_NETWORK_DRIVER=recorded \
    NIMBUS_SUBJECT_PREFIX=horizon${port} NIMBUS_LOG_LEVEL=info \
    setsid .venv/bin/nimbus up >"$top/logs/nimbus.log" 2>&1 &
nimbus=$!
horizon=
stop() {
    [[ -n $horizon ]] && { kill -TERM -- "-$horizon" 2>/dev/null || true; wait "$horizon" 2>/dev/null || true; }
    kill -TERM -- "-$nimbus" 2>/dev/null || true; wait "$nimbus" 2>/dev/null || true
}
trap stop EXIT

answers() { curl -s -o /dev/null --max-time "${2:-2}" "$1"; }
for _ in $(seq 120); do answers "$base_url/identity/v3" && break; sleep 1; done
answers "$base_url/identity/v3" || { echo "horizon.sh: nimbus did not answer"; tail "$top/logs/nimbus.log"; exit 1; }

echo "horizon.sh: starting Horizon on $horizon_url (log: $top/logs/horizon.log)"
(cd "$top/horizon" && NIMBUS_HORIZON_RUN_DIR=$top/horizon \
    NIMBUS_HORIZON_KEYSTONE_URL=$base_url/identity/v3 \
    DJANGO_SETTINGS_MODULE=openstack_dashboard.settings \
    exec setsid "$venv/bin/python" -m django runserver --noreload "127.0.0.1:$horizon_port") \
    >"$top/logs/horizon.log" 2>&1 &
horizon=$!
for _ in $(seq 120); do answers "$horizon_url/auth/login/" 120 && break; sleep 1; done
answers "$horizon_url/auth/login/" 120 || { echo "horizon.sh: Horizon did not answer"; tail "$top/logs/horizon.log"; exit 1; }

if [[ ${1:-} == --serve ]]; then
    echo "horizon.sh: log in at $horizon_url as admin / $password; Ctrl-C stops both"
    wait "$horizon"
    exit 0
fi
status=0
.venv/bin/python scripts/horizon/walk.py "$horizon_url" "$password" "$shots" || status=$?
echo "horizon.sh: nimbus answered 4xx/5xx to:"
grep -E 'api.access .* [45][0-9][0-9] [0-9.]+ ms$' "$top/logs/nimbus.log" \
    | sed -E 's/.*\] //; s/ [0-9.]+ ms$//; s/[0-9a-f]{32}|[0-9a-f-]{36}/{id}/g' \
    | sort | uniq -c | sort -rn | head -40 || true
exit $status
