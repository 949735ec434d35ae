"""Volume backups: the seed's procedure of archiving a volume's used data.

``archive`` reads a volume (a sparse file or a block device) and keeps only
the chunks that hold data: holes (``SEEK_DATA``) and all-zero chunks are
left out, so a mostly empty 1 GB volume makes an archive of a few KB. Beside
the archive goes ``<archive>.sha256`` in ``sha256sum`` format, so operators
can check it with ``sha256sum -c``. ``restore`` refuses an archive whose
checksum does not match, then writes the chunks back (into a new sparse
file, or over an existing volume, zeroing what lies between the chunks) and
returns the sha256 of the volume bytes it wrote, which the archive also
records and which must match.

The archive is a gzip stream of::

    b"NIMBUS-VOLUME-BACKUP 1\\n", then >QI (volume size, chunk size)
    per chunk with data: >QI (offset, length), then the bytes
    end: >QI (volume size, 0), then the 32-byte sha256 of all volume bytes

Archives and their checksum files are written under a ``.partial`` name and
renamed, so a crash never leaves an archive that looks complete.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import zlib
from datetime import datetime
from pathlib import Path

import msgspec

from workers.storage.file_backing import CHUNK, chunks, data_extents, is_zero
from workers.storage.port import StorageError, checked_id

MAGIC = b"NIMBUS-VOLUME-BACKUP 1\n"
_RECORD = struct.Struct(">QI")
_ZEROS = bytes(CHUNK)


class BackupRecord(msgspec.Struct, frozen=True, kw_only=True):
    path: str  # the archive
    sha256: str  # of the volume's bytes (the checksum file covers the archive)
    size_bytes: int  # of the volume
    stored_bytes: int  # of the archive


def archive_path(directory: Path, backup_id: str) -> Path:
    return directory / f"backup-{checked_id(backup_id)}.chunks.gz"


def checksum_path(archive: Path) -> Path:
    return archive.with_name(f"{archive.name}.sha256")


def archive(source: Path, directory: Path, backup_id: str) -> BackupRecord:
    """Archive the used data of the volume at ``source`` as backup ``backup_id``."""
    target = archive_path(directory, backup_id)
    partial = target.with_name(f"{target.name}.partial")
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(source, os.O_RDONLY)
        try:
            size = os.lseek(fd, 0, os.SEEK_END)
            volume = hashlib.sha256()
            with gzip.GzipFile(partial, "wb", compresslevel=6, mtime=0) as out:
                out.write(MAGIC + _RECORD.pack(size, CHUNK))
                position = 0
                for offset, data in chunks(fd, size):
                    _hash_zeros(volume, offset - position)
                    volume.update(data)
                    if not is_zero(data):
                        out.write(_RECORD.pack(offset, len(data)))
                        out.write(data)
                    position = offset + len(data)
                _hash_zeros(volume, size - position)
                out.write(_RECORD.pack(size, 0) + volume.digest())
        finally:
            os.close(fd)
        _fsync(partial)
        os.replace(partial, target)
        _write_checksum(target)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise StorageError(f"cannot archive {source}: {error}") from error
    return BackupRecord(path=str(target), sha256=volume.hexdigest(), size_bytes=size,
                        stored_bytes=target.stat().st_size)


def restore(record_path: Path, dest: Path) -> str:
    """Write the archived volume to ``dest`` once the archive's checksum matches;
    the sha256 of the volume bytes written.

    A missing ``dest`` becomes a new sparse file of the archived size. An
    existing one (a new, possibly larger volume: a file or a block device)
    is written in place: the archived chunks, and zeros wherever it holds
    data between them. A failure part-way leaves it partly written; a retry
    writes it all again.
    """
    _verify_checksum(record_path)
    into = dest.exists()
    target = dest if into else dest.with_name(f"{dest.name}.partial")
    try:
        fd = os.open(target, os.O_WRONLY if into else os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                     0o600)
        try:
            with gzip.open(record_path, "rb") as stream:
                digest = _write_volume(stream, fd, into)
            os.fsync(fd)
        finally:
            os.close(fd)
        if not into:
            os.replace(target, dest)
    except (OSError, EOFError, zlib.error, struct.error, StorageError) as error:
        if not into:
            target.unlink(missing_ok=True)
        if isinstance(error, StorageError):
            raise
        raise StorageError(f"cannot restore {record_path}: {error}") from error
    return digest


def expired(directory: Path, retention_days: int, now: datetime) -> list[Path]:
    """The archives in ``directory`` made more than ``retention_days`` before ``now``."""
    cutoff = now.timestamp() - retention_days * 86400
    return sorted(path for path in directory.glob("backup-*.chunks.gz")
                  if path.stat().st_mtime < cutoff)


def volume_sha256(path: Path) -> str:
    """The sha256 of all the bytes of a volume file or block device (holes read as zeros)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.lseek(fd, 0, os.SEEK_END)
        digest = hashlib.sha256()
        position = 0
        for offset, data in chunks(fd, size):
            _hash_zeros(digest, offset - position)
            digest.update(data)
            position = offset + len(data)
        _hash_zeros(digest, size - position)
        return digest.hexdigest()
    finally:
        os.close(fd)


def _write_volume(stream: gzip.GzipFile, fd: int, into: bool) -> str:
    if stream.read(len(MAGIC)) != MAGIC:
        raise StorageError("not a nimbus volume backup")
    size, _chunk = _RECORD.unpack(_exactly(stream, _RECORD.size))
    if into:
        room = os.lseek(fd, 0, os.SEEK_END)
        if room < size:
            raise StorageError(f"the volume has {room} bytes, the backup needs {size}")
    else:
        os.ftruncate(fd, size)
    volume = hashlib.sha256()
    position = 0
    while True:
        offset, length = _RECORD.unpack(_exactly(stream, _RECORD.size))
        if length == 0:
            break
        if offset < position or offset + length > size:
            raise StorageError(f"chunk at {offset} is out of order")
        _zero_gap(fd, volume, position, offset, into)
        data = _exactly(stream, length)
        volume.update(data)
        os.pwrite(fd, data, offset)
        position = offset + length
    _zero_gap(fd, volume, position, size, into)
    if offset != size or _exactly(stream, 32) != volume.digest():
        raise StorageError("the restored bytes do not match the archived volume")
    return volume.hexdigest()


def _zero_gap(fd: int, digest: hashlib._Hash, start: int, end: int, into: bool) -> None:
    """Account for the zeros between chunks; in an existing volume, write them
    wherever it holds data (every block, on a device)."""
    _hash_zeros(digest, end - start)
    if into:
        for first, last in data_extents(fd, end, start):
            for offset in range(first, last, CHUNK):
                os.pwrite(fd, _ZEROS[: min(CHUNK, last - offset)], offset)


def _hash_zeros(digest: hashlib._Hash, count: int) -> None:
    while count > 0:
        step = min(count, CHUNK)
        digest.update(_ZEROS[:step] if step < CHUNK else _ZEROS)
        count -= step


def _exactly(stream: gzip.GzipFile, count: int) -> bytes:
    data = stream.read(count)
    if len(data) != count:
        raise StorageError("the archive ends early")
    return data


def _file_sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _write_checksum(archive: Path) -> None:
    checksum = checksum_path(archive)
    partial = checksum.with_name(f"{checksum.name}.partial")
    partial.write_text(f"{_file_sha256(archive)}  {archive.name}\n")
    _fsync(partial)
    os.replace(partial, checksum)


def _verify_checksum(archive: Path) -> None:
    try:
        expected = checksum_path(archive).read_text().split()[0]
        actual = _file_sha256(archive)
    except (OSError, IndexError) as error:
        raise StorageError(f"cannot check {archive}: {error}") from error
    if actual != expected:
        raise StorageError(f"{archive} is corrupt: its sha256 is {actual}, not {expected}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
