"""Keystone's implied roles: ``/roles/{prior}/implies/{implied}`` (create,
check, show, delete), ``/roles/{prior}/implies`` and ``/role_inferences``.
The default roles' rules (admin implies manager, manager member, member
reader) are listed and fixed; custom roles' rules are stored on the prior
role (``domain.identity_roles.RoleImplied``)."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.consistency import caught_up
from api.context import claims, context
from api.identity.requests import identity, pool, request_id, with_position
from api.policy import require_identity_admin
from domain.errors import NotFound
from domain.identity import IMPLIES, ROLES, granted_role_id, role_named
from projections import identity_queries as q


async def _rules(request: Request) -> dict[str, list[str]]:
    """Every rule: the default roles' and the stored ones."""
    stored = await q.role_implications(pool(request))
    return {**{prior: [implied] for prior, implied in IMPLIES.items()}, **stored}


async def _ref(request: Request, names: dict[str, str], key: str) -> dict[str, Any]:
    base = context(request).base_url
    rid = granted_role_id(key)
    return {"id": rid, "name": key if key in ROLES else names.get(key),
            "links": {"self": f"{base}/identity/v3/roles/{rid}"}}


async def _key(request: Request, ref: str) -> str:
    try:
        return role_named(ref)
    except NotFound:
        if ref in await q.custom_roles_by_id(pool(request)):
            return ref
        raise NotFound(f"Could not find role: {ref}.") from None


async def _names(request: Request) -> dict[str, str]:
    return {k: r.name for k, r in (await q.custom_roles_by_id(pool(request))).items()}


async def _rule_body(request: Request, prior: str, implied: str) -> dict[str, Any]:
    names = await _names(request)
    base = context(request).base_url
    return {"role_inference": {"prior_role": await _ref(request, names, prior),
                               "implies": await _ref(request, names, implied)},
            "links": {"self": f"{base}/identity/v3/roles/{granted_role_id(prior)}/implies/"
                              f"{granted_role_id(implied)}"}}


async def create_rule(request: Request) -> Response:
    require_identity_admin(claims(request), "create_implied_role")
    p = request.path_params
    written = await run_in_threadpool(
        identity(request).roles.imply, request_id=await request_id(request),
        prior=p["prior_role_id"], implied=p["implied_role_id"])
    implied = await run_in_threadpool(identity(request).role_key, p["implied_role_id"])
    body = {"role_inference": {
        "prior_role": {"id": written.state.id, "name": written.state.name,
                       "links": {"self": f"{context(request).base_url}/identity/v3/roles/"
                                         f"{written.state.id}"}},
        "implies": {"id": granted_role_id(implied), "name": implied if implied in ROLES
                    else (await run_in_threadpool(identity(request).roles.get, implied)).name,
                    "links": {"self": f"{context(request).base_url}/identity/v3/roles/"
                                      f"{granted_role_id(implied)}"}}},
        "links": {"self": str(request.url)}}
    return with_position(JSONResponse(body, status_code=201), written)


async def _held_rule(request: Request) -> tuple[str, str]:
    claims(request)
    await caught_up(request)
    p = request.path_params
    prior = await _key(request, p["prior_role_id"])
    implied = await _key(request, p["implied_role_id"])
    if implied not in (await _rules(request)).get(prior, []):
        raise NotFound(f"{p['prior_role_id']} does not imply {p['implied_role_id']}.")
    return prior, implied


async def show_rule(request: Request) -> Response:
    prior, implied = await _held_rule(request)
    if request.method == "HEAD":
        return Response(status_code=204)
    return JSONResponse(await _rule_body(request, prior, implied))


async def delete_rule(request: Request) -> Response:
    require_identity_admin(claims(request), "delete_implied_role")
    p = request.path_params
    written = await run_in_threadpool(
        identity(request).roles.drop_implication, request_id=await request_id(request),
        prior=p["prior_role_id"], implied=p["implied_role_id"])
    return with_position(Response(status_code=204), written)


async def list_implied(request: Request) -> Response:
    claims(request)
    await caught_up(request)
    prior = await _key(request, request.path_params["prior_role_id"])
    names = await _names(request)
    implies = [await _ref(request, names, k) for k in (await _rules(request)).get(prior, [])]
    return JSONResponse({"role_inference": {"prior_role": await _ref(request, names, prior),
                                            "implies": implies},
                         "links": {"self": str(request.url)}})


async def list_all(request: Request) -> Response:
    claims(request)
    await caught_up(request)
    names = await _names(request)
    rules = [{"prior_role": await _ref(request, names, prior),
              "implies": [await _ref(request, names, k) for k in implied]}
             for prior, implied in (await _rules(request)).items()]
    return JSONResponse({"role_inferences": rules, "links": {"self": str(request.url)}})


P = "/identity/v3"
RULE = f"{P}/roles/{{prior_role_id}}/implies/{{implied_role_id}}"
command_routes: list[BaseRoute] = [
    Route(RULE, create_rule, methods=["PUT"]),
    Route(RULE, delete_rule, methods=["DELETE"]),
]
query_routes: list[BaseRoute] = [
    Route(RULE, show_rule, methods=["GET", "HEAD"]),
    Route(f"{P}/roles/{{prior_role_id}}/implies", list_implied, methods=["GET"]),
    Route(f"{P}/role_inferences", list_all, methods=["GET"]),
]
