"""Read-your-writes for the query routes.

A command's response carries ``Nimbus-Log-Position``: the log position of
the events it wrote. A query that sends it back waits (up to
``query_wait_seconds``) until the views include that position. A query
without it waits for the log head as it stands when the query arrives, so
clients that know nothing of positions (the openstack CLI, openstacksdk) see
their own writes, as they would from Nova's database.
"""

from __future__ import annotations

from typing import Any

from psycopg_pool import AsyncConnectionPool
from starlette.requests import Request

from api.context import context
from domain.errors import InvalidInput
from projections import queries

POSITION_HEADER = "Nimbus-Log-Position"


def positioned(position: int | None) -> dict[str, str]:
    """The header a command's response carries (none when it wrote nothing)."""
    return {} if position is None else {POSITION_HEADER: str(position)}


async def caught_up(request: Request) -> AsyncConnectionPool[Any]:
    """The views' pool, once the views include what this request may ask about."""
    ctx = context(request)
    assert ctx.pool is not None, "query routes need the views"
    raw = request.headers.get(POSITION_HEADER)
    if raw is None:
        target = await queries.log_head(ctx.pool)
    else:
        try:
            target = int(raw)
        except ValueError:
            raise InvalidInput(f"{POSITION_HEADER} must be an integer, not {raw!r}") from None
    await queries.wait_for(ctx.pool, target, ctx.query_wait_seconds)
    return ctx.pool
