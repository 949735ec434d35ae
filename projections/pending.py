"""A state's pending operation as the views hold it: two text columns.

The domain keeps what a host still has to answer as a ``Pending`` (the
request's id and the class of the step's event). A view's row keeps it as
``pending`` (the request id) and ``pending_kind`` (the class's name), so the
tables, and the queries that read them, stay as they are. These convert at
that edge, both ways; the name is resolved through ``domain.registry``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import msgspec

from domain.base import Pending
from domain.registry import EVENT_TYPES

S = TypeVar("S", bound=msgspec.Struct)


def columns(kind: type[msgspec.Struct]) -> tuple[str, ...]:
    """The columns of a state struct's row: its fields, and ``pending_kind``
    beside a ``pending`` one."""
    fields = kind.__struct_fields__
    return (*fields, "pending_kind") if "pending" in fields else fields


def from_row(row: Mapping[str, Any], kind: type[S]) -> S:
    """The state a row (``columns(kind)``, ids as text) holds."""
    values = dict(row)
    request_id, step = values.pop("pending", None), values.pop("pending_kind", None)
    state = msgspec.convert(values, kind)
    if request_id is None:
        return state
    return msgspec.structs.replace(state, pending=Pending(request_id, EVENT_TYPES[step]))


def to_row(state: msgspec.Struct) -> dict[str, Any]:
    """A state's fields as its row's columns."""
    values = msgspec.structs.asdict(state)
    pending: Pending[Any] | None = values.get("pending")
    if "pending" in values:
        values["pending"] = None if pending is None else pending.request_id
        values["pending_kind"] = None if pending is None else pending.step.__name__
    return values
