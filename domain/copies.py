"""What snapshots and backups share: copies of a volume's bytes that its
storage host makes and later deletes, with Cinder's statuses for both."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, TypeVar

import msgspec

# a Snapshot or a Backup: status, pending, pending_kind, fault, updated_at
C = TypeVar("C", bound=msgspec.Struct)


class Status(enum.StrEnum):
    CREATING = "creating"
    AVAILABLE = "available"
    DELETING = "deleting"
    ERROR = "error"
    ERROR_DELETING = "error_deleting"
    DELETED = "deleted"


DELETABLE = frozenset({Status.AVAILABLE, Status.ERROR, Status.ERROR_DELETING})


def deleting(state: C, *, request_id: str, kind: str, at: datetime) -> C:
    """A delete was asked for: the host is to remove the copy."""
    return msgspec.structs.replace(state, status=Status.DELETING, updated_at=at,
                                   pending=request_id, pending_kind=kind)


def ended(state: C, *, ok: bool, at: datetime, fault: str | None = None, **made: Any) -> C:
    """The host answered the pending request (``made``: what a create reports)."""
    kind = getattr(state, "pending_kind", None) or ""
    return msgspec.structs.replace(state, status=settled(kind, ok=ok), fault=fault,
                                   updated_at=at, pending=None, pending_kind=None, **made)


def settled(pending_kind: str, *, ok: bool) -> Status:
    """Where a host's answer leaves a copy: a create (``...CreateRequested``)
    makes it available or an error, a delete deleted or ``error_deleting``."""
    if pending_kind.endswith("CreateRequested"):
        return Status.AVAILABLE if ok else Status.ERROR
    return Status.DELETED if ok else Status.ERROR_DELETING
