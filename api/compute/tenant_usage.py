"""Nova's os-simple-tenant-usage: what each project's instances used over a
period (``?start=&end=``, both default now), in instance-hours and in
vCPU-, MB- and GB-hours, computed from the instances view (deleted instances
count for the time they existed). An admin lists every project
(``?detailed=1`` adds each instance); a project's members read their own.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api import microversion
from api.consistency import caught_up
from api.context import claims
from api.policy import require_admin
from domain.errors import Forbidden, InvalidInput, NotFound
from projections.usage_queries import InstanceUsage, instance_usage

FORMATS = ("%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f",
           "%Y-%m-%d %H:%M:%S")


def _when(raw: str | None, now: datetime) -> datetime:
    if raw is None:
        return now
    text = raw.removesuffix("Z")
    for form in FORMATS:
        try:
            return datetime.strptime(text, form).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise InvalidInput(f"Invalid time format: {raw}")


def _period(request: Request) -> tuple[datetime, datetime, datetime]:
    now = datetime.now(UTC)
    start = _when(request.query_params.get("start"), now)
    end = _when(request.query_params.get("end"), now)
    if start > end:
        raise InvalidInput("Invalid start time. The start time cannot occur after the end time.")
    return start, end, now


def _time(ts: datetime | None) -> str | None:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") if ts else None


def _server(usage: InstanceUsage, start: datetime, end: datetime,
            now: datetime) -> dict[str, Any]:
    began = usage.launched_at or usage.created_at
    ended = usage.deleted_at
    used_from, used_to = max(began, start), min(ended or now, end)
    hours = max((used_to - used_from).total_seconds(), 0.0) / 3600
    return {
        "instance_id": str(usage.id), "name": usage.name, "tenant_id": usage.project_id,
        "flavor": usage.flavor, "vcpus": usage.vcpus, "memory_mb": usage.memory_mb,
        "local_gb": usage.disk_gb, "hours": hours,
        "state": "terminated" if ended else usage.vm_state,
        "started_at": _time(began), "ended_at": _time(ended),
        "uptime": int(((ended or now) - began).total_seconds()),
    }


def _tenant(project_id: str, servers: list[dict[str, Any]], start: datetime, end: datetime,
            *, detailed: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "tenant_id": project_id, "start": _time(start), "stop": _time(end),
        "total_hours": sum(s["hours"] for s in servers),
        "total_vcpus_usage": sum(s["hours"] * s["vcpus"] for s in servers),
        "total_memory_mb_usage": sum(s["hours"] * s["memory_mb"] for s in servers),
        "total_local_gb_usage": sum(s["hours"] * s["local_gb"] for s in servers),
    }
    if detailed:
        body["server_usages"] = servers
    return body


async def list_usage(request: Request) -> Response:
    require_admin(claims(request), "os_compute_api:os-simple-tenant-usage:list")
    start, end, now = _period(request)
    by_project: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for usage in await instance_usage(await caught_up(request), start, end):
        by_project[usage.project_id].append(_server(usage, start, end, now))
    detailed = request.query_params.get("detailed", "0") not in ("0", "", "false", "False")
    body = [_tenant(p, servers, start, end, detailed=detailed)
            for p, servers in sorted(by_project.items())]
    return microversion.answer({"tenant_usages": body}, request)


async def show_usage(request: Request) -> Response:
    who = claims(request)
    project_id = request.path_params["tenant_id"]
    if not who.caller.is_admin and project_id != who.project_id:
        raise Forbidden("Policy doesn't allow os_compute_api:os-simple-tenant-usage:show "
                        "to be performed.")
    start, end, now = _period(request)
    servers = [_server(u, start, end, now) for u in
               await instance_usage(await caught_up(request), start, end, project_id)]
    return microversion.answer(
        {"tenant_usage": _tenant(project_id, servers, start, end, detailed=True)}, request)


async def no_tenant(request: Request) -> Response:
    raise NotFound("The resource could not be found.")


C = "/compute/v2.1/os-simple-tenant-usage"
command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route(C, list_usage, methods=["GET"]),
    Route(f"{C}/", no_tenant, methods=["GET"]),
    Route(f"{C}/{{tenant_id}}", show_usage, methods=["GET"]),
]
