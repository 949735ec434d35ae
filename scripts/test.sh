#!/usr/bin/env bash
# Install, make sure the test servers are there, then lint, type-check and run
# the whole suite. Exits non-zero if any step fails (or no test was collected).
#
# PostgreSQL on 127.0.0.1:5432 and NATS on 127.0.0.1:4222 are started from the
# system packages when installed and not answering; otherwise the test
# fixtures fall back to nimbus's embedded servers (tests/conftest.py).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install.sh

postgres_answers() {
    if command -v pg_isready >/dev/null; then
        pg_isready -q -h 127.0.0.1 -p 5432 -t 2
    else
        timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/5432' 2>/dev/null
    fi
}

nats_answers() {
    local greeting
    greeting=$(timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/4222 && head -c 4 <&3' 2>/dev/null) || return 1
    [[ $greeting == INFO ]]
}

if ! postgres_answers && command -v pg_ctlcluster >/dev/null && [[ -d /etc/postgresql ]]; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    if [[ -n $version ]]; then
        echo "test.sh: starting PostgreSQL $version/main"
        pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    fi
fi

if ! nats_answers && [[ -x /usr/sbin/nats-server ]]; then
    echo "test.sh: starting nats-server on 127.0.0.1:4222"
    mkdir -p /var/lib/nats-server
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
        -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log || true
    for _ in $(seq 50); do nats_answers && break; sleep 0.1; done
fi

postgres_answers || echo "test.sh: no PostgreSQL on 127.0.0.1:5432; tests use the embedded one"
nats_answers || echo "test.sh: no NATS on 127.0.0.1:4222; tests use the embedded one"

failed=()
echo "== ruff"
.venv/bin/ruff check . || failed+=(ruff)
echo "== mypy"
.venv/bin/mypy || failed+=(mypy)
echo "== pytest"
status=0
# Three workers on two cores: most tests wait on servers and subprocesses.
.venv/bin/pytest -q -n "${NIMBUS_TEST_WORKERS:-3}" || status=$?
if ((status == 5)); then
    echo "test.sh: pytest collected no tests" >&2
fi
((status == 0)) || failed+=(pytest)

if ((${#failed[@]})); then
    echo "test.sh: FAILED: ${failed[*]}" >&2
    exit 1
fi
echo "test.sh: all green"
