"""Whole numbers in query strings and headers, parsed in one place.

``str.isdigit`` and ``int`` accept far more than ASCII digits ("²", "٣",
" 7", "1_0"), and ``int`` refuses numbers of more than 4300 digits with an
error nobody catches: each of those was a 500. Here a whole number is one
to nineteen ASCII digits (what a PostgreSQL bigint holds); anything else is
a 400 naming the parameter.
"""

from __future__ import annotations

import re

from starlette.requests import Request

from api.fields import MAX_BIGINT
from domain.errors import InvalidInput

_DIGITS = re.compile(r"[0-9]{1,19}")


def whole_number(raw: str, name: str) -> int:
    """``raw`` as a non-negative integer up to a bigint's maximum, or 400
    naming it (``name``: "query parameter limit", "header Last-Event-ID")."""
    if _DIGITS.fullmatch(raw) is None or int(raw) > MAX_BIGINT:
        raise InvalidInput(f"Invalid input for {name}: {_shown(raw)} is not a whole number "
                           f"from 0 to {MAX_BIGINT}.")
    return int(raw)


def limit(request: Request, *, default: int, most: int) -> int:
    """The ``limit`` query parameter, at most ``most`` (a larger one is
    lowered to it, as Nova's and Cinder's ``osapi_max_limit``)."""
    raw = request.query_params.get("limit")
    if raw is None:
        return default
    return min(whole_number(raw, "query parameter limit"), most)


def _shown(raw: str, most: int = 40) -> str:
    return repr(raw if len(raw) <= most else raw[:most] + "...")


def offset(request: Request) -> int:
    """The ``offset`` query parameter (0 when absent), a non-negative integer."""
    raw = request.query_params.get("offset", "0")
    if not raw.isdigit():
        raise InvalidInput(f"Invalid input for field/attribute offset. Value: {raw}.")
    return int(raw)
