"""What a storage host and a compute host restore by themselves, on real
parts: a private tgtd (LIO where the kernel has configfs; skipped with the
probe's reason elsewhere) serving sparse volume files to libiscsi's
initiators, and guests on libvirt's test driver (the strict fake host
stands for one that cannot be asked). The volumes are as the domain's fold
leaves them after an attach."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from domain import volume as model
from workers.hypervisor.disks import reconcile_disks, recorded_disk
from workers.hypervisor.fake import FakeHost
from workers.hypervisor.libvirt_adapter import LibvirtHost, empty_host_uri
from workers.hypervisor.port import Disk, GuestSpec
from workers.iscsi import initiator_for, iqn_for
from workers.storage.exports_restore import power_off, restore_exports
from workers.storage.file_backing import FileBacking
from workers.storage.lio_exporter import LioExporter, lio_probe
from workers.storage.port import Exporter
from workers.storage.tgt_daemon import TgtDaemon, free_tcp_port

NOW = datetime(2026, 12, 1, tzinfo=UTC)
PORTAL = "127.0.0.1:3260"


def attached(volume_id: str, server_id: str, compute_host: str = "compute1",
             device: str = "/dev/vdb") -> model.Volume:
    """A volume of storage1 as the log leaves it once attached to ``server_id``."""
    events: list[model.VolumeEvent] = [
        model.VolumeCreateRequested(request_id="c", at=NOW, host="storage1", project_id="p",
                                    user_id="u", name="data", description="", size_gb=1,
                                    volume_type="__DEFAULT__"),
        model.VolumeSucceeded(request_id="c", at=NOW),
        model.VolumeAttachRequested(request_id="a", at=NOW, host="storage1",
                                    server_id=server_id, compute_host=compute_host,
                                    device=device),
        model.VolumeExported(request_id="a", at=NOW, host=compute_host, server_id=server_id,
                             device=device, portal=PORTAL, iqn=iqn_for(volume_id), lun=1),
        model.VolumeSucceeded(request_id="a", at=NOW),
    ]
    state = None
    for event in events:
        state = model.evolve(state, event, volume_id)
    assert state is not None and state.status is model.Status.IN_USE
    return state


def readable_by(portal: str, iqn: str, initiator: str) -> bool:
    done = subprocess.run(["iscsi-readcapacity16", "-i", initiator, f"iscsi://{portal}/{iqn}/1"],
                          capture_output=True, text=True, check=False)
    return "Total size:" in done.stdout


@pytest.fixture
def backing() -> Iterator[FileBacking]:
    folder = Path(tempfile.mkdtemp(prefix="nimbus-restore-"))
    yield FileBacking(folder / "volumes")
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["tgt", "lio"])
def exporter(request: pytest.FixtureRequest) -> Iterator[tuple[Exporter, str]]:
    """An exporter and its portal; whatever it still exports is removed afterwards."""
    if request.param == "lio":
        reason = lio_probe()
        if reason:
            pytest.skip(reason)
        portal = f"127.0.0.1:{free_tcp_port('127.0.0.1')}"
        chosen: Exporter = LioExporter(portal=portal)
        yield chosen, portal
        power_off(chosen)
    else:
        with TgtDaemon() as daemon:
            yield daemon.exporter(), daemon.portal


def test_a_power_loss_drops_every_export_and_keeps_the_bytes(
        backing: FileBacking, exporter: tuple[Exporter, str]) -> None:
    target, _portal = exporter
    ids = sorted(str(uuid.uuid4()) for _ in range(2))
    for volume_id in ids:
        backing.create(volume_id, 1)
        target.export(volume_id, backing.path(volume_id), initiator_for("compute1"))
    assert power_off(target) == ids
    assert target.exports() == []
    assert all(backing.exists(volume_id) for volume_id in ids)
    assert power_off(target) == []


def test_each_missing_export_is_made_once_for_its_compute_host_and_a_dry_run_makes_none(
        backing: FileBacking, exporter: tuple[Exporter, str]) -> None:
    target, portal = exporter
    volume_id, kept_id, gone_id = (str(uuid.uuid4()) for _ in range(3))
    for made in (volume_id, kept_id):
        backing.create(made, 1)
    target.export(kept_id, backing.path(kept_id), initiator_for("compute2"))
    volumes = [attached(volume_id, "s1"), attached(kept_id, "s2", "compute2"),
               attached(gone_id, "s3")]
    line = f"export volume {volume_id} again to compute1 (server s1, /dev/vdb)"
    missing = f"cannot export volume {gone_id} again: its bytes are not on this host"

    assert restore_exports(backing, target, volumes, dry_run=True) == [line, missing]
    assert target.exports() == [kept_id]

    done = restore_exports(backing, target, volumes, dry_run=False)
    assert done[0].startswith(line) and done[1:] == [missing]
    assert sorted(target.exports()) == sorted([volume_id, kept_id])
    iqn = iqn_for(volume_id)
    assert readable_by(portal, iqn, initiator_for("compute1"))
    assert not readable_by(portal, iqn, initiator_for("compute2"))  # its ACL names compute1
    assert restore_exports(backing, target, volumes[:2], dry_run=False) == []
    for made_id in (volume_id, kept_id):
        target.unexport(made_id)


@pytest.fixture
def guests(tmp_path: Path) -> Iterator[LibvirtHost]:
    host = LibvirtHost(empty_host_uri(tmp_path, "compute1"))
    yield host
    host.close()


def guest(host: LibvirtHost) -> str:
    instance_id = str(uuid.uuid4())
    host.define(GuestSpec(instance_id=instance_id, name="vm", vcpus=1, memory_mb=64))
    host.start(instance_id)
    return instance_id


def test_a_guest_missing_a_disk_gets_it_at_its_recorded_mountpoint_once(
        guests: LibvirtHost) -> None:
    server = guest(guests)
    volume = attached(str(uuid.uuid4()), server)
    line = f"attach volume {volume.id} to server {server} at /dev/vdb again"
    assert reconcile_disks(guests, "compute1", [volume], dry_run=True) == [line]
    assert guests.disks(server) == []
    assert reconcile_disks(guests, "compute1", [volume], dry_run=False) == [line]
    assert guests.disks(server) == [recorded_disk("compute1", volume)]
    assert recorded_disk("compute1", volume).initiator == initiator_for("compute1")
    assert reconcile_disks(guests, "compute1", [volume], dry_run=False) == []


def test_a_device_holding_another_disk_gets_the_recorded_one_and_an_absent_guest_is_said(
        guests: LibvirtHost) -> None:
    server = guest(guests)
    volume = attached(str(uuid.uuid4()), server)
    stale = Disk(device="/dev/vdb", portal=PORTAL, iqn=iqn_for("old"), lun=1)
    guests.attach_disk(server, stale)
    assert reconcile_disks(guests, "compute1", [volume], dry_run=False) == [
        f"attach volume {volume.id} to server {server} at /dev/vdb again (in place of"
        f" {stale.iqn})"]
    assert guests.disks(server) == [recorded_disk("compute1", volume)]
    nowhere = attached(str(uuid.uuid4()), str(uuid.uuid4()))
    assert reconcile_disks(guests, "compute1", [nowhere], dry_run=False) == [
        f"cannot attach volume {nowhere.id} to server {nowhere.server_id} at /dev/vdb: the"
        " guest is not on this host"]


def test_a_host_that_cannot_be_asked_is_said_per_disk_and_asked_again_next_time() -> None:
    fake = FakeHost()
    for server in ("s1", "s2"):
        fake.define(GuestSpec(instance_id=server, name="vm", vcpus=1, memory_mb=64))
    volumes = [attached(str(uuid.uuid4()), "s1"), attached(str(uuid.uuid4()), "s2")]
    fake.unavailable = True
    assert reconcile_disks(fake, "compute1", volumes, dry_run=False) == [
        f"cannot attach volume {v.id} to server {v.server_id} at /dev/vdb: the fake host is"
        " unavailable" for v in volumes]
    fake.unavailable = False
    assert reconcile_disks(fake, "compute1", volumes, dry_run=False) == [
        f"attach volume {v.id} to server {v.server_id} at /dev/vdb again" for v in volumes]
    assert [fake.disks(s) for s in ("s1", "s2")] == [
        [recorded_disk("compute1", v)] for v in volumes]
