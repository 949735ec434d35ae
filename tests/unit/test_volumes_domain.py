"""The volume model: Cinder's statuses for create and delete, and volume quotas."""

from __future__ import annotations

import typing
from datetime import UTC, datetime

import msgspec
import pytest

from domain import quota as q
from domain import server_disks as d
from domain import volume as v
from domain.base import Pending
from domain.errors import InvalidInput, InvalidState, NotFound

AT = datetime(2026, 11, 26, tzinfo=UTC)


def created(size_gb: int = 1) -> v.Volume:
    event = v.create(request_id="r-create", project_id="p", user_id="u", name="data",
                     description="", size_gb=size_gb, volume_type="__DEFAULT__",
                     host="storage1", at=AT)
    return v.evolve(None, event, "vol-1")


def settle(state: v.Volume, *, ok: bool = True, reason: str = "") -> v.Volume:
    assert state.pending is not None
    event = v.complete(state, state.pending.request_id, step=state.pending.step, ok=ok,
                       reason=reason, at=AT)
    assert event is not None
    return v.evolve(state, event, state.id)


def test_a_new_volume_is_creating_on_its_storage_host_until_the_host_answers() -> None:
    state = created()
    assert (state.status, state.host, state.pending) == (
        v.Status.CREATING, "storage1", Pending("r-create", v.VolumeCreateRequested))
    assert settle(state).status is v.Status.AVAILABLE
    failed = settle(state, ok=False, reason="no space left")
    assert (failed.status, failed.fault) == (v.Status.ERROR, "no space left")


@pytest.mark.parametrize("size", [0, -1])
def test_a_volume_needs_a_positive_size(size: int) -> None:
    with pytest.raises(InvalidInput, match="must be an integer and greater than 0"):
        created(size)


def test_deleting_goes_through_deleting_and_a_refusal_leaves_error_deleting() -> None:
    available = settle(created())
    deleting = v.evolve(available, v.delete(available, request_id="r-del", at=AT), "vol-1")
    assert deleting.status is v.Status.DELETING
    assert settle(deleting).status is v.Status.DELETED
    stuck = settle(deleting, ok=False, reason="wipe failed")
    assert (stuck.status, stuck.fault) == (v.Status.ERROR_DELETING, "wipe failed")
    again = v.evolve(stuck, v.delete(stuck, request_id="r-del2", at=AT), "vol-1")
    assert again.status is v.Status.DELETING  # error_deleting may be deleted again


@pytest.mark.parametrize("status", [v.Status.CREATING, v.Status.DELETING, v.Status.IN_USE,
                                    v.Status.ATTACHING, v.Status.DETACHING])
def test_a_busy_or_attached_volume_is_not_deleted(status: v.Status) -> None:
    busy = msgspec.structs.replace(settle(created()), status=status)
    with pytest.raises(InvalidInput, match=f"current status: {status}"):
        v.delete(busy, request_id="r-del", at=AT)


def test_a_report_for_no_pending_request_changes_nothing() -> None:
    available = settle(created())
    create = v.VolumeCreateRequested
    assert v.complete(available, "r-create", step=create, ok=True, reason="", at=AT) is None
    assert v.complete(created(), "r-other", step=create, ok=False, reason="x", at=AT) is None
    assert v.complete(created(), "r-create", step=v.VolumeExported, ok=True, reason="",
                      at=AT) is None  # a report on another step of the same request


def test_volume_claims_count_volumes_and_gigabytes_against_the_limits() -> None:
    defaults = q.QuotaDefaults(volumes=2, gigabytes=10)
    state = None
    for n, size in enumerate((4, 5)):
        claim = q.claim_volume(state, defaults, project_id="p", volume_id=f"v{n}",
                               gigabytes=size, at=AT)
        state = q.evolve(state, claim, "quota")
    assert state is not None
    assert (state.in_use().volumes, state.in_use().gigabytes) == (2, 9)
    with pytest.raises(q.VolumeOverQuota, match="Requested 2G, quota is 10G and 9G"):
        q.claim_volume(state, defaults, project_id="p", volume_id="v3", gigabytes=2, at=AT)
    with pytest.raises(q.VolumeOverQuota, match=r"Maximum number of volumes allowed \(2\)"):
        q.claim_volume(state, defaults, project_id="p", volume_id="v3", gigabytes=1, at=AT)
    released = q.release_volume(state, "v0", AT)
    assert released is not None
    state = q.evolve(state, released, "quota")
    assert (state.in_use().volumes, state.in_use().gigabytes) == (1, 5)
    assert q.release_volume(state, "v0", AT) is None


def test_a_volume_larger_than_the_per_volume_limit_is_refused() -> None:
    with pytest.raises(q.VolumeOverQuota, match="larger than maximum allowed limit 3G"):
        q.claim_volume(None, q.QuotaDefaults(per_volume_gigabytes=3), project_id="p",
                       volume_id="v", gigabytes=4, at=AT)


def attached(state: v.Volume) -> v.Volume:
    """``state`` attached to server s-1 on compute1 at /dev/vdb, both hosts done."""
    asked = v.attach(state, request_id="r-att", server_id="s-1", compute_host="compute1",
                     device="/dev/vdb", at=AT)
    state = v.evolve(state, asked, state.id)
    target = v.Target(portal="127.0.0.1:3260", iqn="iqn.x:volume-vol-1", lun=1)
    exported = v.complete(state, "r-att", step=v.VolumeAttachRequested, ok=True, reason="",
                          at=AT, target=target)
    assert isinstance(exported, v.VolumeExported) and exported.host == "compute1"
    state = v.evolve(state, exported, state.id)
    assert state.status is v.Status.ATTACHING
    return settle(state)


def test_an_attach_exports_on_the_storage_host_then_adds_the_disk_on_the_compute_host() -> None:
    state = attached(settle(created()))
    assert (state.status, state.server_id, state.device, state.iqn) == (
        v.Status.IN_USE, "s-1", "/dev/vdb", "iqn.x:volume-vol-1")


def test_a_detach_removes_the_disk_then_ends_the_export() -> None:
    state = attached(settle(created()))
    asked = v.detach(state, request_id="r-det", server_id="s-1", at=AT)
    assert (asked.host, asked.device) == ("compute1", "/dev/vdb")
    state = v.evolve(state, asked, state.id)
    unexport = v.complete(state, "r-det", step=v.VolumeDetachRequested, ok=True, reason="",
                          at=AT)
    assert isinstance(unexport, v.VolumeUnexportRequested) and unexport.host == "storage1"
    state = settle(v.evolve(state, unexport, state.id))
    assert (state.status, state.server_id, state.iqn) == (v.Status.AVAILABLE, None, None)


def test_attach_and_detach_refuse_what_cinder_and_nova_refuse() -> None:
    in_use = attached(settle(created()))
    with pytest.raises(InvalidState, match="must be available"):  # one attachment at a time
        v.attach(in_use, request_id="r2", server_id="s-2", compute_host="compute2",
                 device="/dev/vdb", at=AT)
    with pytest.raises(NotFound):
        v.detach(in_use, request_id="r2", server_id="s-2", at=AT)  # not attached there
    with pytest.raises(NotFound):
        v.detach(settle(created()), request_id="r2", server_id="s-1", at=AT)
    with pytest.raises(InvalidInput, match="in-use"):
        v.delete(in_use, request_id="r2", at=AT)


def test_a_refused_attach_leaves_the_volume_available_and_a_refused_detach_in_use() -> None:
    available = settle(created())
    asked = v.evolve(available, v.attach(available, request_id="r-att", server_id="s-1",
                                         compute_host="compute1", device="/dev/vdb", at=AT),
                     "vol-1")
    failed = settle(asked, ok=False, reason="no iSCSI target")
    assert (failed.status, failed.server_id, failed.fault) == (
        v.Status.AVAILABLE, None, "no iSCSI target")
    in_use = attached(available)
    asked = v.evolve(in_use, v.detach(in_use, request_id="r-det", server_id="s-1", at=AT),
                     "vol-1")
    stuck = settle(asked, ok=False, reason="guest busy")
    assert (stuck.status, stuck.server_id) == (v.Status.IN_USE, "s-1")


def deleting_server(state: v.Volume) -> v.Volume:
    """``state`` after its server s-1's delete recorded what it decided for it."""
    for event in v.detach_for_server_delete(state, server_id="s-1", request_id="r-del",
                                            at=AT):
        state = v.evolve(state, event, state.id)
    return state


def test_a_server_delete_asks_an_attached_volume_to_detach_at_once() -> None:
    in_use = attached(settle(created()))
    events = v.detach_for_server_delete(in_use, server_id="s-1", request_id="r-del", at=AT)
    assert [type(e).__name__ for e in events] == ["VolumeDetachOnDeleteRequested",
                                                  "VolumeDetachRequested"]
    state = deleting_server(in_use)
    assert (state.status, state.pending, state.server_deleting) == (
        v.Status.DETACHING, Pending("r-del", v.VolumeDetachRequested), True)
    state = settle(settle(state))  # the compute host, then the storage host
    assert (state.status, state.server_id, state.iqn, state.server_deleting) == (
        v.Status.AVAILABLE, None, None, False)


def test_a_server_delete_leaves_other_servers_volumes_and_asks_only_once() -> None:
    in_use = attached(settle(created()))
    assert v.detach_for_server_delete(in_use, server_id="s-2", request_id="r", at=AT) == []
    assert v.detach_for_server_delete(settle(created()), server_id="s-1", request_id="r",
                                      at=AT) == []
    again = deleting_server(in_use)  # a force delete after the delete
    assert v.detach_for_server_delete(again, server_id="s-1", request_id="r2", at=AT) == []


def test_a_volume_still_being_exported_when_its_server_is_deleted_ends_the_export_instead(
) -> None:
    available = settle(created())
    asked = v.evolve(available, v.attach(available, request_id="r-att", server_id="s-1",
                                         compute_host="compute1", device="/dev/vdb", at=AT),
                     "vol-1")
    state = deleting_server(asked)
    assert (state.status, state.pending) == (  # still in flight
        v.Status.DETACHING, Pending("r-att", v.VolumeAttachRequested))
    target = v.Target(portal="127.0.0.1:3260", iqn="iqn.x:volume-vol-1", lun=1)
    step = v.complete(state, "r-att", step=v.VolumeAttachRequested, ok=True, reason="",
                      at=AT, target=target)
    assert isinstance(step, v.VolumeUnexportRequested) and step.host == "storage1"
    state = settle(v.evolve(state, step, state.id))
    assert (state.status, state.server_id) == (v.Status.AVAILABLE, None)


def test_a_volume_whose_disk_is_being_added_when_its_server_is_deleted_has_it_taken_away(
) -> None:
    available = settle(created())
    state = v.evolve(available, v.attach(available, request_id="r-att", server_id="s-1",
                                         compute_host="compute1", device="/dev/vdb", at=AT),
                     "vol-1")
    target = v.Target(portal="127.0.0.1:3260", iqn="iqn.x:volume-vol-1", lun=1)
    exported = v.complete(state, "r-att", step=v.VolumeAttachRequested, ok=True, reason="",
                          at=AT, target=target)
    assert exported is not None
    state = deleting_server(v.evolve(state, exported, "vol-1"))
    step = v.complete(state, "r-att", step=v.VolumeExported, ok=True, reason="", at=AT)
    assert isinstance(step, v.VolumeDetachRequested) and step.host == "compute1"
    state = settle(settle(v.evolve(state, step, state.id)))
    assert (state.status, state.server_id) == (v.Status.AVAILABLE, None)


def test_a_compute_hosts_refusal_does_not_keep_a_deleted_servers_volume_exported() -> None:
    state = deleting_server(attached(settle(created())))
    step = v.complete(state, "r-del", step=v.VolumeDetachRequested, ok=False,
                      reason="guest busy", at=AT)
    assert isinstance(step, v.VolumeUnexportRequested)  # the guest is going anyway
    state = settle(v.evolve(state, step, state.id))
    assert (state.status, state.server_id) == (v.Status.AVAILABLE, None)


def test_a_refused_unexport_of_a_deleted_servers_volume_leaves_it_available_with_the_fault(
) -> None:
    state = settle(deleting_server(attached(settle(created()))))  # the disk is gone
    assert state.pending is not None and state.pending.step is v.VolumeUnexportRequested
    state = settle(state, ok=False, reason="tgtadm: can't find the target")
    assert (state.status, state.server_id, state.fault) == (
        v.Status.AVAILABLE, None, "tgtadm: can't find the target")
    assert v.delete(state, request_id="r-rm", at=AT).host == "storage1"  # it unexports first


def test_a_server_delete_lists_the_volumes_its_disks_hold_for_the_detach() -> None:
    disks = None
    for device, volume_id in (("/dev/vdb", "vol-1"), ("/dev/vdc", "vol-2")):
        disks = d.evolve(disks, d.reserve(disks, server_id="s-1", volume_id=volume_id,
                                          wanted=device, at=AT), "s-1")
    detach = d.detach_all(disks, server_id="s-1", at=AT)
    assert detach.volume_ids == ["vol-1", "vol-2"]
    assert d.evolve(disks, detach, "s-1") == disks  # each device is given back by its detach
    assert d.detach_all(None, server_id="s-2", at=AT).volume_ids == []


def test_every_step_a_host_takes_has_its_row_in_the_saga_table() -> None:
    hosts_steps = {*typing.get_args(v.StorageStep), *typing.get_args(v.ComputeStep)}
    assert set(v.STEPS) == hosts_steps
    for row in v.STEPS.values():  # each goes on with a step, or ends
        assert (row.then is None) != (row.done is None)
        assert {row.then, row.server_going_then, row.server_going_failed} - {None} <= hosts_steps
