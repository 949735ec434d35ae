"""What snapshots and backups share: copies of a volume's bytes that its
storage host makes and later deletes, with Cinder's statuses for both."""

from __future__ import annotations

import enum


class Status(enum.StrEnum):
    CREATING = "creating"
    AVAILABLE = "available"
    DELETING = "deleting"
    ERROR = "error"
    ERROR_DELETING = "error_deleting"
    DELETED = "deleted"


DELETABLE = frozenset({Status.AVAILABLE, Status.ERROR, Status.ERROR_DELETING})


def settled(pending_kind: str, *, ok: bool) -> Status:
    """Where a host's answer leaves a copy: a create (``...CreateRequested``)
    makes it available or an error, a delete deleted or ``error_deleting``."""
    if pending_kind.endswith("CreateRequested"):
        return Status.AVAILABLE if ok else Status.ERROR
    return Status.DELETED if ok else Status.ERROR_DELETING
