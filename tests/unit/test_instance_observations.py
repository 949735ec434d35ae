"""What a host's report of its guests makes of the recorded instances: an
observation when they differ, never a silent overwrite, and the reconciler's
requests that bring an instance back to what it was."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain import events as ev
from domain import instance as model
from domain import instance_observations as obs
from domain.instance_observations import Guest
from tests.unit.test_instance_lifecycle import AT, booted, finish, start

VmState, PowerState = model.VmState, model.PowerState
LATER = AT + timedelta(seconds=1)


def recorded(vm_state: str) -> model.Instance:
    state = booted()
    to: dict[str, list[type[ev.InstanceRequested]]] = {
        VmState.ACTIVE: [], VmState.PAUSED: [ev.InstancePauseRequested],
        VmState.SUSPENDED: [ev.InstanceSuspendRequested],
        VmState.STOPPED: [ev.InstanceStopRequested]}
    steps = to[vm_state]
    for number, kind in enumerate(steps):
        state = finish(start(state, kind, f"r{number}"), f"r{number}")
    assert state.vm_state == vm_state
    return state


def seen(state: model.Instance, guest: str, *, resume: bool = True,
         host: str = "h1") -> ev.InstanceObserved | None:
    return obs.observe(state, guest, host=host, request_id="req-obs", at=LATER, seen_at=LATER,
                       resume=resume)


def fold(state: model.Instance, event: ev.InstanceEvent | None) -> model.Instance:
    assert event is not None
    return model.evolve(state, event, state.id)


@pytest.mark.parametrize(("vm_state", "guest"), [
    (VmState.ACTIVE, Guest.RUNNING), (VmState.PAUSED, Guest.PAUSED),
    (VmState.SUSPENDED, Guest.SUSPENDED), (VmState.STOPPED, Guest.SHUTOFF),
    (VmState.STOPPED, Guest.SUSPENDED)])
def test_a_guest_as_recorded_is_no_news(vm_state: str, guest: str) -> None:
    assert seen(recorded(vm_state), guest) is None


@pytest.mark.parametrize("vm_state", [VmState.ACTIVE, VmState.PAUSED, VmState.SUSPENDED])
def test_a_shut_off_guest_of_a_live_instance_is_observed_stopped_with_what_was_recorded(
        vm_state: str) -> None:
    before = recorded(vm_state)
    event = seen(before, Guest.SHUTOFF)
    assert isinstance(event, ev.InstanceObservedStopped)
    assert (event.was_vm_state, event.was_power_state, event.resume) == (
        vm_state, before.power_state, True)
    assert "host h1 reported the guest shut off" in event.reason
    after = fold(before, event)
    assert (after.vm_state, after.power_state, after.task_state) == (
        VmState.STOPPED, PowerState.SHUTDOWN, None)
    assert after.fault == event.reason
    assert after.restore == model.Restore(to=vm_state, observation="req-obs", resume=True)


def test_with_the_policy_off_the_instance_stays_stopped_with_a_fault_saying_so() -> None:
    event = seen(recorded(VmState.ACTIVE), Guest.SHUTOFF, resume=False)
    assert isinstance(event, ev.InstanceObservedStopped) and not event.resume
    after = fold(recorded(VmState.ACTIVE), event)
    assert obs.restore_request(after, at=LATER) is None
    assert after.fault is not None and "resume_guests_state_on_host_boot is off" in after.fault


def test_nimbus_recover_may_take_over_an_instance_lost_while_the_policy_was_off() -> None:
    before = recorded(VmState.PAUSED)
    state = fold(before, seen(before, Guest.SHUTOFF, resume=False))
    step = obs.restore_request(state, at=LATER, take_over=True)
    assert isinstance(step, ev.InstanceStartRequested)
    state = finish(fold(state, step), step.request_id)
    follow = obs.restore_request(state, at=LATER)  # the reconciler's own now
    assert isinstance(follow, ev.InstancePauseRequested)


def test_a_missing_guest_puts_the_instance_in_error_with_a_fault_naming_it() -> None:
    event = seen(recorded(VmState.PAUSED), Guest.ABSENT)
    assert isinstance(event, ev.InstanceObservedMissing)
    after = fold(recorded(VmState.PAUSED), event)
    assert (after.vm_state, after.power_state) == (VmState.ERROR, PowerState.NOSTATE)
    assert after.fault == "host h1 has no guest for instance i-1 (it was recorded paused)"


def test_a_running_or_paused_guest_of_a_stopped_instance_is_recorded_as_the_host_says() -> None:
    running = fold(recorded(VmState.STOPPED), seen(recorded(VmState.STOPPED), Guest.RUNNING))
    assert (running.vm_state, running.power_state) == (VmState.ACTIVE, PowerState.RUNNING)
    paused = fold(recorded(VmState.ACTIVE), seen(recorded(VmState.ACTIVE), Guest.PAUSED))
    assert (paused.vm_state, paused.power_state) == (VmState.PAUSED, PowerState.PAUSED)


def test_an_instance_with_an_operation_pending_building_or_in_error_is_not_judged() -> None:
    pausing = start(recorded(VmState.ACTIVE), ev.InstancePauseRequested, "r-pause")
    assert seen(pausing, Guest.SHUTOFF) is None
    assert seen(booted(spawned=False), Guest.ABSENT) is None
    failed = finish(booted(spawned=False), "r-boot", ok=False, reason="no space")
    assert seen(failed, Guest.ABSENT) is None


def test_a_report_about_another_host_or_taken_before_the_last_change_is_ignored() -> None:
    state = recorded(VmState.ACTIVE)
    assert seen(state, Guest.SHUTOFF, host="h2") is None
    stale = obs.observe(state, Guest.SHUTOFF, host="h1", request_id="req-obs", at=LATER,
                        seen_at=AT - timedelta(seconds=1), resume=True)
    assert stale is None


@pytest.mark.parametrize(("vm_state", "steps"), [
    (VmState.ACTIVE, [ev.InstanceStartRequested]),
    (VmState.PAUSED, [ev.InstanceStartRequested, ev.InstancePauseRequested]),
    (VmState.SUSPENDED, [ev.InstanceStartRequested, ev.InstanceSuspendRequested]),
])
def test_the_reconciler_brings_an_instance_back_step_by_step_then_asks_nothing(
        vm_state: str, steps: list[type[ev.InstanceRequested]]) -> None:
    state = fold(recorded(vm_state), seen(recorded(vm_state), Guest.SHUTOFF))
    asked: list[type[ev.InstanceRequested]] = []
    while (step := obs.restore_request(state, at=LATER)) is not None:
        assert step.user_id == model.RECONCILER_USER
        assert step.request_id == f"req-obs-{type(step).__name__}"
        asked.append(type(step))
        state = finish(fold(state, step), step.request_id)
    assert asked == steps
    assert (state.vm_state, state.restore, state.fault) == (vm_state, None, None)


def test_a_users_request_takes_over_from_the_reconciler() -> None:
    state = fold(recorded(VmState.PAUSED), seen(recorded(VmState.PAUSED), Guest.SHUTOFF))
    state = finish(start(state, ev.InstanceStartRequested, "r-user"), "r-user")
    assert state.restore is None and obs.restore_request(state, at=LATER) is None


def test_a_failed_step_ends_the_reconcilers_attempt_with_the_fault() -> None:
    state = fold(recorded(VmState.ACTIVE), seen(recorded(VmState.ACTIVE), Guest.SHUTOFF))
    step = obs.restore_request(state, at=LATER)
    assert step is not None
    state = finish(fold(state, step), step.request_id, ok=False, reason="no such guest")
    assert (state.vm_state, state.fault, state.restore) == (
        VmState.STOPPED, "no such guest", None)


def test_observation_ids_are_one_per_state_and_the_same_for_the_same_log() -> None:
    assert obs.observation_id("i-1", 3) == obs.observation_id("i-1", 3)
    assert obs.observation_id("i-1", 3) != obs.observation_id("i-1", 4)
