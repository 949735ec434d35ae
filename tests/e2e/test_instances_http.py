"""Instances over HTTP beyond the spine, with the whole stack on real parts:
boot options, every action, rename, metadata, console, lists and the action log.

Tests about one server of their own share the module's stack
(tests/support/shared.py); those that list every server or count the log's
writes have a stack of their own."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg

from projections.log import head
from tests.support.polling import eventually
from tests.support.shared import SHARED
from tests.support.stack import RunningStack

IMAGE, FLAVOR = "cirros-0.6.2-x86_64-disk", "1"
S = "/compute/v2.1/servers"
AT_2_9 = {"OpenStack-API-Version": "compute 2.9"}  # a server shows "locked" from 2.9


def boot_body(name: str = "vm", **extra: Any) -> dict[str, Any]:
    return {"server": {"name": name, "imageRef": IMAGE, "flavorRef": FLAVOR, **extra}}


def log_head(stack: RunningStack) -> int:
    with psycopg.connect(stack.database_url) as conn:
        return head(conn)


async def boot(stack: RunningStack, name: str = "vm", **extra: Any) -> str:
    r = await stack.http.post(S, json=boot_body(name, **extra))
    assert r.status_code == 202, r.text
    server_id: str = r.json()["server"]["id"]
    await stack.wait_for_status(server_id, "ACTIVE")
    return server_id


async def act(http: httpx.AsyncClient, server_id: str, body: dict[str, Any]) -> httpx.Response:
    return await http.post(f"{S}/{server_id}/action", json=body)


async def settled(stack: RunningStack, server_id: str, status: str,
                  after: httpx.Response) -> dict[str, Any]:
    """The server once it shows ``status`` with no task, reading after ``after``'s events."""
    position = {"Nimbus-Log-Position": after.headers["Nimbus-Log-Position"]}

    async def reached() -> dict[str, Any] | None:
        r = await stack.http.get(f"{S}/{server_id}", headers=position)
        server: dict[str, Any] = r.json()["server"]
        if server["status"] == status and server["OS-EXT-STS:task_state"] is None:
            return server
        return None
    return await eventually(reached, what=f"{server_id} settling in {status}")


async def guest_state(stack: RunningStack, server: dict[str, Any]) -> str | None:
    guests = await stack.guests(server["OS-EXT-SRV-ATTR:host"])
    return next((g["state"] for g in guests if g["instance_id"] == server["id"]), None)


@SHARED
async def test_a_boot_keeps_metadata_user_data_and_zone_and_accepts_what_osc_sends(
        module_stack: RunningStack) -> None:
    server_id = await boot(
        module_stack, metadata={"role": "web"}, availability_zone="nova",
        user_data=base64.b64encode(b"#cloud-config\n").decode(), networks="auto",
        block_device_mapping_v2=[{"uuid": IMAGE, "boot_index": 0, "source_type": "image",
                                  "destination_type": "local", "delete_on_termination": True}],
        security_groups=[{"name": "default"}])
    server = (await module_stack.http.get(f"{S}/{server_id}", headers=AT_2_9)).json()["server"]
    assert server["metadata"] == {"role": "web"}
    assert server["OS-EXT-AZ:availability_zone"] == "nova"
    assert (server["key_name"], server["locked"]) == (None, False)


async def test_bad_boots_are_refused_with_a_reason_and_write_nothing(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    before = log_head(running_stack)
    refused = [
        (boot_body(user_data="not base64!"), 400, "user_data"),
        (boot_body(user_data=base64.b64encode(b"x" * 65536).decode()), 400, "user_data"),
        (boot_body(availability_zone="mars"), 400, "availability zone"),
        (boot_body(metadata={f"k{i}": "v" for i in range(129)}), 403, "metadata items"),
        (boot_body(metadata={"k": 1}), 400, "metadata"),
        (boot_body(min_count=3, max_count=2), 400, "min_count"),
        (boot_body(networks="everywhere"), 400, "networks"),
        (boot_body(networks=[{"uuid": 5}]), 400, "networks"),
        (boot_body(block_device_mapping_v2=[{"source_type": "volume",
                                             "destination_type": "volume"}]), 400, "volume"),
        (boot_body(security_groups="default"), 400, "security_groups"),
        (boot_body(key_name="no-such-key"), 400, "key_name"),
    ]
    for body, status, words in refused:
        r = await http.post(S, json=body)
        assert r.status_code == status, (body, r.text)
        assert words in r.text, r.text
    assert log_head(running_stack) == before


@SHARED
async def test_one_request_boots_several_instances_with_one_reservation(
        module_stack: RunningStack) -> None:
    http = module_stack.http
    r = await http.post(S, json=boot_body("many", min_count=1, max_count=3,
                                          return_reservation_id=True))
    assert r.status_code == 202, r.text
    reservation = r.json()["reservation_id"]
    assert reservation.startswith("r-")
    r = await http.get(f"{S}/detail", params={"name": "^many-"},
                       headers={"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]})
    servers = r.json()["servers"]
    assert sorted(s["name"] for s in servers) == ["many-1", "many-2", "many-3"]
    for s in servers:
        await module_stack.wait_for_status(s["id"], "ACTIVE")


@SHARED
async def test_every_action_moves_the_server_and_its_guest_as_nova_does(
        module_stack: RunningStack) -> None:
    stack, http = module_stack, module_stack.http
    server_id = await boot(stack)
    steps: list[tuple[dict[str, Any], str, str]] = [
        ({"reboot": {"type": "SOFT"}}, "ACTIVE", "running"),
        ({"reboot": {"type": "HARD"}}, "ACTIVE", "running"),
        ({"suspend": None}, "SUSPENDED", "suspended"),
        ({"resume": None}, "ACTIVE", "running"),
        ({"os-stop": None}, "SHUTOFF", "shutoff"),
        ({"os-start": None}, "ACTIVE", "running"),
    ]
    for body, status, guest in steps:
        r = await act(http, server_id, body)
        assert r.status_code == 202, (body, r.text)
        server = await settled(stack, server_id, status, r)
        assert await guest_state(stack, server) == guest
    server = await stack.wait_for_status(server_id, "ACTIVE")
    assert server["OS-EXT-STS:power_state"] == 1

    r = await act(http, server_id, {"resume": None})
    assert r.status_code == 409
    assert "vm_state active" in r.json()["conflictingRequest"]["message"]
    r = await act(http, server_id, {"reboot": {"type": "SIDEWAYS"}})
    assert r.status_code == 400

    r = await http.get(f"{S}/{server_id}/os-instance-actions")
    actions = [a["action"] for a in r.json()["instanceActions"]]
    assert actions == ["start", "stop", "resume", "suspend", "reboot", "reboot", "create"]
    request_id = r.json()["instanceActions"][1]["request_id"]
    detail = (await http.get(f"{S}/{server_id}/os-instance-actions/{request_id}")).json()
    (event,) = detail["instanceAction"]["events"]
    assert (event["event"], event["result"]) == ("compute_stop_instance", "Success")
    assert event["finish_time"] is not None


@SHARED
async def test_lock_shows_in_the_body_and_the_action_log_and_unlock_lifts_it(
        module_stack: RunningStack) -> None:
    http = module_stack.http
    server_id = await boot(module_stack)
    r = await act(http, server_id, {"lock": None})
    assert r.status_code == 202
    shown = await http.get(f"{S}/{server_id}", headers={
        "Nimbus-Log-Position": r.headers["Nimbus-Log-Position"], **AT_2_9})
    assert shown.json()["server"]["locked"] is True
    paused = await act(http, server_id, {"pause": None})
    assert paused.status_code == 202  # an admin may act on a locked instance
    await settled(module_stack, server_id, "PAUSED", paused)
    r = await act(http, server_id, {"unlock": None})
    assert r.status_code == 202
    actions = (await http.get(f"{S}/{server_id}/os-instance-actions", headers={
        "Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]})).json()["instanceActions"]
    assert [a["action"] for a in actions] == ["unlock", "pause", "lock", "create"]
    lock_id = actions[2]["request_id"]
    detail = (await http.get(f"{S}/{server_id}/os-instance-actions/{lock_id}")).json()
    assert detail["instanceAction"]["events"] == []


@SHARED
async def test_the_console_output_comes_from_the_host(module_stack: RunningStack) -> None:
    http = module_stack.http
    server_id = await boot(module_stack)
    r = await act(http, server_id, {"os-getConsoleOutput": {"length": None}})
    assert r.status_code == 200, r.text
    lines = r.json()["output"].splitlines()
    assert any("defined" in line for line in lines) and "started" in lines[-1]
    r = await act(http, server_id, {"os-getConsoleOutput": {"length": 2}})
    assert r.json()["output"].splitlines() == lines[-1:]  # as Nova tails: the last newline's
    # piece after it counts as one
    r = await act(http, server_id, {"os-getConsoleOutput": {"length": "many"}})
    assert r.status_code == 400


@SHARED
async def test_rename_and_metadata_routes_follow_nova(module_stack: RunningStack) -> None:
    http = module_stack.http
    server_id = await boot(module_stack, metadata={"a": "1"})
    r = await http.put(f"{S}/{server_id}", json={"server": {"name": "renamed"}})
    assert r.status_code == 200 and r.json()["server"]["name"] == "renamed"
    r = await http.post(f"{S}/{server_id}/metadata", json={"metadata": {"b": "2"}})
    assert r.json() == {"metadata": {"a": "1", "b": "2"}}
    r = await http.put(f"{S}/{server_id}/metadata/c", json={"meta": {"c": "3"}})
    assert r.status_code == 200 and r.json() == {"meta": {"c": "3"}}
    r = await http.put(f"{S}/{server_id}/metadata/c", json={"meta": {"d": "3"}})
    assert r.status_code == 400 and "mismatch" in r.text
    r = await http.delete(f"{S}/{server_id}/metadata/a")
    assert r.status_code == 204
    position = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
    r = await http.get(f"{S}/{server_id}/metadata", headers=position)
    assert r.json() == {"metadata": {"b": "2", "c": "3"}}
    assert (await http.get(f"{S}/{server_id}/metadata/a")).status_code == 404
    assert (await http.get(f"{S}/{server_id}/metadata/b")).json() == {"meta": {"b": "2"}}
    r = await http.put(f"{S}/{server_id}/metadata", json={"metadata": {"only": "x"}})
    assert r.json() == {"metadata": {"only": "x"}}


async def test_lists_filter_and_page_as_nova_does(running_stack: RunningStack) -> None:
    stack, http = running_stack, running_stack.http
    since = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ids = [await boot(stack, f"page-{n}") for n in range(3)]
    await settled(stack, ids[0], "PAUSED", await act(http, ids[0], {"pause": None}))

    paused = (await http.get(f"{S}", params={"status": "PAUSED"})).json()["servers"]
    assert [s["id"] for s in paused] == [ids[0]]
    named = (await http.get(f"{S}", params={"name": "page-[12]$"})).json()["servers"]
    assert sorted(s["name"] for s in named) == ["page-1", "page-2"]
    assert (await http.get(f"{S}", params={"name": "("})).status_code == 400

    first = (await http.get(f"{S}", params={"limit": 2})).json()
    assert [s["id"] for s in first["servers"]] == [ids[2], ids[1]]
    (link,) = first["servers_links"]
    assert link["rel"] == "next" and f"marker={ids[1]}" in link["href"]
    rest = (await http.get(f"{S}", params={"limit": 2, "marker": ids[1]})).json()
    assert [s["id"] for s in rest["servers"]] == [ids[0]] and "servers_links" not in rest
    assert (await http.get(f"{S}", params={"marker": "nope"})).status_code == 400

    await http.delete(f"{S}/{ids[2]}")
    await stack.wait_until_gone(ids[2])
    changed = (await http.get(f"{S}/detail", params={"changes-since": since})).json()
    deleted = [s for s in changed["servers"] if s["id"] == ids[2]]
    assert deleted and deleted[0]["status"] == "DELETED"
    assert (await http.get(f"{S}", params={"changes-since": "yesterday"})).status_code == 400


@SHARED
async def test_force_delete_removes_a_server(module_stack: RunningStack) -> None:
    server_id = await boot(module_stack)
    r = await act(module_stack.http, server_id, {"forceDelete": None})
    assert r.status_code == 202
    await module_stack.wait_until_gone(server_id)


@SHARED
async def test_a_client_that_sends_no_log_position_still_reads_its_own_writes(
        module_stack: RunningStack) -> None:
    http = module_stack.http
    r = await http.post(S, json=boot_body("fresh"))
    assert r.status_code == 202, r.text
    server_id = r.json()["server"]["id"]
    listed = (await http.get(S)).json()["servers"]  # no Nimbus-Log-Position sent
    assert server_id in [s["id"] for s in listed]
    await module_stack.wait_for_status(server_id, "ACTIVE")

    assert (await act(http, server_id, {"pause": None})).status_code == 202
    shown = (await http.get(f"{S}/{server_id}")).json()["server"]
    assert (shown["status"], shown["OS-EXT-STS:task_state"]) in {
        ("ACTIVE", "pausing"), ("PAUSED", None)}
