"""A move's host steps on libvirt's real test driver, two simulated hosts each on
its own connection: steps delivered again after a worker died part-way are
finished, and what the test driver cannot do (``migrateToURI3``) is refused."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from domain import migration_events as mev
from workers.hypervisor.libvirt_adapter import LibvirtCopy, LibvirtHost, empty_host_uri
from workers.hypervisor.live import Control, LiveCopies, SimulatedCopy
from workers.hypervisor.migration import converge_move
from workers.hypervisor.port import GuestError, GuestSpec, GuestState

AT = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def hosts(tmp_path: Path) -> Iterator[tuple[LibvirtHost, LibvirtHost]]:
    source = LibvirtHost(empty_host_uri(tmp_path, "compute1"))
    dest = LibvirtHost(empty_host_uri(tmp_path, "compute2"))
    yield source, dest
    source.close()
    dest.close()


def running_guest(host: LibvirtHost) -> str:
    instance_id = str(uuid.uuid4())
    host.define(GuestSpec(instance_id=instance_id, name="mover", vcpus=1, memory_mb=512))
    host.start(instance_id)
    return instance_id


def finish(instance_id: str) -> mev.InstanceResizeFinishRequested:
    return mev.InstanceResizeFinishRequested(
        request_id="r:finish", at=AT, host="compute2", user_id="u", migration_id="m",
        name="mover", vcpus=2, memory_mb=1024)


def run_request(dirty: float = 0.0, forced: bool = False) -> mev.InstanceLiveMigrationRunRequested:
    return mev.InstanceLiveMigrationRunRequested(
        request_id="r:run", at=AT, host="compute1", user_id="u", migration_id="m",
        dest_host="compute2", memory_mb=512, dirty_rate_mbps=dirty, forced=forced)


def test_a_resize_shuts_off_on_the_source_and_runs_on_the_destination_once(
        hosts: tuple[LibvirtHost, LibvirtHost]) -> None:
    source, dest = hosts
    guest = running_guest(source)
    resize = mev.InstanceResizeRequested(
        request_id="r", at=AT, host="compute1", user_id="u", migration_id="m",
        migration_type="resize", dest_host="compute2",
        old=mev.Size(flavor_id="1", vcpus=1, memory_mb=512, disk_gb=1),
        new=mev.Size(flavor_id="2", vcpus=2, memory_mb=1024, disk_gb=20))
    converge_move(source, guest, resize)
    converge_move(source, guest, resize)  # delivered again: done already
    assert source.state(guest) is GuestState.SHUTOFF
    converge_move(dest, guest, finish(guest))
    converge_move(dest, guest, finish(guest))
    assert dest.state(guest) is GuestState.RUNNING and source.state(guest) is GuestState.SHUTOFF


def test_a_finish_whose_worker_died_after_the_define_starts_the_guest_when_redelivered(
        hosts: tuple[LibvirtHost, LibvirtHost]) -> None:
    _, dest = hosts
    guest = str(uuid.uuid4())
    dest.define(GuestSpec(instance_id=guest, name="mover", vcpus=2, memory_mb=1024))
    converge_move(dest, guest, finish(guest))
    assert dest.state(guest) is GuestState.RUNNING


def test_a_revert_finish_on_a_source_without_the_guest_is_refused(
        hosts: tuple[LibvirtHost, LibvirtHost]) -> None:
    source, _ = hosts
    with pytest.raises(GuestError, match="the source has none"):
        converge_move(source, str(uuid.uuid4()), mev.InstanceResizeRevertFinishRequested(
            request_id="r:revert-finish", at=AT, host="compute1", user_id="u",
            migration_id="m"))


async def test_a_live_migration_moves_a_running_guest_with_one_copy_running_at_a_time(
        hosts: tuple[LibvirtHost, LibvirtHost]) -> None:
    source, dest = hosts
    guest = running_guest(source)
    converge_move(dest, guest, mev.InstanceLiveMigrateRequested(
        request_id="r", at=AT, host="compute2", user_id="u", migration_id="m",
        source_host="compute1", name="mover", vcpus=1, memory_mb=512))
    assert dest.state(guest) is GuestState.SHUTOFF  # an inactive definition
    reports: list[mev.Progress] = []

    async def report(progress: mev.Progress) -> None:
        reports.append(progress)

    copies = LiveCopies(source, SimulatedCopy(source, pace_seconds=0))
    await copies.run(guest, run_request(dirty=50), report)
    assert source.state(guest) is GuestState.PAUSED and dest.state(guest) is GuestState.SHUTOFF
    assert reports and reports[-1].memory_processed_bytes >= 512 * 1024 * 1024
    await copies.run(guest, run_request(dirty=50), report)  # delivered again: copied already
    converge_move(dest, guest, mev.InstanceLiveMigrationFinishRequested(
        request_id="r:finish", at=AT, host="compute2", user_id="u", migration_id="m"))
    assert dest.state(guest) is GuestState.RUNNING and source.state(guest) is GuestState.PAUSED
    converge_move(source, guest, mev.InstanceLiveMigrationCleanupRequested(
        request_id="r:cleanup", at=AT, host="compute1", user_id="u", migration_id="m"))
    assert source.state(guest) is GuestState.ABSENT


def test_a_copy_that_does_not_converge_fails_and_leaves_the_source_running(
        hosts: tuple[LibvirtHost, LibvirtHost]) -> None:
    source, _ = hosts
    guest = running_guest(source)
    with pytest.raises(GuestError, match="did not complete within 800 s per GiB"):
        SimulatedCopy(source, pace_seconds=0).copy(guest, run_request(dirty=400),
                                                   lambda _p: None, Control())
    assert source.state(guest) is GuestState.RUNNING


def test_an_aborted_copy_is_cancelled_and_a_forced_one_pauses_the_guest(
        hosts: tuple[LibvirtHost, LibvirtHost]) -> None:
    source, _ = hosts
    guest = running_guest(source)
    aborted = Control()
    aborted.aborted.set()
    with pytest.raises(GuestError, match="cancelled"):
        SimulatedCopy(source, pace_seconds=0).copy(guest, run_request(dirty=400),
                                                   lambda _p: None, aborted)
    SimulatedCopy(source, pace_seconds=0).copy(guest, run_request(dirty=400, forced=True),
                                               lambda _p: None, Control())
    assert source.state(guest) is GuestState.PAUSED


def test_the_test_driver_cannot_migrate_so_its_copies_are_the_model(
        hosts: tuple[LibvirtHost, LibvirtHost], tmp_path: Path) -> None:
    source, _ = hosts
    assert not source.can_migrate
    guest = running_guest(source)
    dest_uri = empty_host_uri(tmp_path, "compute3")
    with pytest.raises(GuestError):
        source.migrate_live(guest, dest_uri, bandwidth_mib=0, block=False,
                            stats=lambda *_: None, forced=lambda: False, aborted=lambda: False,
                            poll_seconds=0.01)
    assert source.state(guest) is GuestState.RUNNING


@pytest.mark.skipif(not os.environ.get("NIMBUS_TEST_QEMU_PEER"),
                    reason="a real migrateToURI3 needs two qemu:///system hosts (set "
                           "NIMBUS_TEST_QEMU_PEER to the destination's name); the test "
                           "driver here refuses it, so its copies are the pre-copy model")
def test_a_real_live_migration_between_two_kvm_hosts() -> None:
    peer = os.environ["NIMBUS_TEST_QEMU_PEER"]
    host = LibvirtHost("qemu:///system")
    try:
        guest = running_guest(host)
        LibvirtCopy(host).copy(guest, msgspec.structs.replace(run_request(), dest_host=peer),
                               lambda _p: None, Control())
        assert host.runs_at(LibvirtCopy.URI.format(peer), guest)
    finally:
        host.close()
