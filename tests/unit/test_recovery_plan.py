"""The plan of ``nimbus recover``: in the seed's order, from the log's states and
what the hosts have; empty once the cloud is as the log says."""

from __future__ import annotations

from datetime import timedelta

import msgspec

from domain import events as ev
from domain import instance as model
from domain import recovery
from domain.base import Pending
from domain.instance_observations import Guest
from domain.recovery import HostAnswer
from domain.volume import Status, Volume, VolumeDetachRequested
from tests.unit.test_instance_lifecycle import AT, booted, finish, start
from tests.unit.test_instance_observations import recorded

VmState = model.VmState
NOW = AT + timedelta(minutes=5)


def named(state: model.Instance, instance_id: str, host: str = "h1") -> model.Instance:
    return msgspec.structs.replace(state, id=instance_id, name=f"vm-{instance_id}", host=host)


def volume(server_id: str | None, *, pending: bool = False) -> Volume:
    return Volume(id="vol-1", project_id="p", user_id="u", name="data", description="",
                  size_gb=1, volume_type="__DEFAULT__", availability_zone="nova",
                  host="storage1", status=Status.IN_USE, snapshot_id=None, created_at=AT,
                  updated_at=AT, server_id=server_id, compute_host="h1", device="/dev/vdb",
                  pending=Pending("r-x", VolumeDetachRequested) if pending else None)


def test_a_host_that_lost_its_guests_gets_each_instance_back_as_recorded() -> None:
    instances = [named(recorded(VmState.ACTIVE), "a"), named(recorded(VmState.PAUSED), "b"),
                 named(recorded(VmState.SUSPENDED), "c"), named(recorded(VmState.STOPPED), "d")]
    guests = {"h1": {i: Guest.SHUTOFF for i in "abcd"}}
    plan = recovery.plan(instances, [], guests, [], at=NOW)
    assert [(r.instance_id, r.observation, r.requests, r.target) for r in plan.restarts] == [
        ("a", "observed-stopped", ["start"], VmState.ACTIVE),
        ("b", "observed-stopped", ["start", "pause"], VmState.PAUSED),
        ("c", "observed-stopped", ["start", "suspend"], VmState.SUSPENDED),
    ]
    assert plan.actions == 3 and not plan.back
    assert plan.restarts[1].describe() == (
        "b (vm-b) on h1: recorded PAUSED, guest shutoff -> observed-stopped, start, pause")


def test_guests_as_recorded_make_an_empty_plan() -> None:
    instances = [named(recorded(VmState.ACTIVE), "a"), named(recorded(VmState.STOPPED), "d")]
    guests = {"h1": {"a": Guest.RUNNING, "d": Guest.SHUTOFF}}
    answers = [HostAnswer(host="storage1", role="storage", answered=True),
               HostAnswer(host="network1", role="network", answered=False)]
    plan = recovery.plan(instances, [], guests, answers, at=NOW)
    assert plan.actions == 0 and plan.back
    assert "   network1 (network): host did not answer" in plan.lines()


def test_an_instance_lost_while_the_policy_was_off_is_taken_over() -> None:
    before = named(recorded(VmState.PAUSED), "b")
    seen = ev.InstanceObservedStopped(request_id="req-obs", at=AT, host="h1",
                                      observed=Guest.SHUTOFF, was_vm_state=VmState.PAUSED,
                                      resume=False)
    lost = model.evolve(before, seen, "b")
    (step,) = recovery.plan([lost], [], {"h1": {"b": Guest.SHUTOFF}}, [], at=NOW).restarts
    assert (step.observation, step.requests, step.recorded) == ("", ["start", "pause"], "SHUTOFF")


def test_a_missing_guest_is_recorded_and_not_restarted() -> None:
    (step,) = recovery.plan([named(recorded(VmState.ACTIVE), "a")], [], {"h1": {}}, [],
                            at=NOW).restarts
    assert (step.observation, step.requests, step.target) == (
        "observed-missing", [], VmState.ERROR)


def test_instances_on_a_silent_host_or_in_a_task_state_are_listed_not_touched() -> None:
    silent = named(recorded(VmState.ACTIVE), "a", host="h2")
    pausing = named(start(recorded(VmState.ACTIVE), ev.InstancePauseRequested, "r-p"), "p")
    plan = recovery.plan([silent, pausing], [volume("p", pending=True)],
                         {"h1": {"p": Guest.SHUTOFF}, "h2": None}, [], at=NOW)
    assert plan.restarts == []
    assert plan.unchecked == ["a (vm-a): its host h2 did not answer"]
    assert plan.stalled == ["instance p (vm-p) is pausing on h1",
                            "volume vol-1 (data) is in-use on storage1"]
    assert not plan.back


def test_the_relations_come_first_and_test_mode_keeps_to_one_instance() -> None:
    instances = [named(recorded(VmState.ACTIVE), "a"), named(recorded(VmState.ACTIVE), "b")]
    guests = {"h1": {"a": Guest.SHUTOFF, "b": Guest.SHUTOFF}}
    answers = [HostAnswer(host="storage1", role="storage", answered=True,
                          changes=["export vol-1"])]
    plan = recovery.plan(instances, [volume("a")], guests, answers, at=NOW, only="a")
    assert [r.instance_id for r in plan.restarts] == ["a"]
    lines = plan.lines()
    assert lines[0] == "1. relations from the log (volume, instance, mountpoint):"
    assert lines[1].startswith("   vol-1  a  /dev/vdb")
    assert lines.index("4. re-export and re-attach volumes:") > lines.index(
        "3. restart instances:")
    assert "   storage1 (storage): export vol-1" in lines
    assert plan.actions == 2
    other = recovery.plan(instances, [volume("a")], guests, [], at=NOW, only="b")
    assert other.relations == []


def test_deleted_and_building_instances_need_nothing() -> None:
    building = named(booted(spawned=False), "n")
    deleted = named(finish(start(recorded(VmState.ACTIVE), ev.InstanceDeleteRequested, "r-d"),
                           "r-d"), "x")
    plan = recovery.plan([building, deleted], [], {"h1": {}}, [], at=NOW)
    assert plan.restarts == [] and plan.stalled == ["instance n (vm-n) is spawning on h1"]
