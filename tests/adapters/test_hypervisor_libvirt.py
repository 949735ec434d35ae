"""The libvirt adapter on libvirt's real test driver, one empty host per test."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from workers.hypervisor.libvirt_adapter import LibvirtHost, empty_host_uri
from workers.hypervisor.port import Guest, GuestError, GuestSpec, GuestState, HostUnavailable


@pytest.fixture
def host(tmp_path: Path) -> Iterator[LibvirtHost]:
    libvirt_host = LibvirtHost(empty_host_uri(tmp_path, "compute1"))
    yield libvirt_host
    libvirt_host.close()


@pytest.fixture
def guest() -> GuestSpec:
    return GuestSpec(instance_id=str(uuid.uuid4()), name="web <1>", vcpus=2, memory_mb=256)


def test_a_simulated_host_starts_with_no_guests(host: LibvirtHost) -> None:
    assert host.guests() == []


def test_simulated_hosts_do_not_share_guests(tmp_path: Path, guest: GuestSpec) -> None:
    first = LibvirtHost(empty_host_uri(tmp_path, "compute1"))
    second = LibvirtHost(empty_host_uri(tmp_path, "compute2"))
    first.define(guest)
    assert second.state(guest.instance_id) is GuestState.ABSENT
    assert first.state(guest.instance_id) is GuestState.SHUTOFF
    first.close()
    second.close()


def test_a_guest_goes_through_its_whole_life(host: LibvirtHost, guest: GuestSpec) -> None:
    instance_id = guest.instance_id
    assert host.state(instance_id) is GuestState.ABSENT
    host.define(guest)
    assert host.state(instance_id) is GuestState.SHUTOFF
    host.start(instance_id)
    assert host.state(instance_id) is GuestState.RUNNING
    host.pause(instance_id)
    assert host.state(instance_id) is GuestState.PAUSED
    host.resume(instance_id)
    assert host.state(instance_id) is GuestState.RUNNING
    host.destroy(instance_id)
    assert host.state(instance_id) is GuestState.SHUTOFF
    host.undefine(instance_id)
    assert host.state(instance_id) is GuestState.ABSENT


def test_a_guest_is_named_after_its_instance(host: LibvirtHost, guest: GuestSpec) -> None:
    host.define(guest)
    host.start(guest.instance_id)
    assert host.guests() == [
        Guest(
            instance_id=guest.instance_id,
            domain_name=f"instance-{guest.instance_id}",
            state=GuestState.RUNNING,
        )
    ]


def test_pausing_a_shut_off_guest_is_a_guest_error(host: LibvirtHost, guest: GuestSpec) -> None:
    host.define(guest)
    with pytest.raises(GuestError, match="not running"):
        host.pause(guest.instance_id)


def test_starting_an_absent_guest_is_a_guest_error(host: LibvirtHost) -> None:
    with pytest.raises(GuestError, match="not found"):
        host.start(str(uuid.uuid4()))


def test_an_invalid_guest_definition_is_a_guest_error(host: LibvirtHost) -> None:
    with pytest.raises(GuestError):
        host.define(GuestSpec(instance_id="not-a-uuid", name="x", vcpus=1, memory_mb=64))


def test_an_unreachable_libvirt_daemon_is_a_transient_fault() -> None:
    with pytest.raises(HostUnavailable):
        LibvirtHost("qemu+tcp://127.0.0.1:1/system")


def test_a_guest_is_defined_with_an_interface_on_its_networks_bridge_per_port(
        host: LibvirtHost, guest: GuestSpec) -> None:
    spec = msgspec.structs.replace(guest, nics=[("fa:16:3e:00:00:02", "br100", "tap12345678901")])
    host.define(spec)
    host.start(spec.instance_id)
    # (through the host's own connection: each connection to a test URI is its own host)
    xml = ET.fromstring(host._call(
        lambda conn: conn.lookupByUUIDString(spec.instance_id).XMLDesc(0)))
    (interface,) = xml.findall("./devices/interface")
    assert interface.get("type") == "bridge"
    assert interface.find("mac").get("address") == "fa:16:3e:00:00:02"  # type: ignore[union-attr]
    assert interface.find("source").get("bridge") == "br100"  # type: ignore[union-attr]


def test_a_host_started_again_on_its_file_finds_its_guests_as_they_were(
        tmp_path: Path) -> None:
    first = LibvirtHost(empty_host_uri(tmp_path, "compute1", keep_guests=True))
    states = {}
    for wanted in ("running", "paused", "suspended", "shutoff"):
        spec = GuestSpec(instance_id=str(uuid.uuid4()), name=wanted, vcpus=1, memory_mb=64)
        first.define(spec)
        if wanted != "shutoff":
            first.start(spec.instance_id)
        if wanted == "paused":
            first.pause(spec.instance_id)
        if wanted == "suspended":
            first.save(spec.instance_id)
        states[spec.instance_id] = first.state(spec.instance_id)
    first.close()  # the worker's process ends; the host does not lose power
    again = LibvirtHost(empty_host_uri(tmp_path, "compute1", vcpus=4, keep_guests=True))
    assert {g.instance_id: g.state for g in again.guests()} == states
    assert set(states.values()) == {GuestState.RUNNING, GuestState.PAUSED,
                                    GuestState.SUSPENDED, GuestState.SHUTOFF}
    assert again.capacity().vcpus == 4  # the node's size as configured now
    again.close()
    fresh = LibvirtHost(empty_host_uri(tmp_path, "compute1"))  # a host made anew is empty
    assert fresh.guests() == []
    fresh.close()


def test_a_power_loss_turns_every_guest_off_and_drops_saved_memory(tmp_path: Path) -> None:
    host = LibvirtHost(empty_host_uri(tmp_path, "compute1", keep_guests=True))
    ids = []
    for step in ("running", "paused", "suspended", "off"):
        spec = GuestSpec(instance_id=str(uuid.uuid4()), name=step, vcpus=1, memory_mb=64)
        host.define(spec)
        if step != "off":
            host.start(spec.instance_id)
        if step == "paused":
            host.pause(spec.instance_id)
        if step == "suspended":
            host.save(spec.instance_id)
        ids.append(spec.instance_id)
    assert host.power_loss() == sorted(ids[:3])
    assert {g.state for g in host.guests()} == {GuestState.SHUTOFF}
    assert host.power_loss() == []  # nothing was on
    host.close()
    again = LibvirtHost(empty_host_uri(tmp_path, "compute1", keep_guests=True))
    assert {g.state for g in again.guests()} == {GuestState.SHUTOFF}
    again.close()


def test_a_guest_undefined_before_a_restart_stays_gone_and_the_others_stay(
        tmp_path: Path) -> None:
    first = LibvirtHost(empty_host_uri(tmp_path, "compute1", keep_guests=True))
    kept, gone = (GuestSpec(instance_id=str(uuid.uuid4()), name=n, vcpus=1, memory_mb=64)
                  for n in ("kept", "gone"))
    for spec in (kept, gone):
        first.define(spec)
        first.start(spec.instance_id)
    first.close()
    second = LibvirtHost(empty_host_uri(tmp_path, "compute1", keep_guests=True))
    second.destroy(gone.instance_id)
    second.undefine(gone.instance_id)
    second.close()
    third = LibvirtHost(empty_host_uri(tmp_path, "compute1", keep_guests=True))
    assert [(g.instance_id, g.state) for g in third.guests()] == [
        (kept.instance_id, GuestState.RUNNING)]
    third.close()


def test_a_journal_line_cut_short_by_a_crash_is_skipped_and_the_guests_before_it_stay(
        tmp_path: Path) -> None:
    first = LibvirtHost(empty_host_uri(tmp_path, "compute1", keep_guests=True))
    spec = GuestSpec(instance_id=str(uuid.uuid4()), name="kept", vcpus=1, memory_mb=64)
    first.define(spec)
    first.start(spec.instance_id)
    first.close()
    with (tmp_path / "compute1-guests.jsonl").open("ab") as journal:
        journal.write(b'{"id": "' + spec.instance_id.encode() + b'", "xml": "<domain')
    again = LibvirtHost(empty_host_uri(tmp_path, "compute1", keep_guests=True))
    assert [(g.instance_id, g.state) for g in again.guests()] == [
        (spec.instance_id, GuestState.RUNNING)]
    again.close()


def qemu_img_info(path: Path) -> dict[str, object]:
    import json
    import subprocess
    done = subprocess.run(["qemu-img", "info", "--output=json", str(path)],
                          capture_output=True, text=True, check=True)
    info: dict[str, object] = json.loads(done.stdout)
    return info


def test_a_guest_has_a_real_qcow2_root_disk_of_its_size_that_goes_with_it(
        host: LibvirtHost) -> None:
    big = GuestSpec(instance_id=str(uuid.uuid4()), name="big", vcpus=1, memory_mb=256,
                    disk_gb=2)
    host.define(big)
    disk = host.disk_dir / f"{big.instance_id}.qcow2"
    assert (qemu_img_info(disk)["format"], qemu_img_info(disk)["virtual-size"]) == (
        "qcow2", 2 << 30)
    assert host.disk_dir.as_posix() in str(host._call(  # the definition names it as vda
        lambda conn: conn.lookupByUUIDString(big.instance_id).XMLDesc(0)))
    assert host.disks(big.instance_id) == []  # the root disk is not a volume
    host.undefine(big.instance_id)
    assert not disk.exists()


def test_qemu_img_create_runs_once_per_size_not_once_per_guest(
        tmp_path: Path, host: LibvirtHost) -> None:
    counted = tmp_path / "qemu-img"
    calls = tmp_path / "calls"
    counted.write_text(f'#!/bin/sh\necho "$1" >> {calls}\nexec qemu-img "$@"\n')
    counted.chmod(0o755)
    host.qemu_img = str(counted)
    for _ in range(3):
        host.define(GuestSpec(instance_id=str(uuid.uuid4()), name="vm", vcpus=1,
                              memory_mb=256))
    assert calls.read_text().split() == ["create"]


def test_a_snapshot_is_a_complete_qcow2_copy_of_the_disk_made_once(
        host: LibvirtHost, guest: GuestSpec) -> None:
    host.define(guest)
    host.start(guest.instance_id)
    copy = Path(host.snapshot(guest.instance_id, "image-1"))
    assert copy == host.snapshot_dir / "image-1.qcow2"
    assert qemu_img_info(copy)["format"] == "qcow2"
    assert qemu_img_info(copy)["virtual-size"] == 1 << 30
    made = copy.stat().st_mtime_ns
    assert Path(host.snapshot(guest.instance_id, "image-1")).stat().st_mtime_ns == made
    assert host.state(guest.instance_id) is GuestState.RUNNING  # a copy changes nothing
    assert [p.name for p in host.snapshot_dir.iterdir()] == ["image-1.qcow2"]


def test_a_failing_qemu_img_leaves_no_copy_and_says_why(
        tmp_path: Path, host: LibvirtHost, guest: GuestSpec) -> None:
    host.define(guest)
    failing = tmp_path / "qemu-img"
    failing.write_text("#!/bin/sh\necho 'no space left' >&2\nexit 1\n")
    failing.chmod(0o755)
    host.qemu_img = str(failing)
    with pytest.raises(GuestError, match="no space left"):
        host.snapshot(guest.instance_id, "image-2")
    assert list(host.snapshot_dir.iterdir()) == []
    with pytest.raises(GuestError, match="does not exist"):
        host.snapshot(str(uuid.uuid4()), "image-3")
