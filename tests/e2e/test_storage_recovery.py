"""A storage host restores its exports from the log, with the whole stack on
real parts: a private tgtd, libvirt's test driver, NATS and PostgreSQL.

The seed's disaster: the SAN loses power, its iSCSI sessions and targets are
gone, the volumes' bytes and the log's record of every attachment are not.
A storage worker started again (its tgtd with it, so with no targets), or
asked to reconcile after a power loss, exports each attached volume again,
once, where the log and the guest's disk say it is; a guest whose definition
lost the disk gets it again at its recorded mountpoint. A dry run only says
what it would do, and a second reconcile has nothing to do.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from runtime.stack import host_uri
from tests.e2e.test_server_delete_volumes import attached_volume
from tests.e2e.test_volumes_api import booted, iscsi_targets, lun_size, wait_for_volume
from tests.support.host_recovery import exports_of, power_loss, reconcile
from tests.support.polling import eventually
from tests.support.stack import RunningStack, stack_running
from workers.hypervisor.libvirt_adapter import LibvirtHost
from workers.iscsi import initiator_for, iqn_for


def disk_at(disks: list[dict[str, Any]], device: str) -> tuple[str, int, str] | None:
    found = [(d["iqn"], d["lun"], d["portal"]) for d in disks if d["device"] == device]
    return found[0] if found else None


async def test_a_restarted_storage_host_exports_its_attached_volume_again_where_it_was(
        database_url: str, nats_url: str, subject_prefix: str, tmp_path: Path) -> None:
    async with stack_running(database_url, nats_url, subject_prefix, tmp_path,
                             keep_streams=True) as first:
        server = await booted(first)
        host = server["OS-EXT-SRV-ATTR:host"]
        url, volume_id = await attached_volume(first, server)
        recorded = disk_at(await first.disks(host, server["id"]), "/dev/vdb")
        assert recorded is not None
    async with stack_running(database_url, nats_url, subject_prefix, tmp_path) as again:
        iqn = iqn_for(volume_id)

        async def exported_once() -> bool:
            return await asyncio.to_thread(exports_of, tmp_path, iqn) == 1

        await eventually(exported_once, what="the volume exported again once")
        assert (await wait_for_volume(again.http, url, "in-use", {}))["attachments"][0][
            "device"] == "/dev/vdb"
        assert disk_at(await again.disks(host, server["id"]), "/dev/vdb") == recorded
        portal = recorded[2]  # the guest's disk reaches the export again
        assert await lun_size(portal, iqn, initiator_for(host)) == 1 << 30
        assert (await reconcile(again, "storage1", dry_run=True)).changes == []


async def test_after_a_power_loss_the_storage_host_reconciles_each_export_once(
        running_stack: RunningStack, tmp_path: Path) -> None:
    server = await booted(running_stack)
    host = server["OS-EXT-SRV-ATTR:host"]
    url, volume_id = await attached_volume(running_stack, server)
    iqn = iqn_for(volume_id)
    assert exports_of(tmp_path, iqn) == 1

    cut = await power_loss(running_stack, "storage1")
    assert cut.returncode == 0, cut.stderr
    assert cut.stdout.splitlines() == ["storage1: power lost; 1 exports gone",
                                       f"  export of volume {volume_id}"]
    assert exports_of(tmp_path, iqn) == 0

    again = f"export volume {volume_id} again to {host} (server {server['id']}, /dev/vdb)"
    planned = await reconcile(running_stack, "storage1", dry_run=True)
    assert (planned.host, planned.role, planned.changes) == ("storage1", "storage", [again])
    assert planned.position > 0
    assert exports_of(tmp_path, iqn) == 0  # a dry run changes nothing

    assert (await reconcile(running_stack, "storage1", dry_run=False)).changes == [again]
    assert exports_of(tmp_path, iqn) == 1
    portal = disk_at(await running_stack.disks(host, server["id"]), "/dev/vdb")
    assert portal is not None
    assert iqn in await iscsi_targets(portal[2], initiator_for(host))
    assert await lun_size(portal[2], iqn, "iqn.2010-10.org.openstack:initiator-else") is None
    assert (await reconcile(running_stack, "storage1", dry_run=False)).changes == []
    assert exports_of(tmp_path, iqn) == 1
    assert (await wait_for_volume(running_stack.http, url, "in-use", {}))["status"] == "in-use"

    # detached afterwards as usual: the export made again is the one that ends
    r = await running_stack.http.delete(
        f"/compute/v2.1/servers/{server['id']}/os-volume_attachments/{volume_id}")
    assert r.status_code == 202, r.text
    await wait_for_volume(running_stack.http, url, "available", {})
    assert exports_of(tmp_path, iqn) == 0
    assert (await reconcile(running_stack, "storage1", dry_run=False)).changes == []


async def test_the_test_mode_exports_again_only_the_named_servers_volumes(
        running_stack: RunningStack, tmp_path: Path) -> None:
    first, second = await booted(running_stack), await booted(running_stack)
    _, first_volume = await attached_volume(running_stack, first)
    _, second_volume = await attached_volume(running_stack, second)
    cut = await power_loss(running_stack, "storage1")
    assert cut.stdout.splitlines()[0] == "storage1: power lost; 2 exports gone"

    only = await reconcile(running_stack, "storage1", dry_run=False, instance_id=first["id"])
    assert [line.split()[2] for line in only.changes] == [first_volume]
    assert exports_of(tmp_path, iqn_for(first_volume)) == 1
    assert exports_of(tmp_path, iqn_for(second_volume)) == 0
    rest = await reconcile(running_stack, "storage1", dry_run=False)
    assert [line.split()[2] for line in rest.changes] == [second_volume]
    assert [exports_of(tmp_path, iqn_for(v)) for v in (first_volume, second_volume)] == [1, 1]
    # the compute hosts' guests kept their disks through it all: nothing to attach
    for server in (first, second):
        host = server["OS-EXT-SRV-ATTR:host"]
        assert (await reconcile(running_stack, host, dry_run=True)).changes == []


async def test_a_guest_that_lost_its_disk_gets_it_again_at_its_mountpoint(
        database_url: str, nats_url: str, subject_prefix: str, tmp_path: Path) -> None:
    async with stack_running(database_url, nats_url, subject_prefix, tmp_path,
                             keep_streams=True) as first:
        server = await booted(first)
        other = await booted(first)
        host = server["OS-EXT-SRV-ATTR:host"]
        _, volume_id = await attached_volume(first, server)
        recorded = disk_at(await first.disks(host, server["id"]), "/dev/vdb")
    lost = LibvirtHost(host_uri(first.settings, host))  # the worker is stopped: its file
    try:
        lost.detach_disk(server["id"], "/dev/vdb")
    finally:
        lost.close()
    async with stack_running(database_url, nats_url, subject_prefix, tmp_path) as again:
        assert await again.disks(host, server["id"]) == []
        line = f"attach volume {volume_id} to server {server['id']} at /dev/vdb again"
        planned = await reconcile(again, host, dry_run=True)
        assert (planned.role, planned.changes) == ("compute", [line])
        assert await again.disks(host, server["id"]) == []
        assert (await reconcile(again, host, dry_run=False, instance_id=other["id"])
                ).changes == []  # the test mode touches only the instance named
        assert await again.disks(host, server["id"]) == []
        done = await reconcile(again, host, dry_run=False, instance_id=server["id"])
        assert done.changes == [line]
        assert disk_at(await again.disks(host, server["id"]), "/dev/vdb") == recorded
        assert (await reconcile(again, host, dry_run=False)).changes == []
