"""The instance state machine: every legal and illegal transition of every operation."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from domain import events as ev
from domain import instance as model
from domain import instance_boot as boot_rules
from domain import instance_changes as changes
from domain.base import Pending
from domain.catalog import FLAVORS, IMAGES
from domain.errors import Forbidden, InvalidInput, InvalidState, NotFound

AT = datetime(2026, 1, 1, tzinfo=UTC)
IMAGE = next(iter(IMAGES.values()))
VmState, TaskState, PowerState = model.VmState, model.TaskState, model.PowerState


def booted(*, spawned: bool = True) -> model.Instance:
    event = model.create("i-1", request_id="r-boot", at=AT, project_id="p", user_id="u",
                         name="vm", flavor=FLAVORS["2"], image=IMAGE, host="h1")
    state = model.evolve(None, event, "i-1")
    if spawned:
        state = finish(state, "r-boot")
    return state


def start(state: model.Instance, kind: type[ev.InstanceRequested], rid: str) -> model.Instance:
    return model.evolve(state, model.request(state, kind, request_id=rid, at=AT, user_id="u"),
                        state.id)


def finish(state: model.Instance, rid: str, ok: bool = True, reason: str = "") -> model.Instance:
    outcome = model.complete(state, rid, ok=ok, at=AT, reason=reason)
    assert outcome is not None
    return model.evolve(state, outcome, state.id)


def test_a_new_instance_is_building_and_spawning_on_its_host() -> None:
    state = booted(spawned=False)
    assert (state.vm_state, state.task_state, state.power_state) == (
        VmState.BUILDING, TaskState.SPAWNING, PowerState.NOSTATE)
    assert model.status(state.vm_state, state.task_state) == "BUILD"
    assert (state.host, state.vcpus, state.memory_mb) == ("h1", 1, 2048)


def test_a_spawned_instance_is_active_and_running_with_a_launch_time() -> None:
    state = booted()
    assert (state.vm_state, state.task_state, state.power_state) == (
        VmState.ACTIVE, None, PowerState.RUNNING)
    assert state.launched_at == AT and state.pending is None


def test_a_failed_spawn_puts_the_instance_in_error_with_the_fault() -> None:
    state = finish(booted(spawned=False), "r-boot", ok=False, reason="no space")
    assert state.vm_state == VmState.ERROR and state.fault == "no space"
    assert model.status(state.vm_state, state.task_state) == "ERROR"


def test_pausing_an_active_instance_goes_through_pausing_to_paused() -> None:
    state = start(booted(), ev.InstancePauseRequested, "r-p")
    assert (state.vm_state, state.task_state) == (VmState.ACTIVE, TaskState.PAUSING)
    state = finish(state, "r-p")
    assert (state.vm_state, state.task_state, state.power_state) == (
        VmState.PAUSED, None, PowerState.PAUSED)


def test_unpausing_a_paused_instance_makes_it_active_and_running_again() -> None:
    state = finish(start(booted(), ev.InstancePauseRequested, "r-p"), "r-p")
    state = start(state, ev.InstanceUnpauseRequested, "r-u")
    assert state.task_state == TaskState.UNPAUSING
    state = finish(state, "r-u")
    assert (state.vm_state, state.power_state) == (VmState.ACTIVE, PowerState.RUNNING)


def test_a_failed_pause_keeps_the_instance_active_and_clears_the_task() -> None:
    state = finish(start(booted(), ev.InstancePauseRequested, "r-p"), "r-p", ok=False,
                   reason="guest crashed")
    assert (state.vm_state, state.task_state, state.fault) == (
        VmState.ACTIVE, None, "guest crashed")


@pytest.mark.parametrize("spawned", [True, False])
def test_deleting_an_instance_ends_in_deleted_with_a_termination_time(spawned: bool) -> None:
    state = start(booted(spawned=spawned), ev.InstanceDeleteRequested, "r-d")
    assert state.task_state == TaskState.DELETING
    state = finish(state, "r-d")
    assert (state.vm_state, state.power_state, state.deleted_at) == (
        VmState.DELETED, PowerState.NOSTATE, AT)


def test_a_paused_instance_can_be_deleted() -> None:
    state = finish(start(booted(), ev.InstancePauseRequested, "r-p"), "r-p")
    assert finish(start(state, ev.InstanceDeleteRequested, "r-d"), "r-d").vm_state == "deleted"


def test_an_instance_in_error_can_be_deleted() -> None:
    state = finish(booted(spawned=False), "r-boot", ok=False, reason="x")
    assert finish(start(state, ev.InstanceDeleteRequested, "r-d"), "r-d").vm_state == "deleted"


def test_a_spawn_report_after_a_delete_was_requested_changes_nothing() -> None:
    state = start(booted(spawned=False), ev.InstanceDeleteRequested, "r-d")
    assert model.complete(state, "r-boot", ok=True, at=AT) is None


@pytest.mark.parametrize(
    ("setup", "kind", "wording"),
    [
        ("paused", ev.InstancePauseRequested, "vm_state paused"),
        ("active", ev.InstanceUnpauseRequested, "vm_state active"),
        ("building", ev.InstancePauseRequested, "task_state spawning"),
        ("building", ev.InstanceUnpauseRequested, "task_state spawning"),
        ("pausing", ev.InstancePauseRequested, "task_state pausing"),
        ("pausing", ev.InstanceUnpauseRequested, "task_state pausing"),
        ("deleting", ev.InstanceDeleteRequested, "task_state deleting"),
        ("deleting", ev.InstancePauseRequested, "task_state deleting"),
        ("error", ev.InstancePauseRequested, "vm_state error"),
        ("error", ev.InstanceUnpauseRequested, "vm_state error"),
    ],
)
def test_illegal_transitions_are_refused_in_novas_words(
    setup: str, kind: type[ev.InstanceRequested], wording: str
) -> None:
    state = {
        "active": lambda: booted(),
        "building": lambda: booted(spawned=False),
        "paused": lambda: finish(start(booted(), ev.InstancePauseRequested, "r-p"), "r-p"),
        "pausing": lambda: start(booted(), ev.InstancePauseRequested, "r-p"),
        "deleting": lambda: start(booted(), ev.InstanceDeleteRequested, "r-d"),
        "error": lambda: finish(booted(spawned=False), "r-boot", ok=False, reason="x"),
    }[setup]()
    with pytest.raises(InvalidState) as refused:
        model.request(state, kind, request_id="r-x", at=AT, user_id="u")
    action = model.OPERATIONS[kind].action
    assert refused.value.message == f"Cannot '{action}' instance i-1 while it is in {wording}"


@pytest.mark.parametrize("kind", list(model.OPERATIONS)[1:])
def test_nothing_can_be_done_to_a_deleted_instance(kind: type[ev.InstanceRequested]) -> None:
    state = finish(start(booted(), ev.InstanceDeleteRequested, "r-d"), "r-d")
    with pytest.raises(InvalidState, match="could not be found"):
        model.request(state, kind, request_id="r-x", at=AT, user_id="u")


def test_a_repeated_report_for_a_finished_operation_changes_nothing() -> None:
    state = finish(start(booted(), ev.InstancePauseRequested, "r-p"), "r-p")
    assert model.complete(state, "r-p", ok=True, at=AT) is None


# --- the rest of the lifecycle: reboot, suspend/resume, stop/start, lock, force delete


def start_op(state: model.Instance, kind: type[ev.InstanceRequested], rid: str, *,
             hard: bool = False, force: bool = False, admin: bool = False) -> model.Instance:
    event = model.request(state, kind, request_id=rid, at=AT, user_id="u", is_admin=admin,
                          hard=hard, force=force)
    return model.evolve(state, event, state.id)


SETUPS = {
    "building": lambda: booted(spawned=False),
    "active": lambda: booted(),
    "paused": lambda: finish(start(booted(), ev.InstancePauseRequested, "r-p"), "r-p"),
    "suspended": lambda: finish(start(booted(), ev.InstanceSuspendRequested, "r-s"), "r-s"),
    "stopped": lambda: finish(start(booted(), ev.InstanceStopRequested, "r-o"), "r-o"),
    "error": lambda: finish(booted(spawned=False), "r-boot", ok=False, reason="x"),
}
# (kind, hard, force) -> the vm_states it may start from, as Nova allows
ALLOWED: dict[tuple[type[ev.InstanceRequested], bool, bool], set[str]] = {
    (ev.InstancePauseRequested, False, False): {"active"},
    (ev.InstanceUnpauseRequested, False, False): {"paused"},
    (ev.InstanceSuspendRequested, False, False): {"active"},
    (ev.InstanceResumeRequested, False, False): {"suspended"},
    (ev.InstanceStopRequested, False, False): {"active", "error"},
    (ev.InstanceStartRequested, False, False): {"stopped"},
    (ev.InstanceRebootRequested, False, False): {"active"},
    (ev.InstanceRebootRequested, True, False): {"active", "stopped", "paused", "suspended",
                                               "error"},
    (ev.InstanceDeleteRequested, False, False): set(SETUPS),
    (ev.InstanceDeleteRequested, False, True): set(SETUPS),
}
# where each succeeds: (vm_state, power_state)
DONE = {
    ev.InstancePauseRequested: (VmState.PAUSED, PowerState.PAUSED),
    ev.InstanceUnpauseRequested: (VmState.ACTIVE, PowerState.RUNNING),
    ev.InstanceSuspendRequested: (VmState.SUSPENDED, PowerState.SUSPENDED),
    ev.InstanceResumeRequested: (VmState.ACTIVE, PowerState.RUNNING),
    ev.InstanceStopRequested: (VmState.STOPPED, PowerState.SHUTDOWN),
    ev.InstanceStartRequested: (VmState.ACTIVE, PowerState.RUNNING),
    ev.InstanceRebootRequested: (VmState.ACTIVE, PowerState.RUNNING),
    ev.InstanceDeleteRequested: (VmState.DELETED, PowerState.NOSTATE),
}
CASES = [(kind, hard, force, setup) for (kind, hard, force) in ALLOWED for setup in SETUPS
         if setup != "building" or kind is ev.InstanceDeleteRequested]


@pytest.mark.parametrize(("kind", "hard", "force", "setup"), CASES)
def test_each_operation_starts_exactly_from_the_states_nova_allows_and_ends_where_nova_does(
    kind: type[ev.InstanceRequested], hard: bool, force: bool, setup: str
) -> None:
    state = SETUPS[setup]()
    if setup not in ALLOWED[(kind, hard, force)]:
        with pytest.raises(InvalidState, match=f"while it is in vm_state {setup}"):
            start_op(state, kind, "r-x", hard=hard, force=force)
        return
    pending = start_op(state, kind, "r-x", hard=hard, force=force)
    assert pending.task_state == model.operation(kind, hard=hard, force=force).task_state
    done = finish(pending, "r-x")
    assert (done.vm_state, done.power_state, done.task_state) == (*DONE[kind], None)


@pytest.mark.parametrize(("hard", "task", "status"), [
    (False, TaskState.REBOOTING, "REBOOT"), (True, TaskState.REBOOTING_HARD, "HARD_REBOOT")])
def test_a_rebooting_active_instance_shows_novas_reboot_status(
        hard: bool, task: str, status: str) -> None:
    state = start_op(booted(), ev.InstanceRebootRequested, "r-r", hard=hard)
    assert state.task_state == task
    assert model.status(state.vm_state, state.task_state) == status


@pytest.mark.parametrize(("vm_state", "status"), [
    ("stopped", "SHUTOFF"), ("suspended", "SUSPENDED"), ("paused", "PAUSED")])
def test_new_states_have_novas_status(vm_state: str, status: str) -> None:
    state = SETUPS[vm_state]()
    assert model.status(state.vm_state, state.task_state) == status


def test_a_hard_reboot_may_interrupt_a_soft_one_but_a_soft_one_may_not_interrupt_anything(
) -> None:
    soft = start_op(booted(), ev.InstanceRebootRequested, "r-soft")
    with pytest.raises(InvalidState, match="task_state rebooting"):
        start_op(soft, ev.InstanceRebootRequested, "r-again")
    hard = start_op(soft, ev.InstanceRebootRequested, "r-hard", hard=True)
    assert hard.task_state == TaskState.REBOOTING_HARD
    assert hard.pending == Pending("r-hard", ev.InstanceRebootRequested)
    assert model.complete(hard, "r-soft", ok=True, at=AT) is None


def test_a_hard_reboot_brings_an_instance_in_error_back_to_active() -> None:
    state = finish(start_op(SETUPS["error"](), ev.InstanceRebootRequested, "r-h", hard=True),
                   "r-h")
    assert (state.vm_state, state.fault) == (VmState.ACTIVE, None)


@pytest.mark.parametrize("kind", [ev.InstanceRebootRequested, ev.InstanceDeleteRequested])
def test_a_failed_reboot_or_delete_puts_the_instance_in_error_with_a_timed_fault(
        kind: type[ev.InstanceRequested]) -> None:
    state = finish(start_op(booted(), kind, "r-x"), "r-x", ok=False, reason="libvirt said no")
    assert (state.vm_state, state.task_state, state.fault, state.fault_at) == (
        VmState.ERROR, None, "libvirt said no", AT)


@pytest.mark.parametrize("kind", [ev.InstanceSuspendRequested, ev.InstanceStopRequested])
def test_a_failed_suspend_or_stop_keeps_the_instance_active(
        kind: type[ev.InstanceRequested]) -> None:
    state = finish(start_op(booted(), kind, "r-x"), "r-x", ok=False, reason="no")
    assert (state.vm_state, state.task_state) == (VmState.ACTIVE, None)


def test_force_delete_interrupts_even_a_delete_that_a_plain_delete_may_not() -> None:
    deleting = start_op(booted(), ev.InstanceDeleteRequested, "r-d")
    with pytest.raises(InvalidState, match="task_state deleting"):
        start_op(deleting, ev.InstanceDeleteRequested, "r-d2")
    forced = start_op(deleting, ev.InstanceDeleteRequested, "r-f", force=True)
    assert forced.pending == Pending("r-f", ev.InstanceDeleteRequested)
    assert finish(forced, "r-f").vm_state == VmState.DELETED


def locked(by_admin: bool = False) -> model.Instance:
    state = booted()
    return model.evolve(state, changes.lock(state, request_id="r-l", at=AT, user_id="u",
                                            is_admin=by_admin), state.id)


@pytest.mark.parametrize(("kind", "hard"), [
    (ev.InstancePauseRequested, False), (ev.InstanceSuspendRequested, False),
    (ev.InstanceStopRequested, False), (ev.InstanceRebootRequested, False),
    (ev.InstanceRebootRequested, True), (ev.InstanceDeleteRequested, False)])
def test_a_locked_instance_refuses_non_admins_and_obeys_admins(
        kind: type[ev.InstanceRequested], hard: bool) -> None:
    state = locked()
    assert state.locked
    with pytest.raises(InvalidState) as refused:
        start_op(state, kind, "r-x", hard=hard)
    assert refused.value.message == "Instance i-1 is locked"
    assert start_op(state, kind, "r-x", hard=hard, admin=True).pending == Pending("r-x", kind)


def test_the_owner_unlocks_their_own_lock_but_not_an_admins() -> None:
    mine = locked()
    unlocked = model.evolve(mine, changes.unlock(mine, request_id="r-u", at=AT, user_id="u",
                                                 is_admin=False), mine.id)
    assert not unlocked.locked
    theirs = locked(by_admin=True)
    with pytest.raises(Forbidden, match="unlock_override"):
        changes.unlock(theirs, request_id="r-u", at=AT, user_id="u", is_admin=False)
    assert changes.unlock(theirs, request_id="r-u", at=AT, user_id="a", is_admin=True)


def test_metadata_is_merged_replaced_and_deleted_item_by_item() -> None:
    state = booted()

    def fold(event: ev.InstanceEvent) -> model.Instance:
        return model.evolve(state, event, state.id)

    state = fold(changes.set_metadata(state, {"a": "1", "b": "2"}, replace=False,
                                      request_id="r1", at=AT, user_id="u", is_admin=False))
    state = fold(changes.set_metadata(state, {"b": "3"}, replace=False, request_id="r2",
                                      at=AT, user_id="u", is_admin=False))
    assert state.metadata == {"a": "1", "b": "3"}
    state = fold(changes.set_metadata(state, {"c": "4"}, replace=True, request_id="r3",
                                      at=AT, user_id="u", is_admin=False))
    assert state.metadata == {"c": "4"}
    state = fold(changes.delete_metadata_item(state, "c", request_id="r4", at=AT,
                                              user_id="u", is_admin=False))
    assert state.metadata == {}
    with pytest.raises(NotFound, match="Metadata item was not found"):
        changes.delete_metadata_item(state, "c", request_id="r5", at=AT, user_id="u",
                                     is_admin=False)


def test_metadata_beyond_the_quota_or_with_bad_keys_is_refused() -> None:
    state = booted()
    full = {f"k{i}": "v" for i in range(128)}
    with pytest.raises(Forbidden, match="Maximum number of metadata items exceeds 128"):
        changes.set_metadata(state, {**full, "one-more": "v"}, replace=True, request_id="r",
                             at=AT, user_id="u", is_admin=False)
    with pytest.raises(InvalidInput, match="metadata"):
        changes.check_metadata({"bad/key": "v"})
    with pytest.raises(InvalidInput, match="longer than 255"):
        changes.check_metadata({"k": "v" * 256})


@pytest.mark.parametrize("setup", ["building", "error"])
def test_metadata_cannot_change_while_building_or_in_error(setup: str) -> None:
    with pytest.raises(InvalidState, match=f"Cannot 'update_metadata' .* vm_state {setup}"):
        changes.set_metadata(SETUPS[setup](), {"a": "1"}, replace=False, request_id="r",
                             at=AT, user_id="u", is_admin=False)


def test_a_locked_instance_refuses_metadata_changes_from_its_owner() -> None:
    with pytest.raises(InvalidState, match="is locked"):
        changes.set_metadata(locked(), {"a": "1"}, replace=False, request_id="r", at=AT,
                             user_id="u", is_admin=False)


def test_rename_and_description_change_only_what_they_name() -> None:
    state = booted()
    renamed = model.evolve(state, changes.update(state, request_id="r", at=AT, user_id="u",
                                                 name="new", description=None,
                                                 description_set=False), state.id)
    assert (renamed.name, renamed.description) == ("new", None)
    described = model.evolve(renamed, changes.update(renamed, request_id="r2", at=AT,
                                                     user_id="u", name=None,
                                                     description="hello",
                                                     description_set=True), state.id)
    assert (described.name, described.description) == ("new", "hello")


def test_boot_keeps_key_metadata_user_data_and_zone_on_the_instance() -> None:
    event = model.create("i-2", request_id="r", at=AT, project_id="p", user_id="u",
                         name="vm", flavor=FLAVORS["2"], image=IMAGE, host="h1",
                         key_name="k1", public_key="ssh-ed25519 AAAA", metadata={"a": "b"},
                         user_data="aGk=", reservation_id="r-1", launch_index=2)
    state = model.evolve(None, event, "i-2")
    assert (state.key_name, state.public_key, state.metadata, state.user_data) == (
        "k1", "ssh-ed25519 AAAA", {"a": "b"}, "aGk=")
    assert (state.availability_zone, state.reservation_id, state.launch_index) == (
        "nova", "r-1", 2)


def test_boot_rules_follow_nova() -> None:
    boot_rules.check_user_data(base64.b64encode(b"x" * 65535).decode())
    with pytest.raises(InvalidInput, match="User data too large"):
        boot_rules.check_user_data(base64.b64encode(b"x" * 65536).decode())
    with pytest.raises(InvalidInput, match="cannot be decoded"):
        boot_rules.check_user_data("not base64!")
    assert boot_rules.check_availability_zone(None) == "nova"
    with pytest.raises(InvalidInput, match="availability zone is not available"):
        boot_rules.check_availability_zone("elsewhere")
    assert boot_rules.instance_count(1, 3) == 3
    with pytest.raises(InvalidInput, match="min_count must be <= max_count"):
        boot_rules.instance_count(3, 2)
    assert boot_rules.display_names("vm", 1) == ["vm"]
    assert boot_rules.display_names("vm", 2) == ["vm-1", "vm-2"]


def test_tags_are_replaced_added_once_and_deleted_one_by_one() -> None:
    state = booted()

    def fold(event: ev.InstanceEvent | None) -> model.Instance:
        assert event is not None
        return model.evolve(state, event, state.id)

    state = fold(changes.set_tags(state, ["a", "b", "a"], request_id="t1", at=AT, user_id="u"))
    assert state.tags == ("a", "b")
    state = fold(changes.add_tag(state, "c", request_id="t2", at=AT, user_id="u"))
    assert state.tags == ("a", "b", "c")
    assert changes.add_tag(state, "a", request_id="t3", at=AT, user_id="u") is None
    state = fold(changes.delete_tag(state, "b", request_id="t4", at=AT, user_id="u"))
    assert state.tags == ("a", "c")
    with pytest.raises(NotFound, match="has no tag 'b'"):
        changes.delete_tag(state, "b", request_id="t5", at=AT, user_id="u")
    assert fold(changes.set_tags(state, [], request_id="t6", at=AT, user_id="u")).tags == ()


def test_bad_tags_too_many_tags_and_a_building_server_are_refused() -> None:
    state = booted()
    for bad in ("", "a/b", "a,b", "x" * 61):
        with pytest.raises(InvalidInput, match="is invalid"):
            changes.set_tags(state, [bad], request_id="t", at=AT, user_id="u")
    with pytest.raises(InvalidInput, match="per-server limit 50"):
        changes.set_tags(state, [f"t{n}" for n in range(51)], request_id="t", at=AT,
                         user_id="u")
    full = model.evolve(state, changes.set_tags(
        state, [f"t{n}" for n in range(50)], request_id="t", at=AT, user_id="u"), state.id)
    with pytest.raises(InvalidInput, match="per-server limit 50"):
        changes.add_tag(full, "one-more", request_id="t", at=AT, user_id="u")
    with pytest.raises(InvalidState, match=r"Cannot 'update tags' .* vm_state building"):
        changes.set_tags(booted(spawned=False), ["a"], request_id="t", at=AT, user_id="u")


def unplaced() -> model.Instance:
    created = model.create("i-1", request_id="r-boot", at=AT, project_id="p", user_id="u",
                           name="vm", flavor=FLAVORS["2"], image=IMAGE, host="")
    state = model.evolve(None, created, "i-1")
    return model.evolve(state, model.unplaced(created), "i-1")


def test_a_boot_no_host_has_room_for_ends_at_once_in_error_with_novas_fault() -> None:
    state = unplaced()
    assert (state.vm_state, state.task_state, state.pending) == (VmState.ERROR, None, None)
    assert state.fault == "No valid host was found. There are not enough hosts available."
    assert state.host == "" and model.status(state.vm_state, state.task_state) == "ERROR"


def test_an_instance_no_host_holds_refuses_host_operations_as_not_ready() -> None:
    for kind in (ev.InstanceStopRequested, ev.InstanceRebootRequested):
        with pytest.raises(InvalidState, match="Instance i-1 is not ready"):
            model.request(unplaced(), kind, request_id="r", at=AT, user_id="u", hard=True)


def test_an_instance_no_host_holds_is_deleted_as_soon_as_asked() -> None:
    state = unplaced()
    asked = model.request(state, ev.InstanceDeleteRequested, request_id="r-d", at=AT,
                          user_id="u")
    deleted = model.local_delete(state, asked)
    assert deleted is not None
    state = model.evolve(model.evolve(state, asked, "i-1"), deleted, "i-1")
    assert (state.vm_state, state.deleted_at, state.pending) == (VmState.DELETED, AT, None)


def test_an_instance_on_a_host_waits_for_its_host_to_delete_it() -> None:
    state = booted()
    asked = model.request(state, ev.InstanceDeleteRequested, request_id="r-d", at=AT,
                          user_id="u")
    assert model.local_delete(state, asked) is None



def test_a_rebuild_takes_the_new_image_at_once_and_ends_active_and_running() -> None:
    image = next(i for i in IMAGES.values())
    asked = model.rebuild(booted(), image, request_id="r-rb", at=AT, user_id="u",
                          name="again")
    state = model.evolve(booted(), asked, "i-1")
    assert (state.task_state, state.name, state.image_ref) == (
        TaskState.REBUILDING, "again", image.id)
    assert model.status(state.vm_state, state.task_state) == "REBUILD"
    state = finish(state, "r-rb")
    assert (state.vm_state, state.task_state, state.power_state) == (
        VmState.ACTIVE, None, PowerState.RUNNING)
    stopped = finish(start(booted(), ev.InstanceStopRequested, "r-s"), "r-s")
    asked = model.rebuild(stopped, image, request_id="r-rb", at=AT, user_id="u")
    assert not asked.start
    state = finish(model.evolve(stopped, asked, "i-1"), "r-rb")
    assert (state.vm_state, state.task_state, state.power_state) == (
        VmState.STOPPED, None, PowerState.SHUTDOWN)
    paused = finish(start(booted(), ev.InstancePauseRequested, "r-p"), "r-p")
    with pytest.raises(InvalidState, match="vm_state paused"):
        model.rebuild(paused, image, request_id="r-rb", at=AT, user_id="u")


def test_an_admins_reset_of_the_state_ends_what_was_pending() -> None:
    pausing = start(booted(), ev.InstancePauseRequested, "r-p")
    reset = changes.reset_state(pausing, "error", request_id="r-x", at=AT, user_id="admin",
                                is_admin=True)
    state = model.evolve(pausing, reset, "i-1")
    assert (state.vm_state, state.task_state, state.pending) == (VmState.ERROR, None, None)
    assert model.complete(state, "r-p", ok=True, at=AT) is None  # the late report: nothing
    with pytest.raises(InvalidInput):
        changes.reset_state(state, "paused", request_id="r-y", at=AT, user_id="admin",
                            is_admin=True)
    with pytest.raises(Forbidden):
        changes.reset_state(state, "active", request_id="r-z", at=AT, user_id="u",
                            is_admin=False)
