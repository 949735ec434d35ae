"""Nova's limits: the absolute limits and usage of a project's quota."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api import microversion
from api.context import claims
from api.quotas import readable, usage_of


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
        "totalFloatingIpsUsed": usage.in_use["floating_ips"],
        "totalInstancesUsed": usage.in_use["instances"],
        "totalRAMUsed": usage.in_use["ram"],
        "totalSecurityGroupsUsed": usage.in_use["security_groups"],
        "totalServerGroupsUsed": 0,
    }
    return microversion.answer({"limits": {"absolute": absolute, "rate": []}}, request)


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [Route("/compute/v2.1/limits", limits, methods=["GET"])]
