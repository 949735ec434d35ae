"""A host that refuses an operation: the instance goes to ERROR with Nova's
fault in ``show``, through the real outcome ingester, projector and API.

compute2 has no hypervisor worker here; the test answers for it, as a host
whose spawn failed would, with the outcome message the workers publish
(``messaging.wire.HostOutcome``). compute1 is disabled, so placement sends
the boot to compute2.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from messaging import nats as bus
from messaging.subjects import Subjects
from messaging.wire import HostOutcome
from tests.support.stack import RunningStack, stack_running

C = "/compute/v2.1"
REASON = "Build of instance aborted: the image could not be written to the host's disk"


@pytest.fixture
async def half_stack(database_url: str, nats_url: str, subject_prefix: str,
                     tmp_path: Path) -> AsyncIterator[RunningStack]:
    async with stack_running(database_url, nats_url, subject_prefix, tmp_path,
                             worker_hosts=["compute1"]) as running:
        yield running


async def report(stack: RunningStack, server_id: str, request_id: str, reason: str = "") -> None:
    """compute2's outcome of one request: done, or refused for ``reason``."""
    outcome = HostOutcome(instance_id=server_id, request_id=request_id, host="compute2",
                          ok=not reason, at=datetime.now(UTC), reason=reason)
    nc = await bus.connect(stack.nats_url)
    try:
        await bus.publish(nc.jetstream(), Subjects(stack.settings.subject_prefix).outcome(
            "compute2"), msgspec.json.encode(outcome), msg_id=f"{request_id}:{server_id}")
    finally:
        await nc.close()


async def test_a_spawn_the_host_refuses_leaves_the_server_in_error_with_its_fault(
        half_stack: RunningStack) -> None:
    http = half_stack.http
    r = await http.put(f"{C}/os-services/disable",
                       json={"host": "compute1", "binary": "nova-compute"})
    assert r.status_code == 200, r.text
    r = await http.post(f"{C}/servers", json={"server": {
        "name": "doomed", "imageRef": "cirros-0.6.2-x86_64-disk", "flavorRef": "1"}})
    assert r.status_code == 202, r.text
    server_id = r.json()["server"]["id"]
    shown = (await http.get(f"{C}/servers/{server_id}")).json()["server"]
    assert (shown["status"], shown["OS-EXT-SRV-ATTR:host"]) == ("BUILD", "compute2")
    actions = (await http.get(f"{C}/servers/{server_id}/os-instance-actions")).json()
    create = actions["instanceActions"][0]
    assert create["action"] == "create"

    await report(half_stack, server_id, create["request_id"], reason=REASON)

    server = await half_stack.wait_for_status(server_id, "ERROR")
    assert server["OS-EXT-STS:task_state"] is None
    assert server["fault"]["code"] == 500 and server["fault"]["message"] == REASON
    detail = (await http.get(
        f"{C}/servers/{server_id}/os-instance-actions/{create['request_id']}")).json()
    assert detail["instanceAction"]["events"][0]["result"] == "Error"

    r = await http.post(f"{C}/servers/{server_id}/action", json={"pause": None})
    assert r.status_code == 409  # an ERROR instance takes no ordinary action
    r = await http.post(f"{C}/servers/{server_id}/action", json={"forceDelete": None})
    assert r.status_code == 202, r.text
    actions = (await http.get(f"{C}/servers/{server_id}/os-instance-actions")).json()
    delete = actions["instanceActions"][0]
    assert delete["action"] == "delete"
    await report(half_stack, server_id, delete["request_id"])
    await half_stack.wait_until_gone(server_id)
