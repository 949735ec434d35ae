"""Read-your-writes for the query routes.

A command's response carries ``Nimbus-Log-Position``: the log position of
the events it wrote. A query that sends it back waits (up to
``query_wait_seconds``) until the views include that position. A query
without it waits for the log head as it stands when the query arrives, so
clients that know nothing of positions (the openstack CLI, openstacksdk) see
their own writes, as they would from Nova's database. A position beyond the
log's head cannot have come from a command (every answered position is
committed first), so it is refused at once rather than waited for.
"""

from __future__ import annotations

from starlette.requests import Request

from api import query_params
from api.context import context
from domain.errors import InvalidInput
from projections import progress, queries
from projections.views import Views

POSITION_HEADER = "Nimbus-Log-Position"
# Positions commit before they are answered, so none is ever beyond the head;
# the margin only spares a client that counts its own writes ahead a little.
AHEAD_MARGIN = 16


def positioned(position: int | None) -> dict[str, str]:
    """The header a command's response carries (none when it wrote nothing)."""
    return {} if position is None else {POSITION_HEADER: str(position)}


async def caught_up(request: Request) -> Views:
    """The views, once they include what this request may ask about."""
    ctx = context(request)
    assert ctx.pool is not None, "query routes need the views"
    raw = request.headers.get(POSITION_HEADER)
    head, views = await progress.head_and_views(ctx.pool)  # one round trip when caught up
    target = head if raw is None else query_params.whole_number(raw, f"header {POSITION_HEADER}")
    if target > head + AHEAD_MARGIN:
        raise InvalidInput(f"{POSITION_HEADER} {target} is beyond the event log's head "
                           f"({head}): no command answered it.")
    if views < target:
        await queries.wait_for(ctx.pool, target, ctx.query_wait_seconds)
    return ctx.pool
