"""What an admin may see of a stored event: everything but its secrets.

Events keep what the write side needs, a user's ``password_hash`` among
them. Every place that shows events to a person (the web console's request
and aggregate pages, the ``/events/stream`` SSE feed) turns them into JSON
builtins through ``shown``, so a secret field reads ``(hidden)`` in all of
them and a new secret is added in one place.
"""

from __future__ import annotations

from typing import Any

import msgspec

SECRET_FIELDS = frozenset({"password_hash"})  # shown as HIDDEN, never in full
HIDDEN = "(hidden)"


def shown(value: object) -> Any:
    """``value`` as JSON-ready builtins (``msgspec.to_builtins``); a class (a
    pending operation's step) as its name, a secret field as HIDDEN."""
    return _hide(msgspec.to_builtins(value, enc_hook=_name_of))


def _hide(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: HIDDEN if k in SECRET_FIELDS else _hide(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_hide(v) for v in value]
    return value


def _name_of(value: object) -> object:
    if isinstance(value, type):
        return value.__name__
    raise NotImplementedError(f"cannot show a {type(value).__name__}")
