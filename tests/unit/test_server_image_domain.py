"""createImage as pure decisions: every phase of a snapshot, its refusals in
Nova's words, how it ends (done, failed, past its deadline, interrupted by a
delete), and the hypervisor's part on the strict fake host."""

from __future__ import annotations

import uuid
from datetime import timedelta

import msgspec
import pytest

from domain import deadlines
from domain import events as ev
from domain import image as image_model
from domain import instance as model
from domain import server_image as rules
from domain.base import Pending
from domain.errors import Forbidden, InvalidInput, InvalidState
from domain.image import ImageState
from tests.unit.test_instance_lifecycle import AT, booted, finish, start
from workers.hypervisor.fake import FakeHost
from workers.hypervisor.port import GuestError, GuestSpec, GuestState
from workers.hypervisor.worker import converge

VmState, TaskState = model.VmState, model.TaskState


def asked(state: model.Instance, rid: str = "r-snap", *, is_admin: bool = False,
          name: object = "snap", metadata: dict[str, str] | None = None,
          ) -> tuple[ev.InstanceSnapshotRequested, image_model.ImageCreated]:
    return rules.request(state, None, request_id=rid, at=AT, user_id="u", is_admin=is_admin,
                         name=name, metadata=metadata or {}, base=None)  # type: ignore[arg-type]


def snapshotting(state: model.Instance | None = None,
                 rid: str = "r-snap") -> tuple[model.Instance, ImageState]:
    state = state or booted()
    request, created = asked(state, rid)
    image = image_model.evolve(None, created, request.image_id)
    return model.evolve(state, request, state.id), image


def taken(state: model.Instance, rid: str = "r-snap") -> model.Instance:
    step = rules.taken(state, rid, image_file="/outbox/x.qcow2", at=AT)
    assert step is not None
    return model.evolve(state, step, state.id)


def test_a_request_reserves_a_private_queued_image_with_nova_s_properties() -> None:
    state = booted()
    request, created = asked(state, metadata={"purpose": "test"})
    assert request.image_id == rules.image_id_for("r-snap") and request.host == "h1"
    image = image_model.evolve(None, created, request.image_id)
    assert (image.status, image.visibility, image.owner, image.disk_format,
            image.container_format, image.name) == (
        "queued", "private", "p", "qcow2", "bare", "snap")
    assert created.properties == {"instance_uuid": "i-1", "image_type": "snapshot",
                                  "base_image_ref": state.image_ref, "user_id": "u",
                                  "purpose": "test"}


def test_a_user_s_metadata_cannot_overwrite_what_nova_sets() -> None:
    _, created = asked(booted(), metadata={"image_type": "mine"})
    assert created.properties["image_type"] == "snapshot"


def test_a_snapshot_goes_through_nova_s_task_states_and_keeps_the_vm_state() -> None:
    state, image = snapshotting()
    assert (state.vm_state, state.task_state, state.snapshot_image) == (
        VmState.ACTIVE, TaskState.IMAGE_SNAPSHOT, image.id)
    assert model.status(state.vm_state, state.task_state) == "ACTIVE"
    state = taken(state)
    assert (state.task_state, state.snapshot_file) == (
        TaskState.IMAGE_PENDING_UPLOAD, "/outbox/x.qcow2")
    steps = rules.upload(state, image, at=AT, owner="lease-1", owner_alive=False)
    for step in steps:
        if isinstance(step, image_model.ImageEvent):
            image = image_model.evolve(image, step, image.id)
        else:
            state = model.evolve(state, step, state.id)
    assert (state.task_state, image.status, image.upload_owner) == (
        TaskState.IMAGE_UPLOADING, "saving", "lease-1")
    activated, done = rules.finish(state, image, at=AT, size=3, checksum="c",
                                   os_hash_algo="sha512", os_hash_value="h")
    image = image_model.evolve(image, activated, image.id)
    state = model.evolve(state, done, state.id)
    assert (image.status, image.size, image.checksum) == ("active", 3, "c")
    assert (state.vm_state, state.task_state, state.power_state, state.pending,
            state.snapshot_image) == (VmState.ACTIVE, None, model.PowerState.RUNNING, None,
                                      None)


@pytest.mark.parametrize("action", [ev.InstanceStopRequested, ev.InstancePauseRequested,
                                    ev.InstanceSuspendRequested])
def test_a_stopped_paused_or_suspended_server_may_be_snapshotted_and_stays_so(
        action: type[ev.InstanceRequested]) -> None:
    state = finish(start(booted(), action, "r-first"), "r-first")
    before = state.vm_state
    state, image = snapshotting(state)
    state = taken(state)
    image = image_model.evolve(image, rules.upload(state, image, at=AT, owner="o",
                                                   owner_alive=False)[0], image.id)
    _, done = rules.finish(state, image, at=AT, size=1, checksum="c", os_hash_algo="sha512",
                           os_hash_value="h")
    assert model.evolve(state, done, state.id).vm_state == before != VmState.ACTIVE


def test_a_report_delivered_again_takes_nothing_again() -> None:
    state = taken(snapshotting()[0])
    assert rules.taken(state, "r-snap", image_file="/outbox/x.qcow2", at=AT) is None
    assert rules.taken(state, "r-other", image_file="/outbox/x.qcow2", at=AT) is None


def test_an_upload_in_progress_in_a_live_process_is_not_taken_twice() -> None:
    state, image = snapshotting()
    state = taken(state)
    started = rules.upload(state, image, at=AT, owner="o", owner_alive=False)
    image = image_model.evolve(image, started[0], image.id)
    assert rules.upload(state, image, at=AT, owner="o", owner_alive=True) == []
    again = rules.upload(state, image, at=AT, owner="o2", owner_alive=False)
    assert [type(e) for e in again] == [image_model.ImageUploadFailed,
                                        image_model.ImageUploadStarted,
                                        ev.InstanceSnapshotUploading]


def test_a_failure_ends_the_snapshot_with_its_reason_and_discards_the_image() -> None:
    state, image = snapshotting()
    failed = rules.fail(state, "r-snap", at=AT, reason="qemu-img convert failed")
    assert failed is not None
    ended = model.evolve(state, failed, state.id)
    assert (ended.vm_state, ended.task_state, ended.fault, ended.snapshot_image) == (
        VmState.ACTIVE, None, "qemu-img convert failed", None)
    gone = rules.discard(image, request_id="r-snap", at=AT)
    assert gone is not None and image_model.evolve(image, gone, image.id).status == "deleted"
    assert rules.discard(image_model.evolve(image, gone, image.id), request_id="r",
                         at=AT) is None
    assert rules.fail(ended, "r-snap", at=AT, reason="again") is None


def test_a_snapshot_past_its_deadline_fails_counting_from_its_last_phase() -> None:
    state = taken(snapshotting()[0])
    later = msgspec.structs.replace(state, pending=Pending(
        "r-snap", ev.InstanceSnapshotRequested, AT + timedelta(seconds=100)))
    assert deadlines.expire_instance(later, AT + timedelta(seconds=350),
                                     timedelta(seconds=300)) is None
    ended = deadlines.expire_instance(later, AT + timedelta(seconds=401),
                                      timedelta(seconds=300))
    assert isinstance(ended, ev.InstanceOperationFailed)
    assert model.evolve(later, ended, later.id).task_state is None


def test_a_delete_interrupts_a_snapshot() -> None:
    state, _ = snapshotting()
    deleting = start(state, ev.InstanceDeleteRequested, "r-del")
    assert (deleting.task_state, deleting.snapshot_image) == (TaskState.DELETING, None)
    assert not rules.in_flight(deleting)


@pytest.mark.parametrize(("name", "words"), [
    ("", "1 to 255"), ("x" * 256, "1 to 255"), (None, "not of type 'string'"),
    (" lead", "leading or trailing"), ("trail ", "leading or trailing"),
    ("bell\x07", "control characters")])
def test_a_bad_name_is_refused(name: object, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        asked(booted(), name=name)


def test_too_many_metadata_items_are_refused() -> None:
    with pytest.raises(Forbidden, match="exceeds 128"):
        asked(booted(), metadata={f"k{i}": "v" for i in range(129)})


def test_a_server_busy_or_in_a_state_nova_refuses_cannot_be_snapshotted() -> None:
    state = start(booted(), ev.InstancePauseRequested, "r-pause")
    with pytest.raises(InvalidState, match="Cannot 'createImage' instance i-1 while it is in "
                                           "task_state pausing"):
        asked(state)
    busy, _ = snapshotting()
    with pytest.raises(InvalidState, match="task_state image_snapshot"):
        asked(busy, "r-again")
    building = booted(spawned=False)
    with pytest.raises(InvalidState, match="task_state spawning"):
        asked(building)
    broken = finish(building, "r-boot", ok=False, reason="no")
    with pytest.raises(InvalidState, match="Cannot 'createImage' instance i-1 while it is in "
                                           "vm_state error"):
        asked(broken)


def test_a_locked_server_is_refused_to_all_but_admins() -> None:
    locked = msgspec.structs.replace(booted(), locked=True)
    with pytest.raises(InvalidState, match="Instance i-1 is locked"):
        asked(locked)
    assert asked(locked, is_admin=True)[0].image_id


def test_a_deleted_server_is_not_found() -> None:
    gone = finish(start(booted(), ev.InstanceDeleteRequested, "r-del"), "r-del")
    with pytest.raises(InvalidState, match="could not be found"):
        asked(gone)


def test_an_image_id_already_taken_is_refused() -> None:
    state = booted()
    _, created = asked(state)
    existing = image_model.evolve(None, created, rules.image_id_for("r-snap"))
    with pytest.raises(InvalidState, match="already exists"):
        rules.request(state, existing, request_id="r-snap", at=AT, user_id="u",
                      is_admin=False, name="snap", metadata={}, base=None)


def test_the_host_copies_a_guest_in_any_state_and_reports_the_copy_again() -> None:
    host = FakeHost()
    instance_id = str(uuid.uuid4())
    host.define(GuestSpec(instance_id=instance_id, name="vm", vcpus=1, memory_mb=512))
    request = ev.InstanceSnapshotRequested(request_id="r", at=AT, host="h1", user_id="u",
                                           image_id="img-1")
    first = converge(host, instance_id, request)
    assert first and host.snapshots == {"img-1": instance_id}
    assert host.state(instance_id) is GuestState.SHUTOFF  # a copy changes nothing
    assert converge(host, instance_id, request) == first  # delivered again: the same copy


def test_the_host_refuses_to_copy_a_guest_it_does_not_have_or_when_qemu_img_fails() -> None:
    host = FakeHost()
    request = ev.InstanceSnapshotRequested(request_id="r", at=AT, host="h1", user_id="u",
                                           image_id="img-1")
    with pytest.raises(GuestError, match="does not exist"):
        converge(host, "absent", request)
    host.define(GuestSpec(instance_id="i-2", name="vm", vcpus=1, memory_mb=512))
    host.snapshot_fails = True
    with pytest.raises(GuestError, match="qemu-img convert"):
        converge(host, "i-2", request)
    assert host.snapshots == {}


def test_a_host_s_success_alone_never_ends_a_snapshot_without_its_image() -> None:
    state, _ = snapshotting()
    assert model.complete(state, "r-snap", ok=True, at=AT) is None
    assert isinstance(model.complete(state, "r-snap", ok=False, at=AT, reason="no"),
                      ev.InstanceOperationFailed)
