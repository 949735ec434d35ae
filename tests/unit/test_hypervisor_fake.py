"""The fake host refuses what a real hypervisor refuses, so worker bugs show."""

from __future__ import annotations

import uuid

import pytest

from workers.hypervisor.fake import FakeHost
from workers.hypervisor.port import GuestError, GuestSpec, GuestState, HostUnavailable


def spec() -> GuestSpec:
    return GuestSpec(instance_id=str(uuid.uuid4()), name="vm", vcpus=1, memory_mb=512)


def running_guest(host: FakeHost) -> str:
    guest = spec()
    host.define(guest)
    host.start(guest.instance_id)
    return guest.instance_id


def test_a_defined_guest_is_shut_off_until_started() -> None:
    host = FakeHost()
    guest = spec()
    host.define(guest)
    assert host.state(guest.instance_id) is GuestState.SHUTOFF
    host.start(guest.instance_id)
    assert host.state(guest.instance_id) is GuestState.RUNNING


def test_defining_a_guest_twice_is_refused() -> None:
    host = FakeHost()
    guest = spec()
    host.define(guest)
    with pytest.raises(GuestError, match="already defined"):
        host.define(guest)


def test_pausing_a_shut_off_guest_is_refused() -> None:
    host = FakeHost()
    guest = spec()
    host.define(guest)
    with pytest.raises(GuestError, match="cannot pause"):
        host.pause(guest.instance_id)
    assert host.state(guest.instance_id) is GuestState.SHUTOFF


def test_pausing_a_paused_guest_is_refused() -> None:
    host = FakeHost()
    instance_id = running_guest(host)
    host.pause(instance_id)
    with pytest.raises(GuestError):
        host.pause(instance_id)


def test_resuming_a_running_guest_is_refused() -> None:
    host = FakeHost()
    instance_id = running_guest(host)
    with pytest.raises(GuestError, match="cannot resume"):
        host.resume(instance_id)


def test_starting_an_absent_guest_is_refused() -> None:
    with pytest.raises(GuestError, match="absent"):
        FakeHost().start(str(uuid.uuid4()))


def test_undefining_a_running_guest_is_refused_until_it_is_destroyed() -> None:
    host = FakeHost()
    instance_id = running_guest(host)
    with pytest.raises(GuestError):
        host.undefine(instance_id)
    host.destroy(instance_id)
    host.undefine(instance_id)
    assert host.state(instance_id) is GuestState.ABSENT
    assert host.guests() == []


def test_a_paused_guest_can_be_destroyed() -> None:
    host = FakeHost()
    instance_id = running_guest(host)
    host.pause(instance_id)
    host.destroy(instance_id)
    assert host.state(instance_id) is GuestState.SHUTOFF


def test_an_unavailable_host_answers_nothing() -> None:
    host = FakeHost()
    host.unavailable = True
    with pytest.raises(HostUnavailable):
        host.state(str(uuid.uuid4()))
