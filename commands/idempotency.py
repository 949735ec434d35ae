"""The Idempotency-Key a request came with, carried to the commit of its events.

The API derives a keyed request's id from the user, the route, a digest of
the body and the key (``domain.idempotency``) and names the key's use here,
in the request's context (a context variable; the worker threads the API
runs commands in copy it). ``check`` refuses, before any decision, a key
that already stands for another request; every commit that writes events of
that request id also writes the key's first use, in the same transaction,
so of two racing first uses one conflicts and decides again (and is refused).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from typing import TYPE_CHECKING

from domain import idempotency as model

if TYPE_CHECKING:
    from commands.application import Aggregate, NimbusApplication

_USE: ContextVar[model.Use | None] = ContextVar("idempotency_key_use", default=None)


def use_key(use: model.Use | None) -> None:
    """The key the current request came with (None: none)."""
    _USE.set(use)


def check(app: NimbusApplication, use: model.Use) -> None:
    """409 when the key already stands for a different request."""
    found = app.load(model.key_id(use.user_id, use.key))
    model.check(found.state if found else None, use)


def first_use(app: NimbusApplication, aggregates: Iterable[Aggregate]) -> list[Aggregate]:
    """The key's aggregate with its first use, when these aggregates hold
    events of the keyed request and the key was not used before; [] else."""
    use = _USE.get()
    if use is None or not any(use.request_id in a.pending_requests() for a in aggregates):
        return []
    key = app.load_or_new(model.key_id(use.user_id, use.key), model.IdempotencyEvent.aggregate)
    event = model.record(key.state, use, app.clock())
    if event is None:
        return []
    key.record(event)
    return [key]
