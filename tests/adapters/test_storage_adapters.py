"""The storage worker's host-side adapters, all held to one contract.

Every backing (sparse files, raw and qcow2; LVM) and every exporter (tgt;
LIO) passes the same tests. What runs here is real: files on the local
disk, a private tgtd on loopback ports started for this module, and
userspace iSCSI initiators (libiscsi's ``iscsi-ls`` and
``iscsi-readcapacity16``, qemu's iSCSI driver) reading each LUN back. LVM
and LIO need kernel features that some machines lack (device-mapper,
configfs); there their cases skip with the probe's reason.

Volumes are 1 GB sparse files; reading a whole LUN over iSCSI takes a few
seconds, so tests write markers in the first MiBs and compare those.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import pytest

from workers.iscsi import iqn_for
from workers.storage.backups import archive, checksum_path, expired, restore, volume_sha256
from workers.storage.file_backing import FileBacking
from workers.storage.lio_exporter import LioExporter, lio_probe
from workers.storage.lvm_backing import LvmBacking, lvm_probe
from workers.storage.port import (
    Backing,
    Exporter,
    StorageError,
    StorageUnavailable,
    VolumeExport,
)
from workers.storage.tgt_daemon import TgtDaemon, free_control_port, free_tcp_port
from workers.storage.tgt_exporter import TgtExporter

GIB = 1 << 30
MIB = 1 << 20
LVM_VG = os.environ.get("NIMBUS_TEST_LVM_VG", "nova-volumes")
INITIATOR = "iqn.2024-01.org.nimbus:compute-1"
STRANGER = "iqn.2024-01.org.nimbus:compute-2"


class Case(NamedTuple):
    backing: Backing
    fmt: str  # how tests read and write a volume's path with qemu tools


def run(*args: str) -> str:
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout


def write(case: Case, volume_id: str, offset: int, byte: int) -> None:
    """Write 4 KiB of ``byte`` into the volume at ``offset``, as a guest would."""
    run("qemu-io", "-f", case.fmt, "-c", f"write -P {byte} {offset} 4k",
        case.backing.path(volume_id))


def head(source: str, fmt: str, scratch: Path, mib: int = 4) -> bytes:
    """The first ``mib`` MiB of a volume or LUN, as a guest reads them."""
    out = scratch / f"head-{uuid.uuid4()}"
    run("qemu-img", "dd", "-f", fmt, "-O", "raw", f"if={source}", f"of={out}", "bs=1M",
        f"count={mib}")
    data = out.read_bytes()
    out.unlink()
    return data


def marked(first: int, second: int, mib: int = 4) -> bytes:
    """What ``head`` gives after writing ``first`` at 0 and ``second`` at 1 MiB."""
    data = bytearray(mib * MIB)
    data[0:4096] = bytes([first]) * 4096
    data[MIB:MIB + 4096] = bytes([second]) * 4096
    return bytes(data)


def blocks(path: Path) -> Iterator[bytes | bytearray]:
    buffer = bytearray(16 * MIB)
    with path.open("rb", buffering=0) as file:
        while count := file.readinto(buffer):
            yield bytes(buffer[:count]) if count < len(buffer) else buffer


def all_zero(path: Path) -> bool:
    zeros = bytes(16 * MIB)
    return all(block == zeros[: len(block)] for block in blocks(path))


def same_bytes(first: Path, second: Path) -> bool:
    if first.stat().st_size != second.stat().st_size:
        return False
    return all(one == other for one, other in zip(blocks(first), blocks(second), strict=True))


@pytest.fixture
def scratch() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="nimbus-storage-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


class Ids:
    """Fresh volume and snapshot ids, remembered so that fixtures remove what was made."""

    def __init__(self) -> None:
        self.made: list[str] = []

    def __call__(self) -> str:
        self.made.append(str(uuid.uuid4()))
        return self.made[-1]


@pytest.fixture
def new_id() -> Ids:
    return Ids()


def backing_for(kind: str, scratch: Path) -> Case:
    if kind == "lvm":
        reason = lvm_probe(LVM_VG)
        if reason:
            pytest.skip(reason)
        return Case(LvmBacking(LVM_VG), "raw")
    if kind == "file-qcow2":
        return Case(FileBacking(scratch / "volumes", "qcow2"), "qcow2")
    return Case(FileBacking(scratch / "volumes"), "raw")


def remove_all(backing: Backing, ids: list[str]) -> None:
    for made in ids:
        backing.delete_snapshot(made)
    for made in ids:
        backing.wipe_and_delete(made)


@pytest.fixture(params=["file-raw", "file-qcow2", "lvm"])
def case(request: pytest.FixtureRequest, scratch: Path, new_id: Ids) -> Iterator[Case]:
    chosen = backing_for(request.param, scratch)
    yield chosen
    remove_all(chosen.backing, new_id.made)


@pytest.fixture(params=["file-raw", "lvm"])
def raw_case(request: pytest.FixtureRequest, scratch: Path,
             new_id: Ids) -> Iterator[Case]:
    """A backing whose volumes hold a guest's bytes as they are (what exporters serve)."""
    chosen = backing_for(request.param, scratch)
    yield chosen
    remove_all(chosen.backing, new_id.made)


@pytest.fixture(scope="module")
def tgtd() -> Iterator[TgtDaemon]:
    with TgtDaemon() as daemon:
        yield daemon


@pytest.fixture(params=["tgt", "lio"])
def exporter(request: pytest.FixtureRequest, raw_case: Case,
             new_id: Ids) -> Iterator[Exporter]:
    chosen: Exporter
    if request.param == "lio":
        reason = lio_probe()
        if reason:
            pytest.skip(reason)
        chosen = LioExporter(portal=f"127.0.0.1:{free_tcp_port('127.0.0.1')}")
    else:
        chosen = request.getfixturevalue("tgtd").exporter()
    yield chosen
    for made in new_id.made:
        chosen.unexport(made)


def volume(case: Case, new_id: Ids, size_gb: int = 1) -> str:
    volume_id = new_id()
    case.backing.create(volume_id, size_gb)
    return volume_id


# -- backings ---------------------------------------------------------------


def test_a_new_volume_exists_with_its_size_and_reads_as_zeros(
        case: Case, new_id: Ids, scratch: Path) -> None:
    volume_id = volume(case, new_id)
    assert case.backing.exists(volume_id)
    assert case.backing.size_bytes(volume_id) == GIB
    assert volume_id in case.backing.volumes()
    assert head(case.backing.path(volume_id), case.fmt, scratch) == bytes(4 * MIB)


def test_creating_a_volume_again_with_the_same_size_succeeds(
        case: Case, new_id: Ids, scratch: Path) -> None:
    volume_id = volume(case, new_id)
    write(case, volume_id, 0, 0x61)
    case.backing.create(volume_id, 1)
    assert case.backing.volumes().count(volume_id) == 1
    assert head(case.backing.path(volume_id), case.fmt, scratch, 1)[:1] == b"a"


def test_a_volume_that_exists_with_another_size_is_refused(
        case: Case, new_id: Ids) -> None:
    volume_id = volume(case, new_id)
    with pytest.raises(StorageError, match="already exists"):
        case.backing.create(volume_id, 2)


def test_sizes_below_one_gb_and_unsafe_ids_are_refused(
        case: Case, new_id: Ids) -> None:
    volume_id = new_id()
    with pytest.raises(StorageError, match="size_gb"):
        case.backing.create(volume_id, 0)
    with pytest.raises(StorageError, match="not a valid"):
        case.backing.create("../etc", 1)
    assert not case.backing.exists(volume_id)


def test_a_snapshot_keeps_the_bytes_the_volume_had_when_it_was_taken(
        case: Case, new_id: Ids, scratch: Path) -> None:
    volume_id = volume(case, new_id)
    write(case, volume_id, 0, 0x61)
    write(case, volume_id, MIB, 0x62)
    snapshot_id = new_id()
    case.backing.snapshot(snapshot_id, volume_id)
    write(case, volume_id, 0, 0x7A)
    copy_id = new_id()
    case.backing.create_from_snapshot(copy_id, snapshot_id, 1)
    assert head(case.backing.path(copy_id), case.fmt, scratch) == marked(0x61, 0x62)
    assert head(case.backing.path(volume_id), case.fmt, scratch) == marked(0x7A, 0x62)


def test_a_volume_made_from_a_snapshot_may_be_larger(
        case: Case, new_id: Ids, scratch: Path) -> None:
    volume_id = volume(case, new_id)
    write(case, volume_id, 0, 0x61)
    write(case, volume_id, MIB, 0x62)
    snapshot_id = new_id()
    case.backing.snapshot(snapshot_id, volume_id)
    copy_id = new_id()
    case.backing.create_from_snapshot(copy_id, snapshot_id, 2)
    case.backing.create_from_snapshot(copy_id, snapshot_id, 2)  # a retry changes nothing
    assert case.backing.size_bytes(copy_id) == 2 * GIB
    assert head(case.backing.path(copy_id), case.fmt, scratch) == marked(0x61, 0x62)
    assert {volume_id, copy_id} <= set(case.backing.volumes())
    assert snapshot_id not in case.backing.volumes()


def test_a_volume_smaller_than_its_snapshot_is_refused(
        case: Case, new_id: Ids) -> None:
    volume_id = volume(case, new_id, size_gb=2)
    snapshot_id = new_id()
    case.backing.snapshot(snapshot_id, volume_id)
    copy_id = new_id()
    with pytest.raises(StorageError, match="smaller"):
        case.backing.create_from_snapshot(copy_id, snapshot_id, 1)
    assert not case.backing.exists(copy_id)


def test_snapshotting_again_and_deleting_a_snapshot_twice_succeed(
        case: Case, new_id: Ids) -> None:
    volume_id = volume(case, new_id)
    snapshot_id = new_id()
    case.backing.snapshot(snapshot_id, volume_id)
    case.backing.snapshot(snapshot_id, volume_id)
    case.backing.delete_snapshot(snapshot_id)
    case.backing.delete_snapshot(snapshot_id)
    with pytest.raises(StorageError, match="does not exist"):
        case.backing.create_from_snapshot(new_id(), snapshot_id, 1)


def test_snapshotting_an_absent_volume_is_refused(case: Case, new_id: Ids) -> None:
    with pytest.raises(StorageError, match="does not exist"):
        case.backing.snapshot(new_id(), new_id())


def test_wiping_a_volume_writes_zeros_over_its_data_before_removing_it(
        case: Case, new_id: Ids, scratch: Path) -> None:
    volume_id = volume(case, new_id)
    write(case, volume_id, 0, 0x61)
    write(case, volume_id, MIB, 0x62)
    path = Path(case.backing.path(volume_id))
    kept = scratch / "kept-link"
    if path.is_file():  # a second name for the file keeps its blocks readable after unlink
        os.link(path, kept)
        assert not all_zero(kept)
    case.backing.wipe_and_delete(volume_id)
    assert not case.backing.exists(volume_id)
    assert volume_id not in case.backing.volumes()
    if kept.exists():
        assert all_zero(kept)
    case.backing.wipe_and_delete(volume_id)  # absent: nothing to do


def test_an_absent_volume_has_no_path_and_no_size(case: Case, new_id: Ids) -> None:
    volume_id = new_id()
    assert not case.backing.exists(volume_id)
    with pytest.raises(StorageError, match="does not exist"):
        case.backing.path(volume_id)
    with pytest.raises(StorageError, match="does not exist"):
        case.backing.size_bytes(volume_id)


def test_a_deleted_snapshot_file_is_zeroed_first(new_id: Ids, scratch: Path) -> None:
    files = FileBacking(scratch / "volumes")
    case = Case(files, "raw")
    volume_id = volume(case, new_id)
    write(case, volume_id, 0, 0x61)
    snapshot_id = new_id()
    files.snapshot(snapshot_id, volume_id)
    kept = scratch / "kept-link"
    os.link(files.root / f"snapshot-{snapshot_id}", kept)
    files.delete_snapshot(snapshot_id)
    assert all_zero(kept)
    remove_all(files, [volume_id])


# -- exporters ----------------------------------------------------------------


def capacity(export: VolumeExport, initiator: str | None = None) -> int:
    """The LUN's size in bytes as a SCSI READ CAPACITY(16) over iSCSI reports it."""
    chosen = ["-i", initiator] if initiator else []
    out = run("iscsi-readcapacity16", *chosen, f"iscsi://{export.portal}/{export.iqn}/{export.lun}")
    found = re.search(r"Total size:(\d+)", out)
    assert found, out
    return int(found[1])


def offered(portal: str) -> str:
    """What iSCSI discovery (SendTargets) lists at the portal, with each target's LUNs."""
    return run("iscsi-ls", "-s", f"iscsi://{portal}")


def test_an_exported_volume_reads_back_over_iscsi(
        raw_case: Case, exporter: Exporter, new_id: Ids, scratch: Path) -> None:
    volume_id = volume(raw_case, new_id)
    write(raw_case, volume_id, 0, 0x61)
    write(raw_case, volume_id, MIB, 0x62)
    export = exporter.export(volume_id, raw_case.backing.path(volume_id), None)
    assert (export.iqn, export.lun) == (iqn_for(volume_id), 1)
    assert capacity(export) == GIB
    lun = f"iscsi://{export.portal}/{export.iqn}/{export.lun}"
    assert head(lun, "raw", scratch) == head(raw_case.backing.path(volume_id), "raw", scratch)
    assert head(lun, "raw", scratch) == marked(0x61, 0x62)


def test_exporting_again_gives_the_same_export_and_one_target(
        raw_case: Case, exporter: Exporter, new_id: Ids) -> None:
    volume_id = volume(raw_case, new_id)
    path = raw_case.backing.path(volume_id)
    first = exporter.export(volume_id, path, None)
    assert exporter.export(volume_id, path, None) == first
    assert exporter.exports().count(volume_id) == 1
    assert offered(first.portal).count(f"Target:{first.iqn} ") == 1


def test_an_unexported_volume_is_no_longer_offered(
        raw_case: Case, exporter: Exporter, new_id: Ids) -> None:
    volume_id, neighbour_id = volume(raw_case, new_id), volume(raw_case, new_id)
    export = exporter.export(volume_id, raw_case.backing.path(volume_id), None)
    neighbour = exporter.export(neighbour_id, raw_case.backing.path(neighbour_id), None)
    assert export.iqn in offered(export.portal)
    exporter.unexport(volume_id)
    assert export.iqn not in offered(export.portal)
    assert neighbour.iqn in offered(export.portal)  # (tgtd refuses discovery with no targets)
    assert volume_id not in exporter.exports()
    assert neighbour_id in exporter.exports()
    exporter.unexport(volume_id)  # absent: nothing to do


def test_unexporting_a_volume_never_exported_succeeds(
        raw_case: Case, exporter: Exporter, new_id: Ids) -> None:
    exporter.unexport(new_id())


def test_an_export_for_one_initiator_lets_only_that_initiator_in(
        raw_case: Case, exporter: Exporter, new_id: Ids) -> None:
    volume_id = volume(raw_case, new_id)
    export = exporter.export(volume_id, raw_case.backing.path(volume_id), INITIATOR)
    assert capacity(export, INITIATOR) == GIB
    with pytest.raises(subprocess.CalledProcessError):
        capacity(export, STRANGER)


def test_exporting_a_missing_path_is_refused_and_leaves_nothing(
        raw_case: Case, exporter: Exporter, new_id: Ids, scratch: Path) -> None:
    volume_id = new_id()
    with pytest.raises(StorageError, match="does not exist"):
        exporter.export(volume_id, str(scratch / "missing"), None)
    assert volume_id not in exporter.exports()


def test_a_tgtd_that_cannot_be_reached_makes_tgt_unavailable() -> None:
    with pytest.raises(StorageUnavailable, match="tgtd"):
        TgtExporter(control_port=free_control_port()).exports()


def test_a_private_tgtd_stops_with_its_targets_and_leaves_no_socket(scratch: Path) -> None:
    (scratch / "volume").write_bytes(bytes(MIB))
    with TgtDaemon() as daemon:
        daemon.exporter().export("leftover", str(scratch / "volume"), None)
        process = daemon.process
        sockets = [Path(f"/var/run/tgtd/socket.{daemon.control_port}{end}")
                   for end in ("", ".lock")]
        assert process is not None and all(path.exists() for path in sockets)
    assert process.returncode == 0
    assert not any(path.exists() for path in sockets)


# -- backups ------------------------------------------------------------------


def test_a_backup_keeps_only_used_data_and_restores_the_same_bytes(
        raw_case: Case, new_id: Ids, scratch: Path) -> None:
    volume_id = volume(raw_case, new_id)
    write(raw_case, volume_id, 0, 0x61)
    write(raw_case, volume_id, MIB, 0x62)
    source = Path(raw_case.backing.path(volume_id))
    record = archive(source, scratch / "backups", new_id())
    assert record.size_bytes == GIB
    assert record.stored_bytes < 64 * 1024
    restored = scratch / "restored"
    assert restore(Path(record.path), restored) == record.sha256
    assert same_bytes(restored, source)
    assert restored.stat().st_blocks * 512 < MIB  # restored sparse


def test_a_backup_restores_into_a_larger_volume_and_clears_what_it_held(
        raw_case: Case, new_id: Ids, scratch: Path) -> None:
    volume_id = volume(raw_case, new_id)
    write(raw_case, volume_id, 0, 0x61)
    write(raw_case, volume_id, MIB, 0x62)
    record = archive(Path(raw_case.backing.path(volume_id)), scratch / "backups", new_id())
    larger = volume(raw_case, new_id, size_gb=2)
    write(raw_case, larger, 2 * MIB, 0x78)  # what the new volume held before
    restore(Path(record.path), Path(raw_case.backing.path(larger)))
    assert raw_case.backing.size_bytes(larger) == 2 * GIB
    assert head(raw_case.backing.path(larger), "raw", scratch) == marked(0x61, 0x62)


def test_the_sha256_of_a_volume_counts_its_holes_as_zeros(scratch: Path) -> None:
    sparse = scratch / "volume"
    with sparse.open("wb") as file:
        file.seek(3 * MIB)
        file.write(b"end")
    assert volume_sha256(sparse) == hashlib.sha256(sparse.read_bytes()).hexdigest()


def test_a_backup_can_be_checked_with_sha256sum(new_id: Ids, scratch: Path) -> None:
    (scratch / "volume").write_bytes(b"data" * 1000)
    record = archive(scratch / "volume", scratch / "backups", new_id())
    done = subprocess.run(["sha256sum", "-c", checksum_path(Path(record.path)).name],
                          cwd=scratch / "backups", capture_output=True, text=True, check=False)
    assert done.returncode == 0 and done.stdout.strip().endswith(": OK")


def test_a_corrupted_backup_is_refused(new_id: Ids, scratch: Path) -> None:
    (scratch / "volume").write_bytes(os.urandom(256 * 1024))
    record = archive(scratch / "volume", scratch / "backups", new_id())
    stored = bytearray(Path(record.path).read_bytes())
    stored[len(stored) // 2] ^= 0xFF
    Path(record.path).write_bytes(stored)
    with pytest.raises(StorageError, match="corrupt"):
        restore(Path(record.path), scratch / "restored")
    assert not (scratch / "restored").exists()


def test_a_damaged_backup_with_a_rewritten_checksum_is_still_refused(
        new_id: Ids, scratch: Path) -> None:
    (scratch / "volume").write_bytes(os.urandom(256 * 1024))
    record = archive(scratch / "volume", scratch / "backups", new_id())
    stored = bytearray(Path(record.path).read_bytes())
    stored[len(stored) // 2] ^= 0xFF
    Path(record.path).write_bytes(stored)
    forged = run("sha256sum", record.path).split()[0]
    checksum_path(Path(record.path)).write_text(f"{forged}  {Path(record.path).name}\n")
    with pytest.raises(StorageError):
        restore(Path(record.path), scratch / "restored")
    assert not (scratch / "restored").exists()


def test_backups_older_than_the_retention_have_expired(
        new_id: Ids, scratch: Path) -> None:
    (scratch / "volume").write_bytes(b"data")
    now = datetime.now(UTC)
    old = Path(archive(scratch / "volume", scratch / "backups", new_id()).path)
    recent = Path(archive(scratch / "volume", scratch / "backups", new_id()).path)
    eight_days_ago = (now - timedelta(days=8)).timestamp()
    os.utime(old, (eight_days_ago, eight_days_ago))
    assert expired(scratch / "backups", 7, now) == [old]
    assert expired(scratch / "backups", 9, now) == []
    assert recent.exists()
