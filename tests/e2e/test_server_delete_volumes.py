"""A server's delete detaches its volumes, with the whole stack: real tgtd
exports, libvirt's test driver, the storage and hypervisor workers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError

from commands.messages import BootInstance, Caller, DeleteInstance
from commands.volumes import AttachVolume, CreateVolume, detach_for_server_delete
from domain.base import Pending
from domain.volume import Status, VolumeAttachRequested
from messaging.wire import HostOutcome, StepOutcome
from tests.e2e.test_volumes_api import booted, iscsi_targets, volumes_of, wait_for_volume
from tests.support.cloud import IMAGE, ROOMY, open_cloud
from tests.support.stack import RunningStack

NOW = datetime(2026, 12, 1, tzinfo=UTC)


async def attached_volume(stack: RunningStack, server: dict[str, Any],
                          settle: bool = True) -> tuple[str, str]:
    """A new volume attached to ``server``: its URL and id (in-use when ``settle``)."""
    http = stack.http
    base = volumes_of(server["tenant_id"])
    r = await http.post(base, json={"volume": {"size": 1}})
    volume_id = r.json()["volume"]["id"]
    url = f"{base}/{volume_id}"
    await wait_for_volume(http, url, "available", {})
    r = await http.post(f"/compute/v2.1/servers/{server['id']}/os-volume_attachments",
                        json={"volumeAttachment": {"volumeId": volume_id}})
    assert r.status_code == 200, r.text
    if settle:
        await wait_for_volume(http, url, "in-use", {})
    return url, volume_id


async def usage(stack: RunningStack, project: str) -> tuple[int, int, int]:
    """(instances, volumes, gigabytes) the project's quotas count as in use."""
    compute = (await stack.http.get(f"/compute/v2.1/os-quota-sets/{project}/detail")).json()
    volume = (await stack.http.get(f"/volume/v3/{project}/os-quota-sets/{project}",
                                   params={"usage": "True"})).json()["quota_set"]
    return (compute["quota_set"]["instances"]["in_use"], volume["volumes"]["in_use"],
            volume["gigabytes"]["in_use"])


@pytest.mark.parametrize("how", ["delete", "forceDelete"])
async def test_deleting_a_server_detaches_its_volume_which_is_then_available_and_deletable(
        running_stack: RunningStack, how: str) -> None:
    http = running_stack.http
    server = await booted(running_stack)
    host, project = server["OS-EXT-SRV-ATTR:host"], server["tenant_id"]
    url, volume_id = await attached_volume(running_stack, server)
    portal = (await running_stack.disks(host, server["id"]))[0]["portal"]
    iqn = f"iqn.2010-10.org.openstack:volume-{volume_id}"
    initiator = f"iqn.2010-10.org.openstack:initiator-{host}"
    assert iqn in await iscsi_targets(portal, initiator)
    assert await usage(running_stack, project) == (1, 1, 1)

    if how == "delete":
        r = await http.delete(f"/compute/v2.1/servers/{server['id']}")
        assert r.status_code == 204, r.text
    else:
        r = await http.post(f"/compute/v2.1/servers/{server['id']}/action",
                            json={"forceDelete": None})
        assert r.status_code == 202, r.text
    await running_stack.wait_until_gone(server["id"])

    shown = await wait_for_volume(http, url, "available", {})
    assert shown["attachments"] == []
    assert iqn not in await iscsi_targets(portal, initiator)  # the export ended
    assert await running_stack.guests(host) == []  # and no guest came back from the detach
    assert await usage(running_stack, project) == (0, 1, 1)
    r = await http.post(f"/compute/v2.1/servers/{server['id']}/os-volume_attachments",
                        json={"volumeAttachment": {"volumeId": volume_id}})
    assert r.status_code == 404, r.text  # the server is gone, not the volume's attachment

    r = await http.delete(url)
    assert r.status_code == 202, r.text
    await wait_for_volume(http, url, None, {})
    assert await usage(running_stack, project) == (0, 0, 0)


async def test_a_volume_still_attaching_when_its_server_is_deleted_ends_available_unexported(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    server = await booted(running_stack)
    host = server["OS-EXT-SRV-ATTR:host"]
    settled_url, settled_id = await attached_volume(running_stack, server)
    portal = (await running_stack.disks(host, server["id"]))[0]["portal"]
    busy_url, busy_id = await attached_volume(running_stack, server, settle=False)
    r = await http.delete(f"/compute/v2.1/servers/{server['id']}")  # one attach in flight
    assert r.status_code == 204, r.text
    await running_stack.wait_until_gone(server["id"])
    initiator = f"iqn.2010-10.org.openstack:initiator-{host}"
    for url, volume_id in ((settled_url, settled_id), (busy_url, busy_id)):
        shown = await wait_for_volume(http, url, "available", {})
        assert shown["attachments"] == []
        iqn = f"iqn.2010-10.org.openstack:volume-{volume_id}"
        assert iqn not in await iscsi_targets(portal, initiator)
        r = await http.delete(url)
        assert r.status_code == 202, r.text
        await wait_for_volume(http, url, None, {})
    assert await running_stack.guests(host) == []


def test_a_delete_deciding_while_an_attach_commits_conflicts_and_sees_the_volume(
        database_url: str) -> None:
    """The delete writes the server's disks too: what it decided before a
    racing attach committed cannot be saved, and deciding again detaches."""
    cloud = open_cloud(database_url, ["h1"], limits=ROOMY)
    try:
        admin = Caller(user_id="u-admin", project_id="p-1", is_admin=True)
        booted_id = cloud.instances.boot(BootInstance(
            request_id="r-boot", caller=admin, name="vm", flavor_ref="1",
            image_ref=IMAGE)).instance_id
        cloud.instances.record_outcome(HostOutcome(
            instance_id=booted_id, request_id="r-boot", host="h1", ok=True, at=NOW))
        volume = cloud.volumes.create(CreateVolume(request_id="r-vol", caller=admin,
                                                   size_gb=1)).state
        cloud.volumes.record_outcome(StepOutcome(
            aggregate_id=volume.id, request_id="r-vol", step="VolumeCreateRequested",
            host="storage1", ok=True, at=NOW))

        decided = detach_for_server_delete(cloud.app, booted_id, "r-del", NOW)  # sees no volume
        cloud.volumes.attach(AttachVolume(request_id="r-att", caller=admin,
                                          server_id=booted_id, volume_id=volume.id))
        with pytest.raises(IntegrityError):
            cloud.app.commit(*decided)

        cloud.instances.act(DeleteInstance(request_id="r-del", caller=admin,
                                           instance_id=booted_id))
        state = cloud.volumes.volume(volume.id, admin)
        assert (state.status, state.server_deleting, state.pending) == (  # it detaches
            Status.DETACHING, True, Pending("r-att", VolumeAttachRequested))  # once exported
    finally:
        cloud.close()
