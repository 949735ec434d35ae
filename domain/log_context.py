"""What a log line is about: the request, its user and project, the log position.

A request is followed from the API to the hosts and back by its request id:
the API binds it (with the caller's user and project once the token says
who asks), the workers bind the id of the request they are handling and the
ingester that of the outcome it records, with the event's log position where
it is known. The fields live in a ``ContextVar``, so every line logged while
the work runs carries them (runtime/logs.py puts them on each record), and
tasks and threads started meanwhile inherit them. ``part`` names the part of
nimbus doing the work (api, ingester, hypervisor-host1, ...), which tells
apart the lines of the parts that share one process. This module lives in
the domain because every layer may import the domain; it holds no I/O.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any


@dataclass
class LogContext:
    """The context of the work under way; ``None``/"" where not known.

    It is mutable on purpose: the API binds one per request, and what the
    route learns later (who asks, the id an Idempotency-Key gives) is set on
    that same object, which the access line is written from."""

    part: str = ""
    request_id: str = ""
    user_id: str = ""
    project_id: str = ""
    position: int | None = None

    def fields(self) -> dict[str, Any]:
        """The known fields, by name."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v not in ("", None)}


_CURRENT: ContextVar[LogContext | None] = ContextVar("log_context", default=None)


def current() -> LogContext:
    """The context of the work under way (an empty, unbound one outside any)."""
    return _CURRENT.get() or LogContext()


@contextlib.contextmanager
def bound(**fields: Any) -> Iterator[LogContext]:
    """A new context for the block: the current one with ``fields`` changed."""
    token = _CURRENT.set(dataclasses.replace(current(), **fields))
    try:
        yield _CURRENT.get() or LogContext()
    finally:
        _CURRENT.reset(token)


def bind(**fields: Any) -> None:
    """Set ``fields`` from now on in this task (and what it starts), e.g. the
    part a task runs; a copy, so the context it came from is left alone."""
    _CURRENT.set(dataclasses.replace(current(), **fields))


def learn(**fields: Any) -> None:
    """Set ``fields`` on the bound context itself (nothing when none is bound),
    so that whoever bound it, such as the API's request, sees them too."""
    context = _CURRENT.get()
    if context is not None:
        for name, value in fields.items():
            setattr(context, name, value)
