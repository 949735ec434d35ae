"""Placement's resource providers (admin only, microversion 1.0 shapes): one
root provider a compute host, named for it, with a uuid derived from its
name; its VCPU, MEMORY_MB and DISK_GB inventories (the host's capacity and
the allocation ratios) and usages (what its instances claim), all from the
hosts view that os-hypervisors reads. Nothing here writes: nimbus places
instances itself (domain/placement.py)."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.consistency import caught_up
from api.context import claims, context
from api.policy import require_admin
from domain.errors import NotFound
from domain.host import AllocationRatios
from projections.hosts_queries import HostView, list_hosts

PREFIX = "/placement"
VERSION = {"id": "v1.0", "min_version": "1.0", "max_version": "1.0", "status": "CURRENT",
           "links": [{"rel": "self", "href": ""}]}
_NAMESPACE = uuid.UUID("6d1f3c2e-8a8b-5c39-9c1e-2f0c7a1e4b5d")


def provider_uuid(host: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"resource-provider:{host}"))


def provider(host: HostView) -> dict[str, Any]:
    ident = provider_uuid(host.host)
    link = f"{PREFIX}/resource_providers/{ident}"
    return {"uuid": ident, "name": host.host, "generation": 0,
            "parent_provider_uuid": None, "root_provider_uuid": ident,
            "links": [{"rel": "self", "href": link},
                      {"rel": "inventories", "href": f"{link}/inventories"},
                      {"rel": "usages", "href": f"{link}/usages"}]}


def inventories(host: HostView, ratios: AllocationRatios) -> dict[str, Any]:
    def one(total: int, ratio: float) -> dict[str, Any]:
        return {"total": total, "reserved": 0, "min_unit": 1, "max_unit": total,
                "step_size": 1, "allocation_ratio": ratio}
    return {"VCPU": one(host.vcpus, ratios.cpu), "MEMORY_MB": one(host.memory_mb, ratios.ram),
            "DISK_GB": one(host.local_gb, ratios.disk)}


def usages(host: HostView) -> dict[str, int]:
    return {"VCPU": host.vcpus_used, "MEMORY_MB": host.memory_mb_used,
            "DISK_GB": host.local_gb_used}


async def versions(request: Request) -> Response:
    return JSONResponse({"versions": [VERSION]})


async def _hosts(request: Request) -> list[HostView]:
    require_admin(claims(request), "placement:resource_providers:list")
    return await list_hosts(await caught_up(request))


async def _host(request: Request) -> HostView:
    ident = request.path_params["uuid"]
    found = next((h for h in await _hosts(request) if provider_uuid(h.host) == ident), None)
    if found is None:
        raise NotFound(f"No resource provider with uuid {ident} found")
    return found


async def list_providers(request: Request) -> Response:
    hosts = await _hosts(request)
    name = request.query_params.get("name")
    return JSONResponse({"resource_providers": [
        provider(h) for h in hosts if name is None or h.host == name]})


async def show_provider(request: Request) -> Response:
    return JSONResponse(provider(await _host(request)))


async def show_inventories(request: Request) -> Response:
    host = await _host(request)
    return JSONResponse({"resource_provider_generation": 0,
                         "inventories": inventories(host, context(request).settings
                                                    .allocation_ratios)})


async def show_usages(request: Request) -> Response:
    return JSONResponse({"resource_provider_generation": 0, "usages": usages(await _host(request))})


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route(PREFIX, versions, methods=["GET"]),
    Route(f"{PREFIX}/", versions, methods=["GET"]),
    Route(f"{PREFIX}/resource_providers", list_providers, methods=["GET"]),
    Route(f"{PREFIX}/resource_providers/{{uuid}}", show_provider, methods=["GET"]),
    Route(f"{PREFIX}/resource_providers/{{uuid}}/inventories", show_inventories, methods=["GET"]),
    Route(f"{PREFIX}/resource_providers/{{uuid}}/usages", show_usages, methods=["GET"]),
]
