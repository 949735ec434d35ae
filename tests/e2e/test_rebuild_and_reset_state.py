"""rebuild, os-resetState and diagnostics over HTTP with the whole stack: a rebuild goes
through REBUILD to ACTIVE on its host (the guest defined again and running),
with the name and metadata it was given; an admin's reset puts a server in
error or active with no task, and a non-admin's is refused; an admin reads
a server's statistics from its host."""

from __future__ import annotations

from typing import Any

from tests.e2e.test_hosts_api import member
from tests.support.polling import eventually
from tests.support.stack import RunningStack

S = "/compute/v2.1/servers"
IMAGE = "cirros-0.6.2-x86_64-disk"


async def _active(stack: RunningStack, name: str) -> dict[str, Any]:
    r = await stack.http.post(S, json={"server": {"name": name, "imageRef": IMAGE,
                                                  "flavorRef": "1"}})
    assert r.status_code == 202, r.text
    server: dict[str, Any] = await stack.wait_for_status(r.json()["server"]["id"], "ACTIVE")
    return server


async def test_a_rebuild_defines_the_guest_again_and_ends_active(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    server = await _active(running_stack, "to-rebuild")
    r = await http.post(f"{S}/{server['id']}/action", json={"rebuild": {
        "imageRef": IMAGE, "name": "rebuilt", "metadata": {"new": "yes"},
        "adminPass": "s3cret-Pass"}})
    assert r.status_code == 202, r.text
    shown = r.json()["server"]
    assert (shown["status"], shown["name"], shown["image"]["id"], shown["adminPass"]) == (
        "REBUILD", "rebuilt", server["image"]["id"], "s3cret-Pass")
    assert shown["metadata"] == {"new": "yes"}
    done = await running_stack.wait_for_status(server["id"], "ACTIVE")
    assert (done["name"], done["OS-EXT-STS:task_state"], done["OS-EXT-STS:power_state"]) == (
        "rebuilt", None, 1)
    host = done["OS-EXT-SRV-ATTR:host"]
    guests = {g["instance_id"]: g["state"] for g in await running_stack.guests(host)}
    assert guests[server["id"]] == "running"
    actions = (await http.get(f"{S}/{server['id']}/os-instance-actions")).json()
    assert "rebuild" in [a["action"] for a in actions["instanceActions"]]

    r = await http.post(f"{S}/{server['id']}/action", json={"rebuild": {
        "imageRef": "no-such-image"}})
    assert r.status_code == 400, r.text


async def test_an_admin_resets_a_servers_state_and_others_may_not(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    server = await _active(running_stack, "to-reset")
    url = f"{S}/{server['id']}/action"
    alice = member(running_stack, "p-alice")
    assert (await http.post(url, headers=alice, json={"os-resetState": {"state": "error"}})
            ).status_code in (403, 404)
    r = await http.post(url, json={"os-resetState": {"state": "paused"}})
    assert r.status_code == 400, r.text

    r = await http.post(url, json={"os-resetState": {"state": "error"}})
    assert r.status_code == 202, r.text
    after = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
    shown = (await http.get(f"{S}/{server['id']}", headers=after)).json()["server"]
    assert (shown["status"], shown["OS-EXT-STS:task_state"]) == ("ERROR", None)

    r = await http.post(url, json={"os-resetState": {"state": "active"}})
    assert r.status_code == 202, r.text
    await running_stack.wait_for_status(server["id"], "ACTIVE")
    assert (await http.delete(f"{S}/{server['id']}")).status_code == 204

    async def gone() -> bool:
        return (await http.get(f"{S}/{server['id']}")).status_code == 404

    assert await eventually(gone)


async def test_an_admin_reads_a_servers_diagnostics_from_its_host(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    server = await _active(running_stack, "diagnosed")
    r = await http.get(f"{S}/{server['id']}/diagnostics")
    assert r.status_code == 200, r.text
    found = r.json()
    assert found["memory"] == 512 * 1024 and "cpu0_time" in found  # m1.tiny: 512 MB, 1 vCPU
    alice = member(running_stack, "p-alice")
    assert (await http.get(f"{S}/{server['id']}/diagnostics", headers=alice)
            ).status_code == 403
