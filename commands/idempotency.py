"""The Idempotency-Key a request came with, carried to the commit of its events.

The API derives a keyed request's id from the user, the route, a digest of
the body and the key (``domain.idempotency``) and names the key's use here,
in the request's context (a context variable; the worker threads the API
runs commands in copy it), so the command services need not carry it.
``check`` refuses, before any decision, a key that already stands for another
request; ``NimbusApplication.execute`` commits the key's first use with the
first events it writes for that request id, in the same transaction, so of
two racing first uses one conflicts and decides again (and is refused).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from domain import idempotency as model
from domain.registry import IDEMPOTENCY_KEY

if TYPE_CHECKING:
    from commands.application import Aggregate, NimbusApplication

_USE: ContextVar[model.Use | None] = ContextVar("idempotency_key_use", default=None)


def use_key(use: model.Use | None) -> None:
    """The key the current request came with (None: none)."""
    _USE.set(use)


def check(app: NimbusApplication, use: model.Use) -> None:
    """409 when the key already stands for a different request."""
    found = app.find(IDEMPOTENCY_KEY, model.key_id(use.user_id, use.key))
    model.check(found.state if found else None, use)


def first_use(app: NimbusApplication, request_id: str | None) -> list[Aggregate[Any]]:
    """The key's aggregate with its first use, when the current request came
    with a key for ``request_id`` that was not used before; [] else. 409 when
    the key stands for another request by now (a racing first use won)."""
    use = _USE.get()
    if use is None or use.request_id != request_id:
        return []
    key = app.load_or_new(model.key_id(use.user_id, use.key), IDEMPOTENCY_KEY)
    event = model.record(key.current, use, app.clock())
    if event is None:
        return []
    key.record(event)
    return [key]
