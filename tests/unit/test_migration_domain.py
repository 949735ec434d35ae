"""Resize and cold migration as pure decisions: every step, its failure, and what follows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain import deadlines
from domain import events as ev
from domain import instance as model
from domain import instance_observations as observations
from domain import migration as rules
from domain import migration_events as mev
from domain.catalog import FLAVORS, IMAGES
from domain.errors import InvalidInput, InvalidState

AT = datetime(2026, 1, 1, tzinfo=UTC)
IMAGE = next(iter(IMAGES.values()))
S = mev.MigrationStatus
VmState, TaskState = model.VmState, model.TaskState


def booted(vm_state: str = VmState.ACTIVE) -> model.Instance:
    event = model.create("i-1", request_id="r-boot", at=AT, project_id="p", user_id="u",
                         name="vm", flavor=FLAVORS["1"], image=IMAGE, host="h1")
    state = model.evolve(None, event, "i-1")
    state = _apply(state, model.complete(state, "r-boot", ok=True, at=AT))
    if vm_state == VmState.STOPPED:
        state = _apply(state, model.request(state, ev.InstanceStopRequested, request_id="r-s",
                                            at=AT, user_id="u"))
        state = _apply(state, model.complete(state, "r-s", ok=True, at=AT))
    return state


def _apply(state: model.Instance, event: ev.InstanceEvent | None) -> model.Instance:
    assert event is not None
    return model.evolve(state, event, state.id)


def size(flavor_id: str) -> mev.Size:
    f = FLAVORS[flavor_id]
    return mev.Size(flavor_id=f.id, vcpus=f.vcpus, memory_mb=f.ram, disk_gb=f.disk)


def resize(state: model.Instance, flavor_id: str = "2", dest: str = "h2",
           kind: str = mev.MigrationType.RESIZE) -> model.Instance:
    asked = rules.start(state, migration_id="m-1", migration_type=kind, dest_host=dest,
                        new=size(flavor_id), request_id="r-resize", user_id="u", at=AT,
                        is_admin=False)
    return _apply(state, asked)


def step(state: model.Instance, ok: bool = True,
         reason: str = "") -> tuple[model.Instance, rules.Consequence]:
    """The pending step's host answers; the state after its outcome and what follows."""
    assert state.pending is not None
    outcome = model.complete(state, state.pending.request_id, ok=ok, at=AT, reason=reason)
    assert outcome is not None
    then = rules.consequence(state, outcome)
    after = _apply(state, outcome)
    return (after if then.then is None else _apply(after, then.then)), then


def verify_resize(flavor_id: str = "2", vm_state: str = VmState.ACTIVE) -> model.Instance:
    state = resize(booted(vm_state), flavor_id)
    state, _ = step(state)  # the source shut it off, the destination is asked
    state, _ = step(state)  # the destination started it: the switchover
    return state


def test_a_resize_request_prepares_on_the_source_with_a_pre_migrating_migration() -> None:
    state = resize(booted())
    assert (state.vm_state, state.task_state, state.host) == (VmState.ACTIVE,
                                                              TaskState.RESIZE_PREP, "h1")
    assert model.status(state.vm_state, state.task_state) == "RESIZE"
    assert state.migration is not None and state.migration.status == S.PRE_MIGRATING
    assert (state.migration.source_host, state.migration.dest_host) == ("h1", "h2")
    assert state.pending is not None and state.pending.step is mev.InstanceResizeRequested


def test_the_source_shutting_off_the_guest_asks_the_destination_to_finish() -> None:
    state, then = step(resize(booted()))
    assert isinstance(then.then, mev.InstanceResizeFinishRequested)
    assert then.then.host == "h2" and then.then.start and then.then.memory_mb == 2048
    assert then.then.request_id == "r-resize:finish" and not then.release
    assert state.task_state == TaskState.RESIZE_FINISH and state.host == "h1"
    assert state.migration is not None and state.migration.status == S.POST_MIGRATING


def test_the_switchover_moves_host_and_flavor_once_and_awaits_confirmation() -> None:
    state = verify_resize()
    assert (state.host, state.flavor_id, state.memory_mb) == ("h2", "2", 2048)
    assert (state.vm_state, state.task_state) == (VmState.RESIZED, None)
    assert model.status(state.vm_state, state.task_state) == "VERIFY_RESIZE"
    assert state.migration is not None and state.migration.status == S.FINISHED


def test_confirm_removes_the_old_guest_and_gives_back_the_sources_claim() -> None:
    state = verify_resize()
    asked = rules.confirm(state, request_id="r-c", user_id="u", at=AT, is_admin=False)
    assert asked.host == "h1"
    state = _apply(state, asked)
    assert state.migration is not None and state.migration.status == S.CONFIRMING
    state, then = step(state)
    assert then.release == "h1" and then.then is None
    assert (state.vm_state, state.host, state.flavor_id) == (VmState.ACTIVE, "h2", "2")
    assert state.migration is not None and state.migration.status == S.CONFIRMED


def test_revert_removes_the_new_guest_then_restarts_the_old_one_on_its_source() -> None:
    state = verify_resize()
    asked = rules.revert(state, request_id="r-v", user_id="u", at=AT, is_admin=False)
    assert asked.host == "h2"
    state = _apply(state, asked)
    assert model.status(state.vm_state, state.task_state) == "REVERT_RESIZE"
    state, then = step(state)  # the destination's guest is gone
    assert isinstance(then.then, mev.InstanceResizeRevertFinishRequested)
    assert then.then.host == "h1" and state.host == "h2"
    state, then = step(state)
    assert then.release == "h2"
    assert (state.vm_state, state.host, state.flavor_id, state.memory_mb) == (
        VmState.ACTIVE, "h1", "1", 512)
    assert state.migration is not None and state.migration.status == S.REVERTED


def test_a_stopped_server_moves_stopped_and_comes_back_stopped() -> None:
    state = verify_resize(vm_state=VmState.STOPPED)
    assert state.power_state == model.PowerState.SHUTDOWN
    state = _apply(state, rules.confirm(state, request_id="r-c", user_id="u", at=AT,
                                        is_admin=False))
    state, _ = step(state)
    assert state.vm_state == VmState.STOPPED


def test_a_cold_migration_keeps_the_flavor_and_is_named_migrate() -> None:
    state = booted()
    asked = rules.start(state, migration_id="m", migration_type=mev.MigrationType.MIGRATION,
                        dest_host="h2", new=rules.size_of(state), request_id="r", user_id="u",
                        at=AT, is_admin=True)
    assert model.action_of(asked) == "migrate"
    state, _ = step(step(_apply(state, asked))[0])
    assert (state.host, state.flavor_id, state.vm_state) == ("h2", "1", VmState.RESIZED)


@pytest.mark.parametrize(("flavor_id", "message"), [("1", rules.SAME_FLAVOR)])
def test_a_resize_to_the_same_flavor_is_refused(flavor_id: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        resize(booted(), flavor_id)


def test_a_resize_to_a_smaller_disk_is_refused() -> None:
    state = verify_resize("3")
    state = _apply(state, rules.confirm(state, request_id="r-c", user_id="u", at=AT,
                                        is_admin=False))
    state, _ = step(state)
    with pytest.raises(InvalidInput, match="resize disk down"):
        rules.start(state, migration_id="m2", migration_type=mev.MigrationType.RESIZE,
                    dest_host="h1", new=size("2"), request_id="r2", user_id="u", at=AT,
                    is_admin=False)


def test_a_move_to_the_host_it_is_on_is_refused() -> None:
    with pytest.raises(InvalidInput, match="to current host"):
        resize(booted(), dest="h1")


def test_a_move_during_another_task_or_of_a_paused_or_deleted_server_is_refused() -> None:
    busy = _apply(booted(), model.request(booted(), ev.InstancePauseRequested,
                                          request_id="r-p", at=AT, user_id="u"))
    with pytest.raises(InvalidState, match="task_state pausing"):
        resize(busy)
    with pytest.raises(InvalidState, match="task_state resize_prep"):
        resize(resize(booted()))
    paused = step(busy)[0]
    with pytest.raises(InvalidState, match="vm_state paused"):
        resize(paused)
    deleted = booted()
    deleted = _apply(deleted, model.request(deleted, ev.InstanceDeleteRequested,
                                            request_id="r-d", at=AT, user_id="u"))
    deleted = step(deleted)[0]
    with pytest.raises(InvalidState, match="could not be found"):
        resize(deleted)


def test_confirm_or_revert_of_a_server_not_awaiting_it_is_refused() -> None:
    for decide in (rules.confirm, rules.revert):
        with pytest.raises(InvalidState, match="vm_state active"):
            decide(booted(), request_id="r", user_id="u", at=AT, is_admin=False)


def test_a_delete_waits_for_the_move_to_end() -> None:
    with pytest.raises(InvalidState, match="task_state resize_prep"):
        model.request(resize(booted()), ev.InstanceDeleteRequested, request_id="r-d", at=AT,
                      user_id="u")


def test_a_delete_in_verify_resize_confirms_the_resize_on_the_way_as_nova_does() -> None:
    resized = verify_resize()
    confirmed = rules.confirm_on_delete(resized, request_id="r-d", user_id="u", at=AT)
    assert confirmed is not None and confirmed.host == resized.migration.source_host  # type: ignore[union-attr]
    asked = model.request(resized, ev.InstanceDeleteRequested, request_id="r-d", at=AT,
                          user_id="u")
    assert asked.host == resized.host != confirmed.host
    state = model.evolve(model.evolve(resized, confirmed, resized.id), asked, resized.id)
    assert (state.task_state, state.pending and state.pending.request_id) == (
        TaskState.DELETING, "r-d")  # the source's report of the confirm changes nothing
    assert model.complete(state, confirmed.request_id, ok=True, at=AT) is None
    assert rules.confirm_on_delete(booted(), request_id="r-d", user_id="u", at=AT) is None


def test_a_refused_shut_off_leaves_it_on_its_source_and_gives_back_the_destination() -> None:
    state, then = step(resize(booted()), ok=False, reason="no")
    assert then.release == "h2" and then.then is None
    assert (state.vm_state, state.task_state, state.host, state.flavor_id) == (
        VmState.ACTIVE, None, "h1", "1")
    assert state.fault == "no"
    assert state.migration is not None and state.migration.status == S.ERROR


def test_a_failed_finish_is_rolled_back_on_the_destination_before_its_claim_goes() -> None:
    state, then = step(step(resize(booted()))[0], ok=False, reason="define failed")
    assert isinstance(then.then, mev.InstanceResizeRollbackRequested)
    assert then.then.host == "h2" and not then.release and state.host == "h1"
    state, then = step(state)
    assert then.release == "h2"
    assert (state.vm_state, state.host, state.task_state) == (VmState.ERROR, "h1", None)
    assert state.migration is not None and state.migration.status == S.ERROR


def test_a_failed_confirm_stays_in_verify_resize_to_be_asked_again() -> None:
    state = verify_resize()
    state = _apply(state, rules.confirm(state, request_id="r-c", user_id="u", at=AT,
                                        is_admin=False))
    state, then = step(state, ok=False, reason="busy")
    assert then.release == "" and then.then is None
    assert model.status(state.vm_state, state.task_state) == "VERIFY_RESIZE"
    assert rules.confirm(state, request_id="r-c2", user_id="u", at=AT, is_admin=False)


def test_a_failed_revert_finish_leaves_it_on_its_source_in_error() -> None:
    state = verify_resize()
    state = _apply(state, rules.revert(state, request_id="r-v", user_id="u", at=AT,
                                       is_admin=False))
    state, _ = step(state)
    state, then = step(state, ok=False, reason="cannot start")
    assert then.release == "h2"
    assert (state.vm_state, state.host, state.flavor_id) == (VmState.ERROR, "h1", "1")


def test_a_step_whose_host_never_answers_ends_by_its_deadline_as_a_refusal() -> None:
    from datetime import timedelta

    state = step(resize(booted()))[0]
    expired = deadlines.expire_instance(state, AT + timedelta(seconds=61),
                                        timedelta(seconds=60))
    assert isinstance(expired, mev.InstanceMigrationFailed)
    assert isinstance(rules.consequence(state, expired).then,
                      mev.InstanceResizeRollbackRequested)


def test_a_stale_report_of_an_earlier_step_answers_nothing() -> None:
    state = step(resize(booted()))[0]
    assert model.complete(state, "r-resize", ok=True, at=AT) is None


def test_a_host_report_about_the_other_host_of_a_move_is_no_news() -> None:
    state = verify_resize()
    assert observations.observe(state, observations.Guest.SHUTOFF, host="h1", request_id="o",
                                at=AT, seen_at=AT, resume=True) is None
    assert observations.observe(state, observations.Guest.RUNNING, host="h2", request_id="o",
                                at=AT, seen_at=AT, resume=True) is None
