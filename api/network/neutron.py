"""The pieces every Neutron v2.0 resource shares: who asks and what they see,
the list filters and ``fields`` the clients send, and a command's answer.

Some refusals depend on what no aggregate holds (whether a port uses a
group, which ports a server has): the write side refuses what it can see and
the views, caught up to the log's head, answer the rest; a command-only
process has none (``views_if_any``), and there the write side decides alone.

Errors on /network paths are Neutron's bodies (api/errors.py,
``neutron_error_response``), chosen by the app's one handler.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api import idempotency
from api.bodies import decode
from api.consistency import caught_up, positioned
from api.context import claims, context
from api.http import commands, iso
from api.tokens import Claims
from commands.services import Commands
from domain.errors import InvalidInput
from projections.views import Views

T = TypeVar("T")
PREFIX = "/network/v2.0"
_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def scope(who: Claims) -> str | None:
    """The project whose things the caller sees; None: an admin sees all."""
    return None if who.caller.is_admin else who.project_id


def body(raw: bytes, kind: type[T]) -> T:
    return decode(raw, kind, service="neutron")


def stamp(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def filters(request: Request, columns: Mapping[str, str],
            booleans: frozenset[str] = frozenset()) -> dict[str, list[str]]:
    """Neutron's equality filters among ``columns`` (query name -> view column):
    a repeated parameter accepts any of its values; booleans as ``true``/``false``.
    Other parameters (``fields``, ``sort_key``, unknown ones) do not filter."""
    found: dict[str, list[str]] = {}
    for name, column in columns.items():
        values = request.query_params.getlist(name)
        if not values:
            continue
        if name in booleans:
            values = [_boolean(name, v) for v in values]
        found.setdefault(column, []).extend(values)
    return found


def _boolean(name: str, raw: str) -> str:
    if raw.lower() in _TRUE:
        return "true"
    if raw.lower() in _FALSE:
        return "false"
    raise InvalidInput(f"Invalid input for {name}. Reason: '{raw}' cannot be converted to"
                       " boolean.")


def shown(request: Request, item: dict[str, Any]) -> dict[str, Any]:
    """``item`` with only the ``fields`` asked for (all of it when none are)."""
    wanted = request.query_params.getlist("fields")
    return {k: v for k, v in item.items() if k in wanted} if wanted else item


def listed(request: Request, key: str, items: list[dict[str, Any]]) -> Response:
    return JSONResponse({key: [shown(request, i) for i in items]})


def answer(key: str, item: dict[str, Any] | None, position: int | None,
           status: int = 200) -> Response:
    """A command's answer with the log position a later query may wait for."""
    headers = positioned(position)
    if item is None:
        return Response(status_code=status, headers=headers)
    return JSONResponse({key: item}, status_code=status, headers=headers)


def standard(project_id: str, version: int, created_at: datetime,
             updated_at: datetime) -> dict[str, Any]:
    """The fields every resource has: owner, standard attributes, revision."""
    return {"project_id": project_id, "tenant_id": project_id, "description": "",
            "tags": [], "created_at": stamp(created_at), "updated_at": stamp(updated_at),
            "revision_number": version}


async def who_asks(request: Request) -> tuple[Claims, str, Commands]:
    """Who asks, the request's id and the command services."""
    who = claims(request)
    return who, await idempotency.request_id(request, who), commands(request)


async def views_if_any(request: Request) -> Views | None:
    """The views caught up with the log (None in a command-only process)."""
    return None if context(request).pool is None else await caught_up(request)


def listing_scope(request: Request, who: Claims) -> tuple[bool, str | None]:
    """Whether anything can match, and the project whose rows a list shows
    (None: every project's). A member sees their project's alone, whatever
    ``project_id``/``tenant_id`` asks; an admin sees all, or the one asked."""
    asked = (request.query_params.getlist("project_id")
             + request.query_params.getlist("tenant_id"))
    if who.caller.is_admin:
        return True, asked[0] if asked else None
    return all(p == who.project_id for p in asked), who.project_id


def stamps(created_at: Any, updated_at: Any, revision_number: int) -> dict[str, Any]:
    return {"created_at": iso(created_at), "updated_at": iso(updated_at),
            "revision_number": revision_number, "tags": []}
