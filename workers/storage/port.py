"""What the storage worker needs from a storage host, independent of its tools.

Two halves that vary independently: a ``Backing`` keeps the volumes' bytes
(sparse files, or LVM logical volumes as in nova-volume) and an ``Exporter``
offers one volume at a time to initiators over iSCSI (tgtd, or the kernel's
LIO target). The worker is written against these protocols. Every method
blocks (callers keep them off the event loop) and is idempotent, so a
retried command does no harm. ``StorageUnavailable`` means "try again
later"; ``StorageError`` means the host refuses and will keep refusing.
"""

from __future__ import annotations

import re
from typing import Protocol

import msgspec


class VolumeExport(msgspec.Struct, frozen=True, kw_only=True):
    """Where an initiator finds an exported volume."""

    portal: str  # "127.0.0.1:3260"
    iqn: str
    lun: int


class StorageError(Exception):
    """Permanent: the host refuses (bad size, no space, no such volume, ...)."""


class StorageUnavailable(Exception):
    """Transient: the tool or daemon cannot be reached now; retrying may help."""


_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,127}")


def checked_id(value: str) -> str:
    """A volume or snapshot id (a lowercase UUID, say), refused unless it is safe in
    a file name, an LV name and an IQN (which are lowercase and have no "_")."""
    if not _ID.fullmatch(value):
        raise StorageError(f"{value!r} is not a valid volume or snapshot id")
    return value


class Backing(Protocol):
    """Where the bytes live. All methods block and are idempotent."""

    def create(self, volume_id: str, size_gb: int) -> None:
        """A new zeroed volume; one that exists with the same size is success."""
        ...

    def create_from_snapshot(self, volume_id: str, snapshot_id: str, size_gb: int) -> None:
        """A new volume holding the snapshot's bytes; ``size_gb`` >= the snapshot's size."""
        ...

    def snapshot(self, snapshot_id: str, volume_id: str) -> None:
        """A point-in-time copy of the volume (an existing snapshot is success)."""
        ...

    def delete_snapshot(self, snapshot_id: str) -> None:
        """Wipe and remove a snapshot; an absent one is success."""
        ...

    def wipe_and_delete(self, volume_id: str) -> None:
        """Overwrite the volume's data with zeros, then remove it; absent is success.
        Delete its snapshots first: a backing may refuse while it has any (LVM does)."""
        ...

    def path(self, volume_id: str) -> str:
        """What an exporter serves (a file or a block device); StorageError if absent."""
        ...

    def exists(self, volume_id: str) -> bool: ...

    def size_bytes(self, volume_id: str) -> int:
        """The size a guest sees; StorageError if absent."""
        ...

    def volumes(self) -> list[str]:
        """The ids of the volumes (not snapshots) on this host, sorted."""
        ...


class Exporter(Protocol):
    """How volumes are offered over iSCSI: one target per volume, its LUN 1."""

    def export(self, volume_id: str, path: str, initiator: str | None) -> VolumeExport:
        """Export ``path`` as the volume's target; an existing export gives the
        same answer. ``initiator`` is the IQN allowed in; None allows any."""
        ...

    def unexport(self, volume_id: str) -> None:
        """Remove the volume's target; an absent one is success."""
        ...

    def exports(self) -> list[str]:
        """The ids of the volumes exported now, sorted."""
        ...
