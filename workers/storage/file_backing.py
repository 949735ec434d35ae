"""Volumes as sparse files in one directory: the backing for hosts without LVM.

``<root>/volume-<id>`` holds a volume and ``<root>/snapshot-<id>`` a
snapshot. In the default ``raw`` format a volume is a sparse file the size
a guest sees (``os.truncate``), which an iSCSI exporter serves as it is.
In ``qcow2`` format every file is a qcow2 image made and copied with
``qemu-img``; only qemu itself reads those, so an iSCSI exporter would serve
the qcow2 container, not the guest's bytes: export raw volumes only.

Snapshots are full, independent copies (sparse for raw, ``qemu-img convert``
for qcow2), so volumes and snapshots can be deleted in any order. A copy is
point-in-time only while nobody writes the volume (the API snapshots
detached volumes). New files are written under a ``.partial`` name and
renamed into place, so a crash leaves no half-made volume behind.

Deleting writes zeros over every block that holds data, then fsyncs and
unlinks, as nova-volume did for its logical volumes. Holes are skipped: they
hold no data, and filling them would make a thin host run out of space. On a
copy-on-write filesystem (btrfs, ZFS) overwriting does not reach the old
blocks; keep the root on ext4 or XFS.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

from workers.storage.port import StorageError, StorageUnavailable, checked_id

Format = Literal["raw", "qcow2"]

GIB = 1 << 30
CHUNK = 1 << 20


def data_extents(fd: int, size: int, start: int = 0) -> Iterator[tuple[int, int]]:
    """``(start, end)`` of each region of an open file, between ``start`` and
    ``size``, that may hold data.

    Holes are skipped (``SEEK_DATA``/``SEEK_HOLE``); where the filesystem or
    device cannot tell, the whole range is one region.
    """
    offset = start
    while offset < size:
        try:
            data = os.lseek(fd, offset, os.SEEK_DATA)
        except OSError as error:
            if error.errno == errno.ENXIO:  # nothing but a hole from here on
                return
            if error.errno in (errno.EINVAL, errno.EOPNOTSUPP):
                yield offset, size
                return
            raise
        if data >= size:
            return
        end = min(os.lseek(fd, data, os.SEEK_HOLE), size)
        yield data, end
        offset = end


def chunks(fd: int, size: int) -> Iterator[tuple[int, bytes]]:
    """``(offset, bytes)`` of every chunk that may hold data, ``CHUNK`` bytes at most."""
    for start, end in data_extents(fd, size):
        for offset in range(start, end, CHUNK):
            yield offset, os.pread(fd, min(CHUNK, end - offset), offset)


def is_zero(data: bytes) -> bool:
    return data.count(0) == len(data)


def zero_fill(path: Path) -> None:
    """Write zeros over every block of the file that holds data, then fsync."""
    fd = os.open(path, os.O_RDWR)
    try:
        zeros = bytes(CHUNK)
        for start, end in data_extents(fd, os.fstat(fd).st_size):
            for offset in range(start, end, CHUNK):
                os.pwrite(fd, zeros[: min(CHUNK, end - offset)], offset)
        os.fsync(fd)
    finally:
        os.close(fd)


def copy_sparse(source: Path, target: Path, size: int) -> None:
    """Copy a raw file's data into a new file of ``size`` bytes, leaving holes as holes."""
    source_fd = os.open(source, os.O_RDONLY)
    try:
        target_fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            for offset, data in chunks(source_fd, os.fstat(source_fd).st_size):
                if not is_zero(data):
                    os.pwrite(target_fd, data, offset)
            os.ftruncate(target_fd, size)
            os.fsync(target_fd)
        finally:
            os.close(target_fd)
    finally:
        os.close(source_fd)


def qemu_img(*args: str) -> str:
    try:
        done = subprocess.run(["qemu-img", *args], capture_output=True, text=True, check=False)
    except FileNotFoundError as error:
        raise StorageUnavailable("qemu-img is not installed") from error
    if done.returncode != 0:
        raise StorageError(f"qemu-img {args[0]}: {done.stderr.strip()}")
    return done.stdout


class FileBacking:
    """A ``Backing`` on files under ``root`` (created when missing)."""

    def __init__(self, root: Path, fmt: Format = "raw") -> None:
        if fmt not in ("raw", "qcow2"):
            raise ValueError(f"unknown volume file format {fmt!r}")
        self.root = root
        self.fmt = fmt
        root.mkdir(parents=True, exist_ok=True)

    def create(self, volume_id: str, size_gb: int) -> None:
        target = self._volume(volume_id)
        size = _bytes(size_gb)
        if self._settled(target, size):
            return
        partial = _partial(target)
        with _failing_as_storage_error(partial):
            if self.fmt == "raw":
                with partial.open("wb"):
                    pass
                os.truncate(partial, size)
            else:
                qemu_img("create", "-q", "-f", "qcow2", str(partial), str(size))
            os.replace(partial, target)

    def create_from_snapshot(self, volume_id: str, snapshot_id: str, size_gb: int) -> None:
        target = self._volume(volume_id)
        size = _bytes(size_gb)
        if self._settled(target, size):
            return
        source = self._snapshot(snapshot_id)
        if not source.is_file():
            raise StorageError(f"snapshot {snapshot_id} does not exist")
        if size < self._virtual_size(source):
            raise StorageError(f"{size_gb} GB is smaller than snapshot {snapshot_id}")
        partial = _partial(target)
        with _failing_as_storage_error(partial):
            if self.fmt == "raw":
                copy_sparse(source, partial, size)
            else:
                qemu_img("convert", "-f", "qcow2", "-O", "qcow2", str(source), str(partial))
                qemu_img("resize", "-q", "-f", "qcow2", str(partial), str(size))
            os.replace(partial, target)

    def snapshot(self, snapshot_id: str, volume_id: str) -> None:
        target = self._snapshot(snapshot_id)
        if target.is_file():
            return
        source = self._existing(volume_id)
        partial = _partial(target)
        with _failing_as_storage_error(partial):
            if self.fmt == "raw":
                copy_sparse(source, partial, source.stat().st_size)
            else:
                qemu_img("convert", "-f", "qcow2", "-O", "qcow2", str(source), str(partial))
            os.replace(partial, target)

    def delete_snapshot(self, snapshot_id: str) -> None:
        self._wipe(self._snapshot(snapshot_id))

    def wipe_and_delete(self, volume_id: str) -> None:
        self._wipe(self._volume(volume_id))

    def path(self, volume_id: str) -> str:
        return str(self._existing(volume_id))

    def exists(self, volume_id: str) -> bool:
        return self._volume(volume_id).is_file()

    def size_bytes(self, volume_id: str) -> int:
        return self._virtual_size(self._existing(volume_id))

    def volumes(self) -> list[str]:
        return sorted(
            path.name.removeprefix("volume-")
            for path in self.root.glob("volume-*")
            if path.is_file() and not path.name.endswith(".partial")
        )

    def _settled(self, target: Path, size: int) -> bool:
        """True when the volume is already there with that size (a retried create)."""
        if not target.is_file():
            return False
        existing = self._virtual_size(target)
        if existing != size:
            raise StorageError(f"{target.name} already exists with {existing} bytes")
        return True

    def _virtual_size(self, path: Path) -> int:
        if self.fmt == "raw":
            return path.stat().st_size
        info = json.loads(qemu_img("info", "--output=json", "-f", "qcow2", str(path)))
        return int(info["virtual-size"])

    def _wipe(self, path: Path) -> None:
        with _failing_as_storage_error(None):
            try:
                zero_fill(path)
            except FileNotFoundError:
                return
            path.unlink(missing_ok=True)

    def _existing(self, volume_id: str) -> Path:
        path = self._volume(volume_id)
        if not path.is_file():
            raise StorageError(f"volume {volume_id} does not exist")
        return path

    def _volume(self, volume_id: str) -> Path:
        return self.root / f"volume-{checked_id(volume_id)}"

    def _snapshot(self, snapshot_id: str) -> Path:
        return self.root / f"snapshot-{checked_id(snapshot_id)}"


def _bytes(size_gb: int) -> int:
    if isinstance(size_gb, bool) or not isinstance(size_gb, int) or size_gb < 1:
        raise StorageError(f"size_gb must be a whole number, at least 1 (got {size_gb!r})")
    return size_gb * GIB


def _partial(path: Path) -> Path:
    return path.with_name(f"{path.name}.partial")


@contextlib.contextmanager
def _failing_as_storage_error(partial: Path | None) -> Iterator[None]:
    """OS errors (no space, permissions) become StorageError; a half-made file is removed."""
    try:
        yield
    except BaseException as error:
        if partial is not None:
            partial.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise StorageError(str(error)) from error
        raise
