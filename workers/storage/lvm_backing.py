"""Volumes as logical volumes in one LVM volume group: nova-volume's backing.

A volume is the thick LV ``<vg>/volume-<id>``, served to exporters as
``/dev/<vg>/volume-<id>``. A snapshot is a classic copy-on-write snapshot
LV whose copy-on-write space is as large as its origin, so it never
overflows. LVM reserves LV names starting with "snapshot", so (as Cinder
does) a snapshot's LV is ``_snapshot-<id>``. A volume made from a snapshot
is a new LV that the snapshot's bytes are copied into with ``dd``, under a
``.partial`` name renamed at the end, so a crash leaves no half-copied
volume. Deleting writes zeros over the whole LV with ``dd`` (over a
snapshot's copy-on-write device, for a snapshot) before ``lvremove``, as
nova-volume did, so no data passes from one tenant to the next. A volume
that still has snapshots is not deleted: removing the origin would take
its snapshots with it.

LVM needs the kernel's device-mapper; ``lvm_probe`` says why it cannot run
on a host (tests skip with that reason).
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from pathlib import Path

import msgspec

from workers.storage.port import StorageError, StorageUnavailable, checked_id

GIB = 1 << 30
MIB = 1 << 20


def lvm_probe(vg: str = "nova-volumes") -> str | None:
    """None when LVM can run here on volume group ``vg``; else why it cannot."""
    reasons = []
    if not Path("/dev/mapper/control").exists():
        reasons.append("this kernel has no device-mapper (/dev/mapper/control is missing)")
    if shutil.which("lvcreate") is None:
        reasons.append("lvm2 is not installed")
    if not reasons:
        done = subprocess.run(["vgs", "--noheadings", "-o", "vg_name", vg],
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            reasons.append(f"there is no volume group {vg} ({done.stderr.strip()})")
    return f"LVM cannot run here: {'; '.join(reasons)}" if reasons else None


class _Lv(msgspec.Struct, frozen=True):
    size: int
    origin: str
    origin_size: int


class LvmBacking:
    """A ``Backing`` on the LVs of one volume group."""

    def __init__(self, vg: str = "nova-volumes") -> None:
        self.vg = vg

    def create(self, volume_id: str, size_gb: int) -> None:
        name = _volume(volume_id)
        if self._settled(name, size_gb):
            return
        _run("lvcreate", "--yes", "-L", f"{size_gb}G", "-n", name, self.vg)

    def create_from_snapshot(self, volume_id: str, snapshot_id: str, size_gb: int) -> None:
        name = _volume(volume_id)
        if self._settled(name, size_gb):
            return
        snapshot = _snapshot(snapshot_id)
        lvs = self._lvs()
        if snapshot not in lvs:
            raise StorageError(f"snapshot {snapshot_id} does not exist")
        source_size = lvs[snapshot].origin_size
        if size_gb * GIB < source_size:
            raise StorageError(f"{size_gb} GB is smaller than snapshot {snapshot_id}")
        partial = f"{name}.partial"
        if partial in lvs:
            _run("lvremove", "-f", f"{self.vg}/{partial}")
        _run("lvcreate", "--yes", "-L", f"{size_gb}G", "-n", partial, self.vg)
        try:
            _run("dd", f"if={self._device(snapshot)}", f"of={self._device(partial)}", "bs=1M",
                 f"count={math.ceil(source_size / MIB)}", "iflag=direct", "oflag=direct",
                 "conv=fsync")
        except BaseException:
            _run("lvremove", "-f", f"{self.vg}/{partial}")
            raise
        _run("lvrename", self.vg, partial, name)

    def snapshot(self, snapshot_id: str, volume_id: str) -> None:
        snapshot = _snapshot(snapshot_id)
        lvs = self._lvs()
        if snapshot in lvs:
            return
        origin = _volume(volume_id)
        if origin not in lvs:
            raise StorageError(f"volume {volume_id} does not exist")
        _run("lvcreate", "--yes", "--snapshot", "-n", snapshot,
                  "-L", f"{math.ceil(lvs[origin].size / GIB)}G", f"{self.vg}/{origin}")

    def delete_snapshot(self, snapshot_id: str) -> None:
        snapshot = _snapshot(snapshot_id)
        if snapshot not in self._lvs():
            return
        # Writing to the snapshot itself would add exceptions; its data lives
        # in the copy-on-write device, so that is what gets zeroed.
        cow = Path(f"/dev/mapper/{_dm(self.vg)}-{_dm(snapshot)}-cow")
        if not cow.exists():
            raise StorageError(f"cannot wipe snapshot {snapshot_id}: {cow} is missing")
        _zero(str(cow), _device_size(cow))
        _run("lvremove", "-f", f"{self.vg}/{snapshot}")

    def wipe_and_delete(self, volume_id: str) -> None:
        name = _volume(volume_id)
        lvs = self._lvs()
        if name not in lvs:
            return
        if any(lv.origin == name for lv in lvs.values()):
            raise StorageError(f"volume {volume_id} still has snapshots")
        _zero(self._device(name), lvs[name].size)
        _run("lvremove", "-f", f"{self.vg}/{name}")

    def path(self, volume_id: str) -> str:
        name = _volume(volume_id)
        if name not in self._lvs():
            raise StorageError(f"volume {volume_id} does not exist")
        return self._device(name)

    def exists(self, volume_id: str) -> bool:
        return _volume(volume_id) in self._lvs()

    def size_bytes(self, volume_id: str) -> int:
        lv = self._lvs().get(_volume(volume_id))
        if lv is None:
            raise StorageError(f"volume {volume_id} does not exist")
        return lv.size

    def volumes(self) -> list[str]:
        return sorted(
            name.removeprefix("volume-")
            for name in self._lvs()
            if name.startswith("volume-") and not name.endswith(".partial")
        )

    def _settled(self, name: str, size_gb: int) -> bool:
        if isinstance(size_gb, bool) or not isinstance(size_gb, int) or size_gb < 1:
            raise StorageError(f"size_gb must be a whole number, at least 1 (got {size_gb!r})")
        lv = self._lvs().get(name)
        if lv is None:
            return False
        if lv.size != size_gb * GIB:
            raise StorageError(f"{name} already exists with {lv.size} bytes")
        return True

    def _lvs(self) -> dict[str, _Lv]:
        out = _run("lvs", "--noheadings", "--nosuffix", "--units", "b", "--separator", "|",
                        "-o", "lv_name,lv_size,origin,origin_size", self.vg)
        lvs = {}
        for line in out.splitlines():
            if not line.strip():
                continue
            name, size, origin, origin_size = (field.strip() for field in line.split("|"))
            lvs[name] = _Lv(int(size), origin, int(origin_size or 0))
        return lvs

    def _device(self, name: str) -> str:
        return f"/dev/{self.vg}/{name}"


def _volume(volume_id: str) -> str:
    return f"volume-{checked_id(volume_id)}"


def _snapshot(snapshot_id: str) -> str:
    return f"_snapshot-{checked_id(snapshot_id)}"


def _dm(name: str) -> str:
    """A name as device-mapper spells it inside ``<vg>-<lv>`` (dashes doubled)."""
    return name.replace("-", "--")


def _device_size(device: Path) -> int:
    fd = os.open(device, os.O_RDONLY)
    try:
        return os.lseek(fd, 0, os.SEEK_END)
    finally:
        os.close(fd)


def _zero(device: str, size: int) -> None:
    _run("dd", "if=/dev/zero", f"of={device}", "bs=1M", f"count={size // MIB}",
         "oflag=direct", "conv=fsync")


def _run(*args: str) -> str:
    env = {**os.environ, "LC_ALL": "C", "LVM_SUPPRESS_FD_WARNINGS": "1"}
    try:
        done = subprocess.run(list(args), capture_output=True, text=True, check=False, env=env)
    except FileNotFoundError as error:
        raise StorageUnavailable(f"{args[0]} is not installed") from error
    if done.returncode != 0:
        message = f"{args[0]}: {done.stderr.strip()}"
        if "lock" in done.stderr.lower():  # another LVM command holds the VG lock
            raise StorageUnavailable(message)
        raise StorageError(message)
    return done.stdout
