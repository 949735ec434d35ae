"""Quota query routes: os-quota-sets (show, detail, defaults) and limits.

Limits are the configured defaults overridden per project (the quota view);
usage is the sum of the claims in the quota view. A project's members may
read their own project's quotas; other projects' are admin-only (403).
Shapes are Nova's at microversion 2.1.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from api import microversion
from api.consistency import caught_up
from api.context import Context, claims, context
from api.policy import require_admin
from api.tokens import Claims
from domain.quota import QuotaDefaults
from projections.quotas_queries import QuotaUsageView, quota_usage

# The keys of a compute quota set at 2.1 (volumes and gigabytes are Cinder's).
NOVA_KEYS = (
    "cores", "fixed_ips", "floating_ips", "injected_file_content_bytes",
    "injected_file_path_bytes", "injected_files", "instances", "key_pairs",
    "metadata_items", "ram", "security_group_rules", "security_groups",
    "server_group_members", "server_groups",
)


def defaults_of(ctx: Context) -> QuotaDefaults:
    found = ctx.extra.get("quota_defaults")
    return found if isinstance(found, QuotaDefaults) else QuotaDefaults()


def _json(body: Any, request: Request) -> Response:
    return JSONResponse(body, headers=microversion.headers(microversion.requested(request)))


def readable(who: Claims, project_id: str, action: str) -> None:
    if project_id != who.project_id:
        require_admin(who, action)


async def usage_of(request: Request, project_id: str) -> tuple[dict[str, int], QuotaUsageView]:
    pool = await caught_up(request)
    ctx = context(request)
    usage = await quota_usage(pool, project_id)
    limits = {**defaults_of(ctx).as_dict(), **usage.overrides}
    return limits, usage


async def show(request: Request) -> Response:
    who = claims(request)
    project_id = request.path_params["project_id"]
    readable(who, project_id, "os_compute_api:os-quota-sets:show")
    limits, _ = await usage_of(request, project_id)
    return _json({"quota_set": {"id": project_id, **{k: limits[k] for k in NOVA_KEYS}}}, request)


async def detail(request: Request) -> Response:
    who = claims(request)
    project_id = request.path_params["project_id"]
    readable(who, project_id, "os_compute_api:os-quota-sets:detail")
    limits, usage = await usage_of(request, project_id)
    body: dict[str, Any] = {"id": project_id}
    for key in NOVA_KEYS:
        body[key] = {"in_use": usage.in_use.get(key, 0), "limit": limits[key], "reserved": 0}
    return _json({"quota_set": body}, request)


async def defaults(request: Request) -> Response:
    claims(request)
    project_id = request.path_params["project_id"]
    values = defaults_of(context(request)).as_dict()
    return _json({"quota_set": {"id": project_id, **{k: values[k] for k in NOVA_KEYS}}},
                 request)


async def limits(request: Request) -> Response:
    """Absolute limits and usage of the caller's project (an admin may name
    another with ``tenant_id``); no rate limits, as Nova since Newton."""
    who = claims(request)
    project_id = request.query_params.get("tenant_id") or who.project_id
    readable(who, project_id, "os_compute_api:limits:other_project")
    limit, usage = await usage_of(request, project_id)
    absolute = {
        "maxImageMeta": limit["metadata_items"],
        "maxPersonality": limit["injected_files"],
        "maxPersonalitySize": limit["injected_file_content_bytes"],
        "maxSecurityGroupRules": limit["security_group_rules"],
        "maxSecurityGroups": limit["security_groups"],
        "maxServerGroupMembers": limit["server_group_members"],
        "maxServerGroups": limit["server_groups"],
        "maxServerMeta": limit["metadata_items"],
        "maxTotalCores": limit["cores"],
        "maxTotalFloatingIps": limit["floating_ips"],
        "maxTotalInstances": limit["instances"],
        "maxTotalKeypairs": limit["key_pairs"],
        "maxTotalRAMSize": limit["ram"],
        "totalCoresUsed": usage.in_use["cores"],
        "totalFloatingIpsUsed": 0,
        "totalInstancesUsed": usage.in_use["instances"],
        "totalRAMUsed": usage.in_use["ram"],
        "totalSecurityGroupsUsed": 0,
        "totalServerGroupsUsed": 0,
    }
    return _json({"limits": {"absolute": absolute, "rate": []}}, request)


routes = [
    Route("/compute/v2.1/os-quota-sets/{project_id}/defaults", defaults, methods=["GET"]),
    Route("/compute/v2.1/os-quota-sets/{project_id}/detail", detail, methods=["GET"]),
    Route("/compute/v2.1/os-quota-sets/{project_id}", show, methods=["GET"]),
    Route("/compute/v2.1/limits", limits, methods=["GET"]),
]
