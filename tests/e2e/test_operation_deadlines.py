"""Operations whose host never answers end at their deadline, through the
whole stack: the ingester part's sweeper, the projector, the API.

compute2 has no hypervisor worker, as if it had died; compute1 is disabled,
so placement sends every boot to compute2. The cloud is set up first with
no deadline (the test answers compute2's spawn itself, as
tests/e2e/test_host_failures.py does), then started again with a deadline of
one second, under which compute2's silence ends each operation.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from messaging import nats as bus
from messaging.subjects import Subjects
from messaging.wire import HostOutcome
from tests.e2e.test_volumes_api import volumes_of, wait_for_volume
from tests.support.cloud import events_of
from tests.support.polling import eventually
from tests.support.stack import RunningStack, stack_running

C = "/compute/v2.1"
BOOT = {"server": {"name": "vm", "imageRef": "cirros-0.6.2-x86_64-disk", "flavorRef": "1"}}
SILENT = "no answer from host compute2 within 1 s"


async def answer_for_compute2(stack: RunningStack, server_id: str, request_id: str) -> int:
    """compute2's "done" for one request, as its worker would publish it; the
    outcome stream's sequence of the message."""
    outcome = HostOutcome(instance_id=server_id, request_id=request_id, host="compute2",
                          ok=True, at=datetime.now(UTC))
    nc = await bus.connect(stack.nats_url)
    try:
        published = await bus.publish(
            nc.jetstream(), Subjects(stack.settings.subject_prefix).outcome("compute2"),
            msgspec.json.encode(outcome), msg_id=f"{request_id}:{server_id}")
    finally:
        await nc.close()
    return published.seq


async def ingested(stack: RunningStack, seq: int) -> None:
    """Until the ingester has acked every outcome up to stream sequence ``seq``."""
    subjects = Subjects(stack.settings.subject_prefix)
    nc = await bus.connect(stack.nats_url)
    try:
        js = nc.jetstream()

        async def acked() -> bool:
            info = await js.consumer_info(subjects.outcomes_stream, "ingester")
            return info.ack_floor is not None and (info.ack_floor.stream_seq or 0) >= seq
        await eventually(acked, what=f"the ingester acking outcome {seq}")
    finally:
        await nc.close()


async def create_request(stack: RunningStack, server_id: str, action: str) -> str:
    actions = (await stack.http.get(f"{C}/servers/{server_id}/os-instance-actions")).json()
    return str(next(a["request_id"] for a in actions["instanceActions"]
                    if a["action"] == action))


async def action_of(stack: RunningStack, server_id: str, request_id: str) -> dict[str, Any]:
    r = await stack.http.get(f"{C}/servers/{server_id}/os-instance-actions/{request_id}")
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()["instanceAction"]
    return found


async def test_operations_compute2_never_answers_end_at_their_deadline(
        database_url: str, nats_url: str, subject_prefix: str, tmp_path: Path) -> None:
    # set up with no deadline: a server on compute2 (its spawn answered by the
    # test) and an available volume (storage1's worker runs)
    async with stack_running(database_url, nats_url, subject_prefix, tmp_path,
                             worker_hosts=["compute1"], operation_deadline_seconds=0) as stack:
        r = await stack.http.put(f"{C}/os-services/disable",
                                 json={"host": "compute1", "binary": "nova-compute"})
        assert r.status_code == 200, r.text
        server_id = (await stack.http.post(f"{C}/servers", json=BOOT)).json()["server"]["id"]
        await answer_for_compute2(stack, server_id, await create_request(stack, server_id,
                                                                         "create"))
        server = await stack.wait_for_status(server_id, "ACTIVE")
        volumes = volumes_of(server["tenant_id"])
        volume_id = (await stack.http.post(volumes, json={"volume": {"size": 1}})
                     ).json()["volume"]["id"]
        volume_url = f"{volumes}/{volume_id}"
        await wait_for_volume(stack.http, volume_url, "available", {})

    async with stack_running(database_url, nats_url, subject_prefix, tmp_path,
                             worker_hosts=["compute1"], operation_deadline_seconds=1) as stack:
        http = stack.http

        # a pause compute2 never answers: ACTIVE again, the pause failed
        r = await http.post(f"{C}/servers/{server_id}/action", json={"pause": None})
        assert r.status_code == 202, r.text
        pause = await create_request(stack, server_id, "pause")
        paused = await eventually(
            lambda: _finished(stack, server_id, pause), what="the pause ending")
        assert paused["events"][0]["result"] == "Error"
        shown = await stack.wait_for_status(server_id, "ACTIVE")
        assert shown["OS-EXT-STS:task_state"] is None

        # an attach storage1 exports and compute2 never adds: available again
        r = await http.post(f"{C}/servers/{server_id}/os-volume_attachments",
                            json={"volumeAttachment": {"volumeId": volume_id}})
        assert r.status_code == 200, r.text
        steps = await eventually(lambda: _attach_steps(database_url, volume_id),
                                 what="the attach ending")
        assert [type(e).__name__ for e in steps] == [
            "VolumeAttachRequested", "VolumeExported", "VolumeFailed"]
        assert getattr(steps[-1], "reason", None) == SILENT
        volume = await wait_for_volume(http, volume_url, "available", {})
        assert volume["attachments"] == []

        # a boot compute2 never answers: BUILD, then ERROR with the reason
        r = await http.post(f"{C}/servers", json=BOOT)
        assert r.status_code == 202, r.text
        doomed = r.json()["server"]["id"]
        failed = await stack.wait_for_status(doomed, "ERROR")
        assert failed["fault"]["message"] == SILENT
        assert failed["OS-EXT-STS:task_state"] is None
        requested, ended = events_of(database_url, doomed)  # nothing in between
        assert (requested.event_type, ended.event_type) == ("InstanceCreateRequested",
                                                            "InstanceOperationFailed")
        assert (ended.decode().at - requested.decode().at).total_seconds() >= 1  # not earlier

        # compute2's answer, once it comes after all, changes nothing
        before = events_of(database_url, doomed)
        seq = await answer_for_compute2(stack, doomed, await create_request(stack, doomed,
                                                                            "create"))
        await ingested(stack, seq)
        assert events_of(database_url, doomed) == before
        shown = (await http.get(f"{C}/servers/{doomed}")).json()["server"]
        assert (shown["status"], shown["fault"]["message"]) == ("ERROR", SILENT)


async def _finished(stack: RunningStack, server_id: str, request_id: str) -> dict[str, Any] | None:
    action = await action_of(stack, server_id, request_id)
    return action if action["events"] and action["events"][0]["finish_time"] else None



async def _attach_steps(database_url: str, volume_id: str) -> list[Any] | None:
    """The volume's last three events once the last one ended its attach."""
    steps = [e.decode() for e in events_of(database_url, volume_id)][-3:]
    return steps if type(steps[-1]).__name__ == "VolumeFailed" else None
