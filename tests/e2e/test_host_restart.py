"""A hypervisor worker started again is a process restart, not a power loss:
its simulated host keeps its guests (in the state dir, as a real host keeps
its disks and definitions), so they are as the views say and the next
operation on them works. A power loss is simulated on purpose
(``nimbus host power-loss``): every guest off, and it stays so."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from tests.e2e.test_api_end_to_end import BOOT, guest_state
from tests.support.nimbus_process import NIMBUS, nimbus_env
from tests.support.stack import stack_running


async def test_guests_outlive_their_workers_restart_and_take_the_next_operation(
        database_url: str, nats_url: str, subject_prefix: str, tmp_path: Path) -> None:
    async with stack_running(database_url, nats_url, subject_prefix, tmp_path) as first:
        running = (await first.http.post("/compute/v2.1/servers", json=BOOT)).json()
        paused = (await first.http.post("/compute/v2.1/servers", json=BOOT)).json()
        running_id, paused_id = running["server"]["id"], paused["server"]["id"]
        server = await first.wait_for_status(running_id, "ACTIVE")
        await first.wait_for_status(paused_id, "ACTIVE")
        await first.http.post(f"/compute/v2.1/servers/{paused_id}/action", json={"pause": None})
        await first.wait_for_status(paused_id, "PAUSED")
        host = server["OS-EXT-SRV-ATTR:host"]
    async with stack_running(database_url, nats_url, subject_prefix, tmp_path) as again:
        assert await guest_state(again, running_id, host) == "running"
        paused_host = (await again.wait_for_status(paused_id, "PAUSED"))["OS-EXT-SRV-ATTR:host"]
        assert await guest_state(again, paused_id, paused_host) == "paused"
        r = await again.http.post(f"/compute/v2.1/servers/{running_id}/action",
                                  json={"pause": None})
        assert r.status_code == 202, r.text
        await again.wait_for_status(running_id, "PAUSED")
        assert await guest_state(again, running_id, host) == "paused"


async def test_a_power_loss_turns_every_guest_off_and_stays_so_after_a_restart(
        database_url: str, nats_url: str, subject_prefix: str, tmp_path: Path) -> None:
    async with stack_running(database_url, nats_url, subject_prefix, tmp_path) as first:
        booted = (await first.http.post("/compute/v2.1/servers", json=BOOT)).json()
        server_id = booted["server"]["id"]
        host = (await first.wait_for_status(server_id, "ACTIVE"))["OS-EXT-SRV-ATTR:host"]
        env = {**nimbus_env(tmp_path), "NIMBUS_NATS_URL": nats_url,
               "NIMBUS_SUBJECT_PREFIX": subject_prefix}
        done = await asyncio.to_thread(subprocess.run, [NIMBUS, "host", "power-loss", host],
                                       env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[:2] == [f"{host}: power lost; 1 guests were on",
                                                f"  {server_id}"]
        assert await guest_state(first, server_id, host) == "shutoff"
    # (a host that reconciles itself would bring it back: tests/e2e/test_host_reconcile.py)
    async with stack_running(database_url, nats_url, subject_prefix, tmp_path,
                             resume_guests_state_on_host_boot=False) as again:
        assert await guest_state(again, server_id, host) == "shutoff"
    gone = await asyncio.to_thread(subprocess.run, [NIMBUS, "host", "power-loss", host],
                                   env=env, capture_output=True, text=True, timeout=60)
    assert gone.returncode == 1
    assert "no hypervisor, storage or network worker answered" in gone.stderr
