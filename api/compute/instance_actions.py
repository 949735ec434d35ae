"""Nova's os-instance-actions: the action log of a server, from the views.
From 2.21 a deleted server's actions are still shown (actions outlive the
instance); before, a deleted server has none to show (404), as in Nova."""

from __future__ import annotations

from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api import microversion
from api.compute import shapes
from api.consistency import caught_up
from api.context import claims
from api.http import uuid_or_404
from domain.errors import NotFound
from projections import queries


async def _actions(request: Request) -> tuple[UUID, list[queries.ActionView]]:
    """The actions on the server named in the path, if the caller may see it
    (a deleted one from 2.21 on)."""
    who = claims(request)
    pool = await caught_up(request)
    ident = uuid_or_404(request.path_params["server_id"], "Instance")
    owner = await queries.instance_project(pool, ident)
    if owner is None or (owner != who.project_id and not who.caller.is_admin):
        raise NotFound(f"Instance {ident} could not be found.")
    if not microversion.at_least(request, 21) and await queries.get_instance(
            pool, ident, None) is None:
        raise NotFound(f"Instance {ident} could not be found.")
    return ident, await queries.list_actions(pool, ident)


async def list_actions(request: Request) -> Response:
    _, actions = await _actions(request)
    body = [shapes.action(a) for a in reversed(actions)]  # newest first, as Nova
    return microversion.answer({"instanceActions": body}, request)


async def show_action(request: Request) -> Response:
    ident, actions = await _actions(request)
    wanted = request.path_params["request_id"]
    found = next((a for a in actions if a.request_id == wanted), None)
    if found is None:
        raise NotFound(f"Action {wanted} on instance {ident} could not be found.")
    detail = shapes.action_detail(found)
    if not claims(request).caller.is_admin:
        del detail["events"]  # an admin's before 2.51 (os-instance-actions:events), as in Nova
    return microversion.answer({"instanceAction": detail}, request)

command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route("/compute/v2.1/servers/{server_id}/os-instance-actions", list_actions,
          methods=["GET"]),
    Route("/compute/v2.1/servers/{server_id}/os-instance-actions/{request_id}", show_action,
          methods=["GET"]),
]
