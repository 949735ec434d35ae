"""One instance's life over HTTP, with the whole stack running on real parts.

The refused requests share the module's stack (tests/support/shared.py): they
write nothing, and each compares the log head before and after itself."""

from __future__ import annotations

import json

import httpx
import psycopg
import pytest

from projections.log import head
from tests.support.shared import SHARED
from tests.support.stack import RunningStack, auth_body

BOOT = {"server": {"name": "vm1", "imageRef": "cirros-0.6.2-x86_64-disk", "flavorRef": "1"}}


def log_head(stack: RunningStack) -> int:
    with psycopg.connect(stack.database_url) as conn:
        return head(conn)


async def guest_state(stack: RunningStack, server_id: str, host: str) -> str | None:
    return next((g["state"] for g in await stack.guests(host)
                 if g["instance_id"] == server_id), None)


async def test_a_server_boots_pauses_unpauses_and_is_deleted(running_stack: RunningStack) -> None:
    http = running_stack.http
    r = await http.post("/compute/v2.1/servers", json=BOOT)
    assert r.status_code == 202, r.text
    server_id = r.json()["server"]["id"]
    assert int(r.headers["Nimbus-Log-Position"]) >= 1

    server = await running_stack.wait_for_status(server_id, "ACTIVE")
    host = server["OS-EXT-SRV-ATTR:host"]
    assert host in ("compute1", "compute2")
    assert server["OS-EXT-STS:power_state"] == 1
    assert await guest_state(running_stack, server_id, host) == "running"

    r = await http.post(f"/compute/v2.1/servers/{server_id}/action", json={"pause": None})
    assert r.status_code == 202
    await running_stack.wait_for_status(server_id, "PAUSED")
    assert await guest_state(running_stack, server_id, host) == "paused"

    r = await http.post(f"/compute/v2.1/servers/{server_id}/action", json={"unpause": None})
    assert r.status_code == 202
    await running_stack.wait_for_status(server_id, "ACTIVE")
    assert await guest_state(running_stack, server_id, host) == "running"

    listed = (await http.get("/compute/v2.1/servers")).json()["servers"]
    assert [s["id"] for s in listed] == [server_id]

    r = await http.delete(f"/compute/v2.1/servers/{server_id}")
    assert r.status_code == 204
    await running_stack.wait_until_gone(server_id)
    assert (await http.get("/compute/v2.1/servers/detail")).json()["servers"] == []
    assert await guest_state(running_stack, server_id, host) is None

    at_21 = {"OpenStack-API-Version": "compute 2.21"}  # a deleted server's actions: 2.21
    r = await http.get(f"/compute/v2.1/servers/{server_id}/os-instance-actions", headers=at_21)
    actions = r.json()["instanceActions"]
    assert [a["action"] for a in actions] == ["delete", "unpause", "pause", "create"]
    for action in actions:
        r = await http.get(
            f"/compute/v2.1/servers/{server_id}/os-instance-actions/{action['request_id']}",
            headers=at_21)
        (event,) = r.json()["instanceAction"]["events"]
        assert event["result"] == "Success" and event["finish_time"] is not None


@SHARED
@pytest.mark.parametrize(
    ("body", "status", "named"),
    [
        ({"server": {**BOOT["server"], "flavorRef": "m9.huge"}}, 400, "Flavor m9.huge"),
        ({"server": {**BOOT["server"], "imageRef": "no-such-image"}}, 400, "no-such-image"),
        ({"server": {"imageRef": "x", "flavorRef": "1"}}, 400, "name"),
        ({"server": {**BOOT["server"], "name": ""}}, 400, "name"),
        ({"server": {**BOOT["server"], "flavorRef": None}}, 400, "flavorRef"),
        ({"srv": {}}, 400, "server"),
    ],
)
async def test_a_bad_boot_request_is_refused_naming_the_problem_and_writes_nothing(
    module_stack: RunningStack, body: dict[str, object], status: int, named: str
) -> None:
    before = log_head(module_stack)
    r = await module_stack.http.post("/compute/v2.1/servers", json=body)
    assert r.status_code == status
    assert named in r.json()["badRequest"]["message"]
    assert log_head(module_stack) == before


@SHARED
async def test_malformed_json_is_a_400_and_writes_nothing(module_stack: RunningStack) -> None:
    before = log_head(module_stack)
    r = await module_stack.http.post("/compute/v2.1/servers", content=b"{not json",
                                      headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "Malformed" in r.json()["badRequest"]["message"]
    assert log_head(module_stack) == before


@SHARED
async def test_requests_without_a_valid_token_are_401(module_stack: RunningStack) -> None:
    base = module_stack.settings.base_url
    before = log_head(module_stack)
    async with httpx.AsyncClient(base_url=base) as anonymous:
        assert (await anonymous.get("/compute/v2.1/servers")).status_code == 401
        r = await anonymous.post("/compute/v2.1/servers", json=BOOT,
                                 headers={"X-Auth-Token": "forged.token"})
        assert r.status_code == 401 and "authentication" in r.json()["error"]["message"]
        r = await anonymous.post("/identity/v3/auth/tokens",
                                 json=auth_body("admin", "wrong", "admin"))
        assert r.status_code == 401
    assert log_head(module_stack) == before


@SHARED
async def test_an_unknown_server_is_404(module_stack: RunningStack) -> None:
    http = module_stack.http
    before = log_head(module_stack)
    missing = "00000000-0000-0000-0000-000000000001"
    assert (await http.get(f"/compute/v2.1/servers/{missing}")).status_code == 404
    r = await http.post(f"/compute/v2.1/servers/{missing}/action", json={"pause": None})
    assert r.status_code == 404 and missing in r.json()["itemNotFound"]["message"]
    assert (await http.delete("/compute/v2.1/servers/not-a-uuid")).status_code == 404
    assert log_head(module_stack) == before


async def test_pausing_a_paused_server_is_409_in_novas_words(running_stack: RunningStack) -> None:
    http = running_stack.http
    server_id = (await http.post("/compute/v2.1/servers", json=BOOT)).json()["server"]["id"]
    await running_stack.wait_for_status(server_id, "ACTIVE")
    await http.post(f"/compute/v2.1/servers/{server_id}/action", json={"pause": None})
    await running_stack.wait_for_status(server_id, "PAUSED")
    before = log_head(running_stack)
    r = await http.post(f"/compute/v2.1/servers/{server_id}/action", json={"pause": None})
    assert r.status_code == 409
    assert r.json()["conflictingRequest"]["message"] == (
        f"Cannot 'pause' instance {server_id} while it is in vm_state paused")
    r = await http.post(f"/compute/v2.1/servers/{server_id}/action", json={"reboot2": {}})
    assert r.status_code == 400 and "reboot2" in r.json()["badRequest"]["message"]
    assert log_head(running_stack) == before


async def test_a_retried_request_with_the_same_idempotency_key_is_accepted_once(
    running_stack: RunningStack,
) -> None:
    http = running_stack.http
    key = {"Idempotency-Key": "boot-vm1-once"}
    first = await http.post("/compute/v2.1/servers", json=BOOT, headers=key)
    again = await http.post("/compute/v2.1/servers", json=BOOT, headers=key)
    assert first.status_code == again.status_code == 202
    assert first.json()["server"]["id"] == again.json()["server"]["id"]
    assert "Nimbus-Log-Position" not in again.headers
    with psycopg.connect(running_stack.database_url) as conn:
        boots = conn.execute("SELECT count(*) FROM nimbus_events"
                             " WHERE topic LIKE '%InstanceCreateRequested'").fetchone()
    assert boots == (1,)


def stream_frames(text: str) -> list[tuple[int, str]]:
    """(id, event type) of each Server-Sent Event frame, in the order sent."""
    frames = []
    for frame in filter(None, text.split("\n\n")):
        id_line, event_line = frame.splitlines()[:2]
        frames.append((int(id_line.removeprefix("id: ")), event_line.removeprefix("event: ")))
    return frames


async def test_the_event_stream_shows_a_users_password_hash_as_hidden(
    running_stack: RunningStack,
) -> None:
    http = running_stack.http
    r = await http.post("/identity/v3/users", json={"user": {"name": "carol",
                                                             "password": "carol-pw"}})
    assert r.status_code == 201, r.text
    r = await http.get("/events/stream", params={"follow": "false"})
    datas = [json.loads(frame.splitlines()[2].removeprefix("data: "))
             for frame in filter(None, r.text.split("\n\n"))]
    users = {d["event"]["name"]: d["event"] for d in datas if d["type"] == "UserCreated"}
    assert {"admin", "carol"} <= set(users)
    assert {u["password_hash"] for u in users.values()} == {"(hidden)"}


async def test_the_event_stream_sends_every_event_and_resumes_after_the_last_id(
    running_stack: RunningStack,
) -> None:
    http = running_stack.http
    before = log_head(running_stack)
    server_id = (await http.post("/compute/v2.1/servers", json=BOOT)).json()["server"]["id"]
    await running_stack.wait_for_status(server_id, "ACTIVE")
    r = await http.get("/events/stream", params={"follow": "false"})
    everything = stream_frames(r.text)
    assert [i for i, _ in everything] == list(range(1, log_head(running_stack) + 1))
    booted = [(i, kind) for i, kind in everything if i > before and kind.startswith("Instance")]
    assert [kind for _, kind in booted] == ["InstanceCreateRequested", "InstanceSpawned"]
    created_at = booted[0][0]
    r = await http.get("/events/stream", params={"follow": "false"},
                       headers={"Last-Event-ID": str(created_at)})
    assert stream_frames(r.text) == [f for f in everything if f[0] > created_at]
