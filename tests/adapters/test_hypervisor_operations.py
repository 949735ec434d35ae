"""Every host operation of the worker, level-based, on libvirt's test driver and the fake.

``converge`` is what the worker runs for each request: these tests drive it
with real request events against a real (test-driver) libvirt host, and
against the strict fake, which refuses any transition a hypervisor would.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from domain import events as ev
from workers.hypervisor.fake import FakeHost
from workers.hypervisor.libvirt_adapter import LibvirtHost, empty_host_uri
from workers.hypervisor.port import GuestError, GuestSpec, GuestState, HypervisorHost
from workers.hypervisor.worker import converge, tail

AT = datetime(2026, 1, 1, tzinfo=UTC)


def request(kind: type[ev.InstanceRequested], **extra: bool) -> ev.AnyInstanceRequest:
    event = kind(request_id=f"r-{uuid.uuid4()}", at=AT, host="compute1", user_id="u")
    if extra:
        event = msgspec.structs.replace(event, **extra)
    assert isinstance(event, ev.AnyInstanceRequest)
    return event


def create() -> ev.InstanceCreateRequested:
    return ev.InstanceCreateRequested(
        request_id="r-boot", at=AT, host="compute1", user_id="u", project_id="p",
        name="vm", flavor_id="1", image_ref="img", vcpus=1, memory_mb=128, disk_gb=1)


@pytest.fixture(params=["libvirt", "fake"])
def host(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[HypervisorHost]:
    made: HypervisorHost = (LibvirtHost(empty_host_uri(tmp_path, "compute1"))
                            if request.param == "libvirt" else FakeHost())
    yield made
    made.close()


@pytest.fixture
def running(host: HypervisorHost) -> str:
    instance_id = str(uuid.uuid4())
    converge(host, instance_id, create())
    assert host.state(instance_id) is GuestState.RUNNING
    return instance_id


def test_a_soft_reboot_leaves_the_guest_running(host: HypervisorHost, running: str) -> None:
    converge(host, running, request(ev.InstanceRebootRequested))
    assert host.state(running) is GuestState.RUNNING


def test_a_soft_reboot_of_a_guest_that_is_not_running_fails(
        host: HypervisorHost, running: str) -> None:
    converge(host, running, request(ev.InstanceStopRequested))
    with pytest.raises(GuestError, match="cannot reboot"):
        converge(host, running, request(ev.InstanceRebootRequested))


@pytest.mark.parametrize("before", [None, ev.InstancePauseRequested,
                                    ev.InstanceSuspendRequested, ev.InstanceStopRequested])
def test_a_hard_reboot_brings_the_guest_up_from_any_state(
        host: HypervisorHost, running: str, before: type[ev.InstanceRequested] | None) -> None:
    if before is not None:
        converge(host, running, request(before))
    converge(host, running, request(ev.InstanceRebootRequested, hard=True))
    assert host.state(running) is GuestState.RUNNING


def test_a_hard_reboot_of_an_absent_guest_fails(host: HypervisorHost) -> None:
    with pytest.raises(GuestError, match="does not exist"):
        converge(host, str(uuid.uuid4()), request(ev.InstanceRebootRequested, hard=True))


def test_suspend_is_a_managed_save_and_resume_restores_it(
        host: HypervisorHost, running: str) -> None:
    converge(host, running, request(ev.InstanceSuspendRequested))
    assert host.state(running) is GuestState.SUSPENDED
    converge(host, running, request(ev.InstanceSuspendRequested))  # redelivered: done
    assert host.state(running) is GuestState.SUSPENDED
    converge(host, running, request(ev.InstanceResumeRequested))
    assert host.state(running) is GuestState.RUNNING
    converge(host, running, request(ev.InstanceResumeRequested))  # redelivered: done
    assert host.state(running) is GuestState.RUNNING


def test_resuming_a_guest_that_was_never_suspended_fails(
        host: HypervisorHost, running: str) -> None:
    converge(host, running, request(ev.InstanceStopRequested))
    with pytest.raises(GuestError, match="cannot resume"):
        converge(host, running, request(ev.InstanceResumeRequested))


def test_stop_powers_off_and_start_powers_on_idempotently(
        host: HypervisorHost, running: str) -> None:
    for _ in range(2):
        converge(host, running, request(ev.InstanceStopRequested))
        assert host.state(running) is GuestState.SHUTOFF
    for _ in range(2):
        converge(host, running, request(ev.InstanceStartRequested))
        assert host.state(running) is GuestState.RUNNING


def test_a_paused_guest_can_be_stopped(host: HypervisorHost, running: str) -> None:
    converge(host, running, request(ev.InstancePauseRequested))
    converge(host, running, request(ev.InstanceStopRequested))
    assert host.state(running) is GuestState.SHUTOFF


def test_starting_a_suspended_or_absent_guest_through_os_start_fails(
        host: HypervisorHost, running: str) -> None:
    converge(host, running, request(ev.InstanceSuspendRequested))
    with pytest.raises(GuestError, match="cannot start"):
        converge(host, running, request(ev.InstanceStartRequested))
    with pytest.raises(GuestError, match="cannot start"):
        converge(host, str(uuid.uuid4()), request(ev.InstanceStartRequested))


def test_a_suspended_guest_is_deleted_with_its_saved_memory(
        host: HypervisorHost, running: str) -> None:
    converge(host, running, request(ev.InstanceSuspendRequested))
    converge(host, running, request(ev.InstanceDeleteRequested))
    assert host.state(running) is GuestState.ABSENT
    assert host.guests() == []


def test_the_console_tells_the_guests_lifecycle_and_is_gone_with_the_guest(
        host: HypervisorHost, running: str) -> None:
    converge(host, running, request(ev.InstancePauseRequested))
    output = host.console(running)
    assert output is not None and len(output.splitlines()) >= 3
    assert "pause" in output.splitlines()[-1]
    assert tail(output, 2) == output.splitlines(keepends=True)[-1]  # (and the piece after it)
    assert tail(output, 1) == "" and tail(output, -1) == output
    converge(host, running, request(ev.InstanceDeleteRequested))
    assert host.console(running) is None


def test_a_rebuild_defines_the_guest_again_and_leaves_it_running(
        host: HypervisorHost, running: str) -> None:
    converge(host, running, request(ev.InstancePauseRequested))
    converge(host, running, ev.InstanceRebuildRequested(
        request_id="r-rb", at=AT, host="compute1", user_id="u", image_ref="img2",
        name="vm", vcpus=1, memory_mb=128, disk_gb=1))
    assert host.state(running) is GuestState.RUNNING


def test_a_guests_diagnostics_give_its_memory_and_cpu_time_and_none_once_it_is_gone(
        host: HypervisorHost, running: str) -> None:
    found = host.diagnostics(running)
    assert found is not None and found["memory"] == 128 * 1024 and "cpu0_time" in found
    converge(host, running, request(ev.InstanceDeleteRequested))
    assert host.diagnostics(running) is None


def test_libvirt_guests_write_their_serial_console_to_a_file_under_the_workers_directory(
        tmp_path: Path) -> None:
    host = LibvirtHost(empty_host_uri(tmp_path, "compute1"))
    try:
        spec = GuestSpec(instance_id=str(uuid.uuid4()), name="vm", vcpus=1, memory_mb=64)
        host.define(spec)
        log = host.console_dir / f"instance-{spec.instance_id}.log"
        assert host.console_dir.is_relative_to(tmp_path.resolve())
        assert f"<source path=\"{log}\"" in host._domain_xml(spec)
        assert "defined" in log.read_text()
    finally:
        host.close()


@pytest.mark.parametrize(("operation", "from_state"), [
    ("save", "shutoff"), ("discard_saved", "running"), ("reboot", "paused"),
    ("start", "running")])
def test_the_fake_refuses_what_a_hypervisor_would(operation: str, from_state: str) -> None:
    fake = FakeHost()
    guest = str(uuid.uuid4())
    fake.define(GuestSpec(instance_id=guest, name="vm", vcpus=1, memory_mb=64))
    if from_state in ("running", "paused"):
        fake.start(guest)
    if from_state == "paused":
        fake.pause(guest)
    with pytest.raises(GuestError, match=f"cannot {operation}"):
        getattr(fake, operation)(guest)
