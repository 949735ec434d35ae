"""Nova's os-quota-sets: show, detail and defaults (queries), an admin's
update (PUT) or revert (DELETE) of a project's limits (commands).

The rules they share with Cinder's quota sets are in api/quotas.py. Shapes
are Nova's at microversion 2.1.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api import idempotency, microversion
from api.context import claims
from api.http import commands
from api.policy import require_admin
from api.quotas import changed_headers, defaults_of, readable, set_limits, usage_of
from commands.quotas import ResetQuotaLimits

# The keys of a compute quota set at 2.1 (volumes and gigabytes are Cinder's).
NOVA_KEYS = (
    "cores", "fixed_ips", "floating_ips", "injected_file_content_bytes",
    "injected_file_path_bytes", "injected_files", "instances", "key_pairs",
    "metadata_items", "ram", "security_group_rules", "security_groups",
    "server_group_members", "server_groups",
)





async def show(request: Request) -> Response:
    who = claims(request)
    project_id = request.path_params["project_id"]
    readable(who, project_id, "os_compute_api:os-quota-sets:show")
    limits, _ = await usage_of(request, project_id)
    shown = {k: limits[k] for k in NOVA_KEYS}
    return microversion.answer({"quota_set": {"id": project_id, **shown}}, request)


async def detail(request: Request) -> Response:
    who = claims(request)
    project_id = request.path_params["project_id"]
    readable(who, project_id, "os_compute_api:os-quota-sets:detail")
    limits, usage = await usage_of(request, project_id)
    body: dict[str, Any] = {"id": project_id}
    for key in NOVA_KEYS:
        body[key] = {"in_use": usage.in_use.get(key, 0), "limit": limits[key], "reserved": 0}
    return microversion.answer({"quota_set": body}, request)


async def defaults(request: Request) -> Response:
    claims(request)
    project_id = request.path_params["project_id"]
    values = await defaults_of(request)
    shown = {k: values[k] for k in NOVA_KEYS}
    return microversion.answer({"quota_set": {"id": project_id, **shown}}, request)


async def update(request: Request) -> Response:
    changed = await set_limits(request, NOVA_KEYS, "os_compute_api:os-quota-sets:update")
    return JSONResponse({"quota_set": {k: changed.state[k] for k in NOVA_KEYS}},
                        headers=changed_headers(request, changed))


async def revert(request: Request) -> Response:
    who = claims(request)
    require_admin(who, "os_compute_api:os-quota-sets:delete")
    cmd = ResetQuotaLimits(request_id=await idempotency.request_id(request, who),
                           project_id=request.path_params["project_id"])
    changed = await run_in_threadpool(commands(request).quotas.reset, cmd)
    return Response(status_code=202, headers=changed_headers(request, changed))


P = "/compute/v2.1/os-quota-sets/{project_id}"
command_routes: list[BaseRoute] = [
    Route(P, update, methods=["PUT"]),
    Route(P, revert, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route(f"{P}/defaults", defaults, methods=["GET"]),
    Route(f"{P}/detail", detail, methods=["GET"]),
    Route(P, show, methods=["GET"]),
]
