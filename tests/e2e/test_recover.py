"""``nimbus recover`` after the seed's disaster: the views dropped, every host
powered off (with the policy off, so nothing comes back by itself). A dry run
prints the plan and changes nothing; ``--instance`` touches that one alone;
``--apply`` brings every server back as recorded, and a rerun after a crash
finishes; once the cloud is back, a run has nothing to do."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path
from typing import Any

import psycopg

from domain.instance import RECONCILER_USER
from projections.log import head
from tests.e2e.test_api_end_to_end import guest_state
from tests.e2e.test_host_reconcile import (
    RESTORED,
    STATES,
    actions,
    power_loss,
    reconciler_actions,
    servers_in_every_state,
)
from tests.e2e.test_volumes_api import volumes_of, wait_for_volume
from tests.support.nimbus_process import NIMBUS, NimbusProcess, nimbus_env
from tests.support.stack import RunningStack, stack_running

# the seed's manual recovery: nothing comes back by itself, no periodic report meanwhile
MANUAL: dict[str, Any] = {"resume_guests_state_on_host_boot": False,
                          "reconcile_interval_seconds": 3600}


def recover_env(tmp_path: Path, database_url: str, nats_url: str,
                prefix: str) -> dict[str, str]:
    return {**nimbus_env(tmp_path), "NIMBUS_DATABASE_URL": database_url,
            "NIMBUS_NATS_URL": nats_url, "NIMBUS_SUBJECT_PREFIX": prefix,
            "NIMBUS_HOSTS": "compute1,compute2"}


async def recover(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(subprocess.run, [NIMBUS, "recover", *args], env=env,
                                   capture_output=True, text=True, timeout=300)


def log_head(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        return head(conn)


def views_exist(database_url: str) -> bool:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT to_regclass('views.instances')").fetchone()
        return row is not None and row[0] is not None


async def statuses(stack: RunningStack, servers: dict[str, dict[str, Any]]) -> dict[str, str]:
    shown = {}
    for status, server in servers.items():
        r = await stack.http.get(f"/compute/v2.1/servers/{server['id']}")
        shown[status] = r.json()["server"]["status"]
    return shown


async def test_recover_brings_the_cloud_back_from_the_log_in_the_seeds_order(
        database_url: str, nats_url: str, subject_prefix: str, tmp_path: Path) -> None:
    env = recover_env(tmp_path, database_url, nats_url, subject_prefix)
    async with stack_running(database_url, nats_url, subject_prefix, tmp_path,
                             **MANUAL) as first:
        servers = await servers_in_every_state(first)
        active = servers["ACTIVE"]
        volumes = volumes_of(active["tenant_id"])
        r = await first.http.post(volumes, json={"volume": {"size": 1, "name": "data"}})
        volume_id = r.json()["volume"]["id"]
        await wait_for_volume(first.http, f"{volumes}/{volume_id}", "available", {})
        r = await first.http.post(f"/compute/v2.1/servers/{active['id']}/os-volume_attachments",
                                  json={"volumeAttachment": {"volumeId": volume_id}})
        assert r.status_code == 200, r.text
        await wait_for_volume(first.http, f"{volumes}/{volume_id}", "in-use", {})
        for host in first.settings.hosts:
            await power_loss(first, host)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA views CASCADE")  # the views are lost
    before = log_head(database_url)

    # with every worker down, nothing can be asked: the plan says so, changes nothing
    dry = await recover(env)
    assert dry.returncode == 1, dry.stdout + dry.stderr
    assert "0. views: gone; --apply rebuilds every one from the log" in dry.stdout
    assert "compute1 (compute): host did not answer" in dry.stdout
    assert log_head(database_url) == before and not views_exist(database_url)
    counted = await recover(env, "--json")  # the same, as one object of counts
    summary = json.loads(counted.stdout)
    assert (counted.returncode, summary["exit"], summary["applied"], summary["views_position"],
            summary["log_head"], summary["back"]) == (1, 1, False, None, before, False)

    # --apply rebuilds the views from the log; the hosts are still silent
    rebuilt = await recover(env, "--apply")
    assert rebuilt.returncode == 1, rebuilt.stdout + rebuilt.stderr
    assert f"rebuilding every view from the log ({before} events)" in rebuilt.stdout
    assert views_exist(database_url) and log_head(database_url) == before

    async with stack_running(database_url, nats_url, subject_prefix, tmp_path,
                             **MANUAL) as again:
        for status in RESTORED:  # the hosts' start reports, recorded; the policy is off
            (seen,) = await reconciler_actions(again, servers[status]["id"], 1)
            assert seen["action"] == "observed-stopped"
        assert await statuses(again, servers) == dict.fromkeys(STATES, "SHUTOFF")
        observed = log_head(database_url)

        plan = await recover(env)
        assert plan.returncode == 1, plan.stdout + plan.stderr
        lines = plan.stdout.splitlines()
        assert [lines.index(f"{n}. {title}:") for n, title in (
            (1, "relations from the log (volume, instance, mountpoint)"),
            (2, "stalled task states (left for their hosts' answers)"),
            (3, "restart instances"), (4, "re-export and re-attach volumes"),
            (5, "networks"))] == sorted(lines.index(line) for line in lines if line[:2] in (
                "1.", "2.", "3.", "4.", "5."))
        relation = lines[lines.index(
            "1. relations from the log (volume, instance, mountpoint):") + 1]
        assert relation.startswith(f"   {volume_id}  {active['id']}  /dev/vdb")
        paused = servers["PAUSED"]
        assert (f"   {paused['id']} (vm-paused) on {paused['OS-EXT-SRV-ATTR:host']}:"
                " recorded SHUTOFF, guest shutoff -> start, pause") in lines
        assert log_head(database_url) == observed  # a dry run writes nothing
        assert await statuses(again, servers) == dict.fromkeys(STATES, "SHUTOFF")

        # the seed's test mode: one instance, and only it
        one = await recover(env, "--apply", "--instance", active["id"])
        assert one.returncode == 0, one.stdout + one.stderr
        assert "the cloud is back as the log says" in one.stdout
        assert (await statuses(again, servers))["ACTIVE"] == "ACTIVE"
        assert {s for k, s in (await statuses(again, servers)).items()
                if k != "ACTIVE"} == {"SHUTOFF"}

        # a recovery cut off midway, then run again: it finishes
        cut = NimbusProcess(tmp_path, ["recover", "--apply"], env)
        try:  # (waited for off the loop: the stack under test runs in it)
            await asyncio.to_thread(cut.wait_for_line, "applying:", 120)
            await asyncio.to_thread(cut.wait_for_line, "): start", 60)  # the first restart
        finally:
            cut.kill()
        done = await recover(env, "--apply")
        assert done.returncode == 0, done.stdout + done.stderr
        assert await statuses(again, servers) == {s: s for s in STATES}
        for status, (_, guest) in STATES.items():
            server = servers[status]
            assert await guest_state(again, server["id"],
                                     server["OS-EXT-SRV-ATTR:host"]) == guest
        for status, steps in RESTORED.items():
            mine = [a["action"] for a in await actions(again, servers[status]["id"])
                    if a["user_id"] == RECONCILER_USER]
            assert mine == steps  # each request once, however many runs asked
        shown = await wait_for_volume(again.http, f"{volumes}/{volume_id}", "in-use", {})
        assert [(a["server_id"], a["device"]) for a in shown["attachments"]] == [
            (active["id"], "/dev/vdb")]
        disks = await again.disks(active["OS-EXT-SRV-ATTR:host"], active["id"])
        assert [d["device"] for d in disks] == ["/dev/vdb"]  # its definition kept the disk

        # back: nothing to do
        settled = log_head(database_url)
        noop = await recover(env)
        assert noop.returncode == 0, noop.stdout + noop.stderr
        assert "   (none)" in noop.stdout.split("3. restart instances:")[1].split("4.")[0]
        for host in ("compute1 (compute)", "storage1 (storage)", "network1 (network)"):
            assert f"   {host}: nothing to change" in noop.stdout  # every host answered
        assert log_head(database_url) == settled
        summary = json.loads((await recover(env, "--json")).stdout)
        assert (summary["exit"], summary["back"], summary["actions"], summary["restarts"]) == (
            0, True, 0, 0)
