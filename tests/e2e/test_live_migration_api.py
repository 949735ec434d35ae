"""Live migration over HTTP between the two test-driver hosts of a running stack.

libvirt's test driver cannot migrate, so the copy is the pre-copy model
(workers/hypervisor/precopy.py), its write rate set by the server's metadata
``nimbus:sim-dirty-rate-mbps``; defining the guest on the destination,
pausing the source's, running the destination's and removing the source's are
real libvirt calls on each host. ``migrateToURI3`` itself needs two
``qemu:///system`` hosts and is not run here.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.test_hosts_api import member
from tests.e2e.test_migrations_api import OTHER, boot, claims, guest_states, migrations_of
from tests.support.polling import eventually
from tests.support.stack import RunningStack

C = "/compute/v2.1"
V25 = {"OpenStack-API-Version": "compute 2.25"}
LIVE = {"os-migrateLive": {"host": None, "block_migration": "auto"}}


async def live_migrate(stack: RunningStack, sid: str, body: dict[str, Any] = LIVE,
                       headers: dict[str, str] = V25) -> Any:
    return await stack.http.post(f"{C}/servers/{sid}/action", json=body, headers=headers)


async def dirty(stack: RunningStack, sid: str, mbps: int) -> None:
    r = await stack.http.post(f"{C}/servers/{sid}/metadata", json={
        "metadata": {"nimbus:sim-dirty-rate-mbps": str(mbps)}})
    assert r.status_code == 200, r.text


async def copying(stack: RunningStack, sid: str) -> dict[str, Any]:
    """The server's live migration once its copy has reported progress."""
    async def reported() -> dict[str, Any] | None:
        r = await stack.http.get(f"{C}/servers/{sid}/migrations", headers=V25)
        assert r.status_code == 200, r.text
        running = [m for m in r.json()["migrations"]
                   if m["status"] == "running" and m["memory_processed_bytes"] > 0]
        return running[0] if running else None
    found: dict[str, Any] = await eventually(reported, what="the copy's progress")
    return found


async def test_a_quiet_server_live_migrates_at_once_and_its_source_is_freed(
        running_stack: RunningStack) -> None:
    stack = running_stack
    await stack.hosts_once_reported()
    server = await boot(stack, "live-quiet")
    source = server["OS-EXT-SRV-ATTR:host"]
    dest = OTHER[source]
    before = await claims(stack)
    r = await live_migrate(stack, server["id"])
    assert r.status_code == 202, r.text

    async def moved() -> dict[str, Any] | None:
        got = (await stack.http.get(f"{C}/servers/{server['id']}")).json()["server"]
        return got if got["OS-EXT-SRV-ATTR:host"] == dest and got["status"] == "ACTIVE" \
            else None
    await eventually(moved, what="the server running on the other host")
    assert await guest_states(stack, server["id"]) == {source: "absent", dest: "running"}

    async def freed() -> dict[str, int] | None:
        now = await claims(stack)
        return now if now[source] == before[source] - 512 else None
    now = await eventually(freed, what="the source's claim given back")
    assert now[dest] == before[dest] + 512
    (migration,) = await migrations_of(stack, server["id"], V25)
    assert (migration["status"], migration["migration_type"]) == ("completed", "live-migration")
    assert "links" not in migration  # only an in-progress one has them


async def test_a_busy_server_does_not_converge_until_forced_and_then_pauses_and_moves(
        running_stack: RunningStack) -> None:
    stack = running_stack
    await stack.hosts_once_reported()
    server = await boot(stack, "live-busy")
    source = server["OS-EXT-SRV-ATTR:host"]
    dest = OTHER[source]
    await dirty(stack, server["id"], 400)
    assert (await live_migrate(stack, server["id"])).status_code == 202
    running = await copying(stack, server["id"])
    assert running["memory_total_bytes"] == 512 * 1024 * 1024
    assert running["source_compute"] == source and running["dest_compute"] == dest
    shown = await stack.http.get(f"{C}/servers/{server['id']}/migrations/{running['id']}",
                                 headers=V25)
    assert shown.status_code == 200 and shown.json()["migration"]["id"] == running["id"]
    (listed,) = await migrations_of(stack, server["id"], V25)
    assert listed["links"][0]["href"].endswith(
        f"/servers/{server['id']}/migrations/{running['id']}")
    assert (await stack.http.get(f"{C}/servers/{server['id']}")).json()["server"][
        "status"] == "MIGRATING"
    r = await stack.http.post(f"{C}/servers/{server['id']}/migrations/{running['id']}/action",
                              json={"force_complete": None}, headers=V25)
    assert r.status_code == 202, r.text
    moved = await stack.wait_for_status(server["id"], "ACTIVE", timeout=30)
    assert moved["OS-EXT-SRV-ATTR:host"] == dest
    assert await guest_states(stack, server["id"]) == {source: "absent", dest: "running"}
    (migration,) = await migrations_of(stack, server["id"], V25)
    assert migration["status"] == "completed"


async def test_an_aborted_live_migration_is_cancelled_and_the_server_stays_on_its_source(
        running_stack: RunningStack) -> None:
    stack = running_stack
    await stack.hosts_once_reported()
    server = await boot(stack, "live-abort")
    source = server["OS-EXT-SRV-ATTR:host"]
    dest = OTHER[source]
    before = await claims(stack)
    await dirty(stack, server["id"], 400)
    assert (await live_migrate(stack, server["id"])).status_code == 202
    running = await copying(stack, server["id"])
    at_23 = {"OpenStack-API-Version": "compute 2.23"}
    r = await stack.http.delete(f"{C}/servers/{server['id']}/migrations/{running['id']}",
                                headers=at_23)
    assert r.status_code == 404  # abort is 2.24's
    r = await stack.http.delete(f"{C}/servers/{server['id']}/migrations/{running['id']}",
                                headers=V25)
    assert r.status_code == 202, r.text

    async def cancelled() -> list[dict[str, Any]] | None:
        found = await migrations_of(stack, server["id"])
        return found if found[0]["status"] == "cancelled" else None
    await eventually(cancelled, timeout=30, what="the migration cancelled")
    back = await stack.wait_for_status(server["id"], "ACTIVE")
    assert back["OS-EXT-SRV-ATTR:host"] == source
    assert await guest_states(stack, server["id"]) == {source: "running", dest: "absent"}
    assert await claims(stack) == before


async def test_bad_live_migrations_are_refused_and_write_nothing(
        running_stack: RunningStack) -> None:
    stack = running_stack
    await stack.hosts_once_reported()
    server = await boot(stack, "live-bad")
    sid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
    dest = OTHER[source]
    alice = member(stack, "p-live")
    r = await live_migrate(stack, sid, headers={**V25, **alice})
    assert r.status_code == 403 and "migrate_live" in r.text
    for body, words in (
            ({"os-migrateLive": {"host": source, "block_migration": "auto"}}, "current host"),
            ({"os-migrateLive": {"host": "nohost", "block_migration": "auto"}},
             "Compute host nohost could not be found."),
            ({"os-migrateLive": {"host": None, "block_migration": "auto",
                                 "disk_over_commit": False}}, "disk_over_commit"),
            ({"os-migrateLive": {"host": None, "block_migration": "sometimes"}}, "block_migration"),
    ):
        r = await live_migrate(stack, sid, body)
        assert r.status_code == 400 and words in r.text, (body, r.text)
    r = await live_migrate(stack, sid, headers={"OpenStack-API-Version": "compute 2.24"})
    assert r.status_code == 400  # before 2.25 disk_over_commit is required
    r = await stack.http.put(f"{C}/os-services/force-down", headers=V25, json={
        "host": dest, "binary": "nova-compute", "forced_down": True})
    assert r.status_code == 200, r.text
    try:
        r = await live_migrate(stack, sid, {"os-migrateLive": {"host": dest,
                                                               "block_migration": "auto"}})
        assert r.status_code == 400 and "unavailable" in r.text
    finally:
        await stack.http.put(f"{C}/os-services/force-down", headers=V25, json={
            "host": dest, "binary": "nova-compute", "forced_down": False})
    r = await stack.http.post(f"{C}/servers/{sid}/migrations/1/action",
                              json={"force_complete": None}, headers=V25)
    assert r.status_code == 404
    assert await migrations_of(stack, sid) == []
    got = (await stack.http.get(f"{C}/servers/{sid}")).json()["server"]
    assert (got["status"], got["OS-EXT-SRV-ATTR:host"]) == ("ACTIVE", source)


async def test_from_2_30_force_takes_a_disabled_host_named_and_still_claims_its_room(
        running_stack: RunningStack) -> None:
    stack = running_stack
    await stack.hosts_once_reported()
    server = await boot(stack, "live-forced")
    sid, source = server["id"], server["OS-EXT-SRV-ATTR:host"]
    dest = OTHER[source]
    v30 = {"OpenStack-API-Version": "compute 2.30"}
    r = await stack.http.put(f"{C}/os-services/disable", json={
        "host": dest, "binary": "nova-compute"})
    assert r.status_code == 200, r.text
    named = {"os-migrateLive": {"host": dest, "block_migration": "auto"}}
    r = await live_migrate(stack, sid, named, v30)
    assert r.status_code == 400 and "unavailable" in r.text
    forced = {"os-migrateLive": {"host": dest, "block_migration": "auto", "force": True}}
    r = await live_migrate(stack, sid, forced, V25)  # force is 2.30's
    assert r.status_code == 400 and "force" in r.text
    r = await live_migrate(stack, sid, {"os-migrateLive": {
        "host": None, "block_migration": "auto", "force": True}}, v30)
    assert r.status_code == 400 and "needs a host" in r.text
    assert await migrations_of(stack, sid) == []
    before = await claims(stack)
    r = await live_migrate(stack, sid, forced, v30)
    assert r.status_code == 202, r.text

    async def moved() -> dict[str, Any] | None:
        got = (await stack.http.get(f"{C}/servers/{sid}")).json()["server"]
        return got if got["OS-EXT-SRV-ATTR:host"] == dest and got["status"] == "ACTIVE" \
            else None
    await eventually(moved, what="the server running on the disabled host it was forced to")
    assert (await claims(stack))[dest] == before[dest] + 512
