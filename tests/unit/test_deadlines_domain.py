"""Deadlines in the domain: an operation with no host answer ends as a refusal would."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain import deadlines
from domain import events as ev
from domain import instance as model
from domain import snapshot as snap
from domain import volume as v
from domain.base import Pending
from domain.catalog import FLAVORS
from domain.copies import Status
from tests.unit.test_instance_lifecycle import AT, IMAGE, booted, start
from tests.unit.test_volumes_domain import AT as VOLUME_AT
from tests.unit.test_volumes_domain import attached, created, deleting_server, settle

DEADLINE = timedelta(seconds=300)
LATER = AT + DEADLINE
VOLUME_LATER = VOLUME_AT + DEADLINE


def test_nothing_ends_before_the_deadline_nor_when_nothing_is_pending() -> None:
    building = booted(spawned=False)
    assert deadlines.expire_instance(building, LATER - timedelta(seconds=1), DEADLINE) is None
    assert deadlines.expire_instance(booted(), LATER + DEADLINE, DEADLINE) is None


def test_a_boot_with_no_answer_ends_in_error_with_the_reason_in_its_fault() -> None:
    building = booted(spawned=False)
    failed = deadlines.expire_instance(building, LATER, DEADLINE)
    assert isinstance(failed, ev.InstanceOperationFailed)
    assert failed.request_id == "r-boot"
    state = model.evolve(building, failed, building.id)
    assert (state.vm_state, state.task_state, state.fault, state.fault_at) == (
        model.VmState.ERROR, None, "no answer from host h1 within 300 s", LATER)


def test_a_pause_with_no_answer_is_active_again_and_a_late_answer_changes_nothing() -> None:
    pausing = start(booted(), ev.InstancePauseRequested, "r-p")
    failed = deadlines.expire_instance(pausing, LATER, DEADLINE)
    assert failed is not None
    state = model.evolve(pausing, failed, pausing.id)
    assert (state.vm_state, state.task_state, state.pending) == (
        model.VmState.ACTIVE, None, None)
    assert model.complete(state, "r-p", ok=True, at=LATER) is None
    assert deadlines.expire_instance(state, LATER + DEADLINE, DEADLINE) is None


def test_the_deadline_runs_from_when_the_host_was_asked() -> None:
    boot_at = booted().updated_at
    later_pause = model.request(booted(), ev.InstancePauseRequested, request_id="r-p",
                                at=boot_at + DEADLINE, user_id="u")
    pausing = model.evolve(booted(), later_pause, "i-1")
    assert pausing.pending == Pending("r-p", ev.InstancePauseRequested)
    assert pausing.pending is not None and pausing.pending.at == boot_at + DEADLINE
    assert deadlines.expire_instance(pausing, boot_at + DEADLINE * 2 - timedelta(seconds=1),
                                     DEADLINE) is None
    assert deadlines.expire_instance(pausing, boot_at + DEADLINE * 2, DEADLINE) is not None


def test_a_started_guest_whose_ports_are_not_plugged_names_the_ports() -> None:
    nic = ev.Nic(port_id="port-1", network_id="n", mac="fa:16:3e:00:00:01", bridge="br100")
    event = model.create("i-1", request_id="r-boot", at=AT, project_id="p", user_id="u",
                         name="vm", flavor=FLAVORS["2"], image=IMAGE, host="h1",
                         nics=[nic])
    state = model.evolve(None, event, "i-1")
    started = model.complete(state, "r-boot", ok=True, at=AT)
    assert isinstance(started, ev.InstanceGuestStarted)
    state = model.evolve(state, started, "i-1")
    failed = deadlines.expire_instance(state, LATER, DEADLINE)
    assert isinstance(failed, ev.InstanceOperationFailed)
    assert failed.reason == "the ports port-1 were not plugged by a network host within 300 s"


def test_a_volume_create_with_no_answer_is_in_error() -> None:
    state = created()
    failed = deadlines.expire_volume(state, VOLUME_LATER, DEADLINE)
    assert isinstance(failed, v.VolumeFailed)
    after = v.evolve(state, failed, state.id)
    assert (after.status, after.fault) == (
        v.Status.ERROR, "no answer from host storage1 within 300 s")


def test_an_attach_whose_compute_host_never_answers_leaves_the_volume_available() -> None:
    available = settle(created())
    state = v.evolve(available, v.attach(available, request_id="r-att", server_id="s-1",
                                         compute_host="compute1", device="/dev/vdb", at=VOLUME_AT),
                     "vol-1")
    target = v.Target(portal="127.0.0.1:3260", iqn="iqn.x:volume-vol-1", lun=1)
    exported = v.complete(state, "r-att", step=v.VolumeAttachRequested, ok=True, reason="",
                          at=VOLUME_AT, target=target)
    assert exported is not None
    state = v.evolve(state, exported, state.id)
    failed = deadlines.expire_volume(state, VOLUME_LATER, DEADLINE)
    assert isinstance(failed, v.VolumeFailed)
    assert failed.reason == "no answer from host compute1 within 300 s"
    after = v.evolve(state, failed, state.id)
    assert (after.status, after.server_id, after.pending) == (v.Status.AVAILABLE, None, None)
    assert v.complete(after, "r-att", step=v.VolumeExported, ok=True, reason="",
                      at=VOLUME_LATER) is None  # the compute host's late answer


def test_a_detach_for_a_going_server_goes_on_to_the_storage_host_when_compute_is_silent(
) -> None:
    state = deleting_server(attached(settle(created())))
    step = deadlines.expire_volume(state, VOLUME_LATER, DEADLINE)
    assert isinstance(step, v.VolumeUnexportRequested) and step.host == "storage1"


def test_a_snapshot_with_no_answer_is_in_error() -> None:
    volume = settle(created())
    taken = snap.take(volume, request_id="r-snap", user_id="u", name="s", description="",
                      force=False, at=VOLUME_AT)
    state = snap.evolve(None, taken, "snap-1")
    failed = deadlines.expire_snapshot(state, VOLUME_LATER, DEADLINE)
    assert isinstance(failed, snap.SnapshotFailed)
    assert snap.evolve(state, failed, "snap-1").status is Status.ERROR


@pytest.mark.parametrize(("seconds", "said"), [(300, "300"), (0.5, "0.5")])
def test_the_reason_names_the_host_and_the_deadline(seconds: float, said: str) -> None:
    assert deadlines.no_answer("compute1", timedelta(seconds=seconds)) == (
        f"no answer from host compute1 within {said} s")

