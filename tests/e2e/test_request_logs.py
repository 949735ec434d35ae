"""One request followed through the logs of ``nimbus up`` by its request id.

With ``NIMBUS_LOG_FORMAT=json`` the real command logs one JSON object a line;
a boot's id, the one its answer names in ``x-openstack-request-id``, is on
the API's access line (with the caller's user and project), on the
hypervisor worker's line for the request it handled and on the ingester's
line for the outcome it recorded (with the log position it wrote). An id an
Idempotency-Key gives, and that of a refused request, are logged as named."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.nimbus_process import NimbusUp
from tests.support.processes import descendants, state_folder, wait_until_gone
from tests.support.stack import auth_body, free_port

PASSWORD = "test-admin-password"
BOOT = {"server": {"name": "logged", "imageRef": "cirros-0.6.2-x86_64-disk", "flavorRef": "1"}}


@pytest.fixture
def state() -> Iterator[Path]:
    with state_folder("nimbus-logs-") as folder:
        yield folder


def records(lines: list[str]) -> list[dict[str, Any]]:
    """The log records among the lines ``nimbus up`` printed (the rest is its banner)."""
    return [json.loads(line) for line in lines if line.startswith("{")]


def access_line(up: NimbusUp, request_id: str) -> dict[str, Any]:
    """The API's access line of the request ``request_id``, printed or to come."""
    while True:
        found = [r for r in records(up.output)
                 if r["logger"] == "api.access" and r.get("request_id") == request_id]
        if found:
            return found[0]
        up.wait_for_line(request_id)


def test_a_boots_request_id_is_on_the_api_hypervisor_and_ingester_lines(
        state: Path, database_url: str, nats_url: str, subject_prefix: str) -> None:
    up = NimbusUp(state, free_port(), env={
        "NIMBUS_DATABASE_URL": database_url, "NIMBUS_NATS_URL": nats_url,
        "NIMBUS_SUBJECT_PREFIX": subject_prefix, "NIMBUS_ADMIN_PASSWORD": PASSWORD,
        "NIMBUS_LOG_FORMAT": "json", "NIMBUS_LOG_LEVEL": "info"})
    try:
        up.ready()
        base = f"http://127.0.0.1:{up.port}"
        r = httpx.post(f"{base}/identity/v3/auth/tokens",
                       json=auth_body("admin", PASSWORD, "admin"), timeout=10)
        assert r.status_code == 201, r.text
        token, token_id = r.json()["token"], r.headers["X-Subject-Token"]
        r = httpx.post(f"{base}/compute/v2.1/servers", json=BOOT, timeout=10,
                       headers={"X-Auth-Token": token_id})
        assert r.status_code == 202, r.text
        request_id = r.headers["x-openstack-request-id"]

        parts: dict[str, dict[str, Any]] = {}
        while not {"api", "ingester"} <= parts.keys() or not any(
                p.startswith("hypervisor-") for p in parts):
            line = up.wait_for_line(request_id)
            [record] = records([line])
            parts.setdefault(record["part"], record)

        access = parts["api"]
        assert (access["logger"], access["method"], access["path"], access["status"]) == (
            "api.access", "POST", "/compute/v2.1/servers", 202)
        assert (access["user_id"], access["project_id"]) == (
            token["user"]["id"], token["project"]["id"])
        assert isinstance(access["duration_ms"], float) and access["position"] > 0
        [host] = [record for part, record in parts.items() if part.startswith("hypervisor-")]
        assert host["logger"] == "workers.hypervisor.worker"
        assert 0 < host["position"] <= access["position"]  # the request the boot wrote
        assert "InstanceCreateRequested" in host["message"]
        recorded = parts["ingester"]
        assert recorded["logger"] == "commands.ingest"
        assert recorded["position"] > host["position"]  # the outcome it wrote
        assert all(r["request_id"] == request_id for r in parts.values())

        # an Idempotency-Key's id, and a refusal's, are logged as the answer names them
        r = httpx.post(f"{base}/compute/v2.1/servers", json=BOOT, timeout=10, headers={
            "X-Auth-Token": token_id, "Idempotency-Key": "boot-once"})
        assert r.status_code == 202 and r.headers["x-openstack-request-id"] != request_id
        keyed = access_line(up, r.headers["x-openstack-request-id"])
        assert (keyed["status"], keyed["user_id"]) == (202, token["user"]["id"])
        r = httpx.get(f"{base}/compute/v2.1/servers", timeout=10)
        assert r.status_code == 401
        refused = access_line(up, r.headers["x-openstack-request-id"])
        assert (refused["method"], refused["status"], "user_id" in refused) == ("GET", 401, False)

        started = descendants(up.process.pid)
        assert up.interrupt() == 0
        up.remaining_output()
        assert records(up.output)  # every line that is a log record parses as one
        assert wait_until_gone(list(started)) == []
    finally:
        up.kill()
