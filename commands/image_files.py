"""Where image bytes live: one file per image under the image directory.

An upload is written to a temporary file next to its final place while its
size, MD5 and SHA-512 are computed, and renamed into place only when
complete, so a half-written upload is never served. A whole image written at
once (``put``: the seeded images, which every API process of a cloud writes
at its start) goes through a temporary file of its own writer's, so two
writers of one image never rename each other's file away. A size cap (Glance's
``image_size_cap``) stops an upload as soon as it is exceeded. Removing an
image's bytes removes a half-written upload of it too. The bytes of the
default image (an empty qcow2, ``placeholder_qcow2``) are made here too: a
file format is no business of the domain's.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import msgspec

from domain.errors import TooLarge

GLANCE_SIZE_CAP = 1099511627776  # 1 TiB, Glance's default image_size_cap
PARTIAL = ".partial"


def partial_of(final: Path, writer: str = "") -> Path:
    """Where the upload of ``final`` is written until it is complete (by
    ``writer``, when several may write it at once)."""
    return final.with_name(f".{final.name}{'.' + writer if writer else ''}{PARTIAL}")


class Stored(msgspec.Struct, frozen=True):
    size: int
    checksum: str
    os_hash_algo: str
    os_hash_value: str


class Upload:
    """One image's bytes on their way to disk."""

    def __init__(self, final: Path, size_cap: int, writer: str = "") -> None:
        self.final = final
        self.partial = partial_of(final, writer)
        self.size_cap = size_cap
        self.size = 0
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha512 = hashlib.sha512()
        final.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.partial, "wb")  # noqa: SIM115 - closed by finish/abort

    def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.size_cap:
            raise TooLarge(f"Image exceeds the storage quota: the size cap is "
                           f"{self.size_cap} bytes.")
        self._md5.update(chunk)
        self._sha512.update(chunk)
        self._file.write(chunk)

    def finish(self) -> Stored:
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self.partial, self.final)
        return Stored(self.size, self._md5.hexdigest(), "sha512", self._sha512.hexdigest())

    def abort(self) -> None:
        self._file.close()
        self.partial.unlink(missing_ok=True)


class ImageFiles:
    """The image directory (``<state_dir>/images`` by default)."""

    def __init__(self, directory: Path, size_cap: int = GLANCE_SIZE_CAP) -> None:
        self.directory = directory
        self.size_cap = size_cap

    def path(self, image_id: str) -> Path:
        return self.directory / image_id

    def upload(self, image_id: str) -> Upload:
        return Upload(self.path(image_id), self.size_cap)

    def put(self, image_id: str, data: bytes) -> Stored:
        upload = Upload(self.path(image_id), self.size_cap, writer=uuid.uuid4().hex)
        try:
            upload.write(data)
        except BaseException:
            upload.abort()
            raise
        return upload.finish()

    def adopt(self, image_id: str, source: Path) -> Stored:
        """Take a complete file made elsewhere on this machine (a host's copy
        of a guest's disk: commands/server_images.py) as the image's bytes:
        read once for its size and checksums, then hard-linked into place
        (copied when ``source`` is on another file system), so ``source``
        stays until its taker lets it go and a retry can take it again."""
        writer = uuid.uuid4().hex
        partial = partial_of(self.path(image_id), writer)
        self.directory.mkdir(parents=True, exist_ok=True)
        md5, sha512, size = hashlib.md5(usedforsecurity=False), hashlib.sha512(), 0
        with open(source, "rb") as data:
            while chunk := data.read(1 << 20):
                size += len(chunk)
                if size > self.size_cap:
                    raise TooLarge(f"Image exceeds the storage quota: the size cap is "
                                   f"{self.size_cap} bytes.")
                md5.update(chunk)
                sha512.update(chunk)
        try:
            os.link(source, partial)
        except OSError:  # another file system: a copy of its own
            upload = Upload(self.path(image_id), self.size_cap, writer=writer)
            try:
                with open(source, "rb") as data:
                    while chunk := data.read(1 << 20):
                        upload.write(chunk)
            except BaseException:
                upload.abort()
                raise
            upload.finish()
        else:
            os.replace(partial, self.path(image_id))
        return Stored(size, md5.hexdigest(), "sha512", sha512.hexdigest())

    def remove(self, image_id: str) -> None:
        """The image's bytes and any half-written upload of them."""
        self.path(image_id).unlink(missing_ok=True)
        self.remove_partial(image_id)

    def remove_partial(self, image_id: str) -> None:
        partial_of(self.path(image_id)).unlink(missing_ok=True)
        for path in self.directory.glob(f".{image_id}.*{PARTIAL}"):
            path.unlink(missing_ok=True)

    def partial_uploads(self) -> list[str]:
        """The ids of the images with a half-written upload on disk."""
        if not self.directory.exists():
            return []
        return sorted({p.name[1:].split(".")[0] for p in self.directory.glob(f".*{PARTIAL}")})


def placeholder_qcow2(virtual_size: int = 1 << 30) -> bytes:
    """An empty, valid qcow2 (version 2, 64 KiB clusters): header, refcount
    table, one refcount block and the L1 table, each one cluster."""
    cluster = 1 << 16
    l1_entries = -(-virtual_size // (cluster * (cluster // 8)))
    header = b"".join((
        b"QFI\xfb", (2).to_bytes(4, "big"), bytes(8), bytes(4), (16).to_bytes(4, "big"),
        virtual_size.to_bytes(8, "big"), bytes(4), l1_entries.to_bytes(4, "big"),
        (3 * cluster).to_bytes(8, "big"), cluster.to_bytes(8, "big"), (1).to_bytes(4, "big"),
        bytes(4), bytes(8),
    ))
    refcount_table = (2 * cluster).to_bytes(8, "big")
    refcount_block = (1).to_bytes(2, "big") * 4
    return b"".join(part.ljust(cluster, b"\0")
                    for part in (header, refcount_table, refcount_block, b""))
