"""What snapshots and backups share: copies of a volume's bytes that its
storage host makes and later deletes, with Cinder's statuses for both."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, TypeVar

import msgspec

from domain.base import Event, Pending

# a Snapshot or a Backup: status, pending, fault, updated_at
C = TypeVar("C", bound=msgspec.Struct)


class Status(enum.StrEnum):
    CREATING = "creating"
    AVAILABLE = "available"
    DELETING = "deleting"
    ERROR = "error"
    ERROR_DELETING = "error_deleting"
    DELETED = "deleted"


DELETABLE = frozenset({Status.AVAILABLE, Status.ERROR, Status.ERROR_DELETING})


def deleting(state: C, *, request_id: str, step: type[Event], at: datetime) -> C:
    """A delete was asked for (by an event of class ``step``): the host is to remove the copy."""
    return msgspec.structs.replace(state, status=Status.DELETING, updated_at=at,
                                   pending=Pending(request_id, step, at))


def ended(state: C, *, create: type[Event], ok: bool, at: datetime, fault: str | None = None,
          **made: Any) -> C:
    """The host answered the pending request (``create``: the class of the
    copy's create request; ``made``: what a create reports)."""
    pending: Pending[Event] | None = getattr(state, "pending", None)
    creating = pending is not None and pending.step is create
    return msgspec.structs.replace(state, status=settled(creating=creating, ok=ok), fault=fault,
                                   updated_at=at, pending=None, **made)


def settled(*, creating: bool, ok: bool) -> Status:
    """Where a host's answer leaves a copy: a create makes it available or an
    error, a delete deleted or ``error_deleting``."""
    if creating:
        return Status.AVAILABLE if ok else Status.ERROR
    return Status.DELETED if ok else Status.ERROR_DELETING
