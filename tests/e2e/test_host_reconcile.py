"""A host reconciles itself: after a power loss, its worker's start reports
the guests shut off, the control plane records that as observations (never
overwriting silently), and with ``resume_guests_state_on_host_boot`` on the
reconciler brings every server back as recorded, by ordinary requests the
actions list shows; with it off they stay SHUTOFF, the observation saying why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from domain.instance import RECONCILER_USER
from messaging import nats as bus
from messaging.subjects import Subjects
from tests.e2e.test_api_end_to_end import BOOT, guest_state
from tests.support.polling import eventually
from tests.support.stack import RunningStack, stack_running

# the status each server is put in, the action that puts it there, its guest's state
STATES = {"ACTIVE": (None, "running"), "PAUSED": ("pause", "paused"),
          "SUSPENDED": ("suspend", "suspended"), "SHUTOFF": ("os-stop", "shutoff")}
# what the reconciler asks for a server it brings back, after recording what it saw
RESTORED = {"ACTIVE": ["observed-stopped", "start"],
            "PAUSED": ["observed-stopped", "start", "pause"],
            "SUSPENDED": ["observed-stopped", "start", "suspend"]}


async def servers_in_every_state(stack: RunningStack) -> dict[str, dict[str, Any]]:
    """One server per status of STATES, by status: each server's body."""
    made: dict[str, dict[str, Any]] = {}
    for status, (action, _) in STATES.items():
        body = {"server": {**BOOT["server"], "name": f"vm-{status.lower()}"}}
        r = await stack.http.post("/compute/v2.1/servers", json=body)
        assert r.status_code == 202, r.text
        server_id = r.json()["server"]["id"]
        await stack.wait_for_status(server_id, "ACTIVE")
        if action is not None:
            r = await stack.http.post(f"/compute/v2.1/servers/{server_id}/action",
                                      json={action: None})
            assert r.status_code == 202, r.text
        made[status] = await stack.wait_for_status(server_id, status)
    return made


async def power_loss(stack: RunningStack, host: str) -> None:
    nc = await bus.connect(stack.nats_url)
    try:
        await bus.request(nc, Subjects(stack.settings.subject_prefix).power_loss(host), b"",
                          timeout=10)
    finally:
        await nc.close()


async def actions(stack: RunningStack, server_id: str) -> list[dict[str, Any]]:
    r = await stack.http.get(f"/compute/v2.1/servers/{server_id}/os-instance-actions")
    assert r.status_code == 200, r.text
    return list(reversed(r.json()["instanceActions"]))  # oldest first (Nova lists newest first)


async def reconciler_actions(stack: RunningStack, server_id: str,
                             count: int) -> list[dict[str, Any]]:
    """The reconciler's actions on a server, once there are ``count`` and each ended."""
    async def done() -> list[dict[str, Any]] | None:
        mine = [a for a in await actions(stack, server_id) if a["user_id"] == RECONCILER_USER]
        if len(mine) < count:
            return None
        for a in mine:
            r = await stack.http.get(f"/compute/v2.1/servers/{server_id}"
                                     f"/os-instance-actions/{a['request_id']}")
            events = r.json()["instanceAction"]["events"]
            assert events and events[0]["finish_time"] is not None, a
        return mine
    return await eventually(done, timeout=30, what=f"the reconciler's actions on {server_id}")


async def build_and_lose_power(database_url: str, nats_url: str, subject_prefix: str,
                               tmp_path: Path) -> dict[str, dict[str, Any]]:
    async with stack_running(database_url, nats_url, subject_prefix, tmp_path) as first:
        servers = await servers_in_every_state(first)
        for host in first.settings.hosts:
            await power_loss(first, host)
        for server in servers.values():
            host = server["OS-EXT-SRV-ATTR:host"]
            assert await guest_state(first, server["id"], host) == "shutoff"
    return servers


async def test_after_a_power_loss_a_restarted_host_brings_every_server_back_as_recorded(
        database_url: str, nats_url: str, subject_prefix: str, tmp_path: Path) -> None:
    servers = await build_and_lose_power(database_url, nats_url, subject_prefix, tmp_path)
    async with stack_running(database_url, nats_url, subject_prefix, tmp_path) as again:
        for status, steps in RESTORED.items():
            server = servers[status]
            done = await reconciler_actions(again, server["id"], len(steps))
            assert [a["action"] for a in done] == steps
            assert "reported the guest shut off while it was recorded" in done[0]["message"]
        for status, (_, guest) in STATES.items():
            server = servers[status]
            shown = await again.wait_for_status(server["id"], status)
            assert "fault" not in shown
            assert await guest_state(again, server["id"], server["OS-EXT-SRV-ATTR:host"]) == guest
        stopped = await actions(again, servers["SHUTOFF"]["id"])
        assert all(a["user_id"] != RECONCILER_USER for a in stopped)


async def test_with_the_policy_off_the_servers_stay_shut_off_with_the_observation(
        database_url: str, nats_url: str, subject_prefix: str, tmp_path: Path) -> None:
    servers = await build_and_lose_power(database_url, nats_url, subject_prefix, tmp_path)
    async with stack_running(database_url, nats_url, subject_prefix, tmp_path,
                             resume_guests_state_on_host_boot=False) as again:
        for status in RESTORED:
            server = servers[status]
            (seen,) = await reconciler_actions(again, server["id"], 1)
            assert seen["action"] == "observed-stopped"
            shown = await again.wait_for_status(server["id"], "SHUTOFF")
            assert "resume_guests_state_on_host_boot is off" in shown["fault"]["message"]
            assert shown["OS-EXT-STS:power_state"] == 4
            assert await guest_state(again, server["id"],
                                     server["OS-EXT-SRV-ATTR:host"]) == "shutoff"


async def test_an_operation_on_a_guest_its_host_lost_fails_visibly_and_the_host_says_why(
        database_url: str, nats_url: str, subject_prefix: str, tmp_path: Path) -> None:
    async with stack_running(database_url, nats_url, subject_prefix, tmp_path,
                             reconcile_interval_seconds=3600) as stack:
        r = await stack.http.post("/compute/v2.1/servers", json=BOOT)
        server_id = r.json()["server"]["id"]
        host = (await stack.wait_for_status(server_id, "ACTIVE"))["OS-EXT-SRV-ATTR:host"]
        await stack.http.post(f"/compute/v2.1/servers/{server_id}/action", json={"pause": None})
        await stack.wait_for_status(server_id, "PAUSED")
        await power_loss(stack, host)

        r = await stack.http.post(f"/compute/v2.1/servers/{server_id}/action",
                                  json={"unpause": None})
        assert r.status_code == 202, r.text
        unpause = r.headers["x-openstack-request-id"]

        async def failed() -> dict[str, Any] | None:
            found = [a for a in await actions(stack, server_id) if a["request_id"] == unpause]
            return found[0] if found and found[0]["message"] else None
        action = await eventually(failed, what="the unpause failing")
        assert action["message"] == f"cannot unpause guest {server_id}: it is shutoff"

        done = await reconciler_actions(stack, server_id, 3)
        assert [a["action"] for a in done] == ["observed-stopped", "start", "pause"]
        await stack.wait_for_status(server_id, "PAUSED")
        assert await guest_state(stack, server_id, host) == "paused"
