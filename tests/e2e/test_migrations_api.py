"""Cold migration and resize over HTTP on a running stack with two hypervisor
hosts (libvirt's test driver each): the guest really moves between the two
hosts' libvirt connections, claims are held on both until confirm or revert,
and os-migrations shows each move."""

from __future__ import annotations

from typing import Any

from tests.e2e.test_hosts_api import member
from tests.support.polling import eventually
from tests.support.stack import RunningStack

C = "/compute/v2.1"
OTHER = {"compute1": "compute2", "compute2": "compute1"}


async def boot(stack: RunningStack, name: str = "mover", flavor: str = "1",
               headers: dict[str, str] | None = None) -> dict[str, Any]:
    r = await stack.http.post(f"{C}/servers", headers=headers, json={"server": {
        "name": name, "flavorRef": flavor, "imageRef": "cirros-0.6.2-x86_64-disk"}})
    assert r.status_code == 202, r.text
    return await stack.wait_for_status(r.json()["server"]["id"], "ACTIVE")


async def guest_states(stack: RunningStack, server_id: str) -> dict[str, str]:
    """Where the server's guest is, host by host, and in what state (absent: not there)."""
    found = {}
    for host in ("compute1", "compute2"):
        states = [g["state"] for g in await stack.guests(host) if g["instance_id"] == server_id]
        found[host] = states[0] if states else "absent"
    return found


async def claims(stack: RunningStack) -> dict[str, int]:
    """The memory each host's claims hold."""
    hosts = (await stack.http.get(f"{C}/os-hypervisors/detail")).json()["hypervisors"]
    return {h["hypervisor_hostname"]: h["memory_mb_used"] for h in hosts}


async def migrations_of(stack: RunningStack, server_id: str,
                        headers: dict[str, str] | None = None) -> list[dict[str, Any]]:
    r = await stack.http.get(f"{C}/os-migrations", params={"instance_uuid": server_id},
                             headers=headers)
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["migrations"]
    return found


async def action(stack: RunningStack, server_id: str, body: dict[str, Any],
                 headers: dict[str, str] | None = None) -> Any:
    return await stack.http.post(f"{C}/servers/{server_id}/action", json=body, headers=headers)


async def test_a_cold_migration_moves_the_guest_and_confirm_frees_the_source(
        running_stack: RunningStack) -> None:
    stack = running_stack
    await stack.hosts_once_reported()
    server = await boot(stack)
    source = server["OS-EXT-SRV-ATTR:host"]
    dest = OTHER[source]
    before = await claims(stack)
    r = await action(stack, server["id"], {"migrate": None})
    assert r.status_code == 202, r.text
    moved = await stack.wait_for_status(server["id"], "VERIFY_RESIZE")
    assert moved["OS-EXT-SRV-ATTR:host"] == dest and moved["flavor"]["id"] == "1"
    assert await guest_states(stack, server["id"]) == {source: "shutoff", dest: "running"}
    held = await claims(stack)
    assert held[dest] == before[dest] + 512 and held[source] == before[source]
    (migration,) = await migrations_of(stack, server["id"])
    assert (migration["status"], migration["source_compute"],
            migration["dest_compute"]) == ("finished", source, dest)
    r = await action(stack, server["id"], {"confirmResize": None})
    assert r.status_code == 204, r.text
    await stack.wait_for_status(server["id"], "ACTIVE")
    assert await guest_states(stack, server["id"]) == {source: "absent", dest: "running"}

    async def freed() -> dict[str, int] | None:
        now = await claims(stack)
        return now if now[source] == before[source] - 512 else None
    now = await eventually(freed, what="the source's claim given back")
    assert now[dest] == before[dest] + 512
    (migration,) = await migrations_of(stack, server["id"])
    assert migration["status"] == "confirmed" and "migration_type" not in migration


async def test_a_resize_changes_the_flavor_and_revert_brings_it_back_to_its_source(
        running_stack: RunningStack) -> None:
    stack = running_stack
    await stack.hosts_once_reported()
    alice = member(stack, "p-resize")
    server = await boot(stack, headers=alice)
    source = server["OS-EXT-SRV-ATTR:host"]
    dest = OTHER[source]
    r = await action(stack, server["id"], {"resize": {"flavorRef": "2"}}, alice)
    assert r.status_code == 202, r.text
    resized = await stack.wait_for_status(server["id"], "VERIFY_RESIZE")
    assert resized["flavor"]["id"] == "2" and resized["OS-EXT-SRV-ATTR:host"] == dest
    r = await action(stack, server["id"], {"revertResize": None}, alice)
    assert r.status_code == 202, r.text
    back = await stack.wait_for_status(server["id"], "ACTIVE")
    assert back["flavor"]["id"] == "1" and back["OS-EXT-SRV-ATTR:host"] == source
    assert await guest_states(stack, server["id"]) == {source: "running", dest: "absent"}
    (migration,) = await migrations_of(stack, server["id"])
    assert (migration["status"], migration["new_instance_type_id"]) == ("reverted", 2)  # an int
    actions = (await stack.http.get(f"{C}/servers/{server['id']}/os-instance-actions")
               ).json()["instanceActions"]
    assert {"resize", "revertResize"} <= {a["action"] for a in actions}


async def test_bad_moves_are_refused_with_novas_words_and_write_nothing(
        running_stack: RunningStack) -> None:
    stack = running_stack
    await stack.hosts_once_reported()
    alice = member(stack, "p-badmoves")
    server = await boot(stack, headers=alice)
    sid = server["id"]
    r = await action(stack, sid, {"migrate": None}, alice)
    assert r.status_code == 403 and "os-migrate-server:migrate" in r.text
    r = await action(stack, sid, {"resize": {"flavorRef": "1"}}, alice)
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == "When resizing, instances must change flavor!"
    r = await action(stack, sid, {"resize": {"flavorRef": "nope"}}, alice)
    assert r.status_code in (400, 404), r.text
    r = await action(stack, sid, {"resize": {}}, alice)
    assert r.status_code == 400, r.text
    r = await action(stack, sid, {"confirmResize": None}, alice)
    assert r.status_code == 409 and "vm_state active" in r.text
    r = await action(stack, sid, {"revertResize": None}, alice)
    assert r.status_code == 409
    bob = member(stack, "p-bob-moves")
    r = await action(stack, sid, {"resize": {"flavorRef": "2"}}, bob)
    assert r.status_code == 404
    r = await stack.http.get(f"{C}/os-migrations", headers=alice)
    assert r.status_code == 403
    r = await stack.http.put(f"{C}/os-services/disable", json={
        "host": OTHER[server["OS-EXT-SRV-ATTR:host"]], "binary": "nova-compute"})
    assert r.status_code == 200, r.text
    try:
        r = await action(stack, sid, {"migrate": None})
        assert r.status_code == 400 and "No valid host" in r.text
    finally:
        r = await stack.http.put(f"{C}/os-services/enable", json={
            "host": OTHER[server["OS-EXT-SRV-ATTR:host"]], "binary": "nova-compute"})
        assert r.status_code == 200
    assert await migrations_of(stack, sid) == []
    got = (await stack.http.get(f"{C}/servers/{sid}")).json()["server"]
    assert got["status"] == "ACTIVE" and got["OS-EXT-SRV-ATTR:host"] == server[
        "OS-EXT-SRV-ATTR:host"]
    r = await stack.http.get(f"{C}/servers/{sid}/migrations")
    assert r.status_code == 404


async def test_a_resize_holds_the_larger_flavor_in_the_quota_until_it_ends(
        running_stack: RunningStack) -> None:
    stack = running_stack
    await stack.hosts_once_reported()
    project = "p-resize-quota"
    alice = member(stack, project)

    async def ram_used(expected: int) -> None:
        async def held() -> bool:
            r = await stack.http.get(f"{C}/limits", headers=alice)
            return bool(r.json()["limits"]["absolute"]["totalRAMUsed"] == expected)
        await eventually(held, what=f"the project's quota holding {expected} MB")

    r = await stack.http.put(f"{C}/os-quota-sets/{project}",
                             json={"quota_set": {"ram": 1024}})
    assert r.status_code == 200, r.text
    server = await boot(stack, "quota-resize", headers=alice)
    sid = server["id"]
    await ram_used(512)
    before = await migrations_of(stack, sid)
    r = await action(stack, sid, {"resize": {"flavorRef": "2"}}, alice)
    assert r.status_code == 403 and "Quota exceeded for ram" in r.text, r.text
    assert await migrations_of(stack, sid) == before == []

    r = await stack.http.put(f"{C}/os-quota-sets/{project}",
                             json={"quota_set": {"ram": 4096}})
    assert r.status_code == 200, r.text
    assert (await action(stack, sid, {"resize": {"flavorRef": "2"}}, alice)).status_code == 202
    await stack.wait_for_status(sid, "VERIFY_RESIZE")
    await ram_used(2048)
    assert (await action(stack, sid, {"revertResize": None}, alice)).status_code == 202
    await stack.wait_for_status(sid, "ACTIVE")
    await ram_used(512)
    assert (await action(stack, sid, {"resize": {"flavorRef": "2"}}, alice)).status_code == 202
    await stack.wait_for_status(sid, "VERIFY_RESIZE")
    assert (await action(stack, sid, {"confirmResize": None}, alice)).status_code == 204
    await ram_used(2048)


async def test_deleting_a_server_in_verify_resize_confirms_it_and_frees_both_hosts(
        running_stack: RunningStack) -> None:
    stack = running_stack
    await stack.hosts_once_reported()
    before = await claims(stack)
    server = await boot(stack, "moved-then-deleted")
    source = server["OS-EXT-SRV-ATTR:host"]
    dest = OTHER[source]
    assert (await action(stack, server["id"], {"migrate": None})).status_code == 202
    await stack.wait_for_status(server["id"], "VERIFY_RESIZE")
    assert await guest_states(stack, server["id"]) == {source: "shutoff", dest: "running"}

    assert (await stack.http.delete(f"{C}/servers/{server['id']}")).status_code == 204

    async def gone() -> dict[str, str] | None:
        missing = (await stack.http.get(f"{C}/servers/{server['id']}")).status_code == 404
        guests = await guest_states(stack, server["id"])
        return guests if missing and set(guests.values()) == {"absent"} else None

    assert await eventually(gone) == {source: "absent", dest: "absent"}

    async def freed() -> dict[str, int] | None:
        now = await claims(stack)
        return now if now == before else None

    assert await eventually(freed) == before
