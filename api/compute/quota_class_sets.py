"""Nova's os-quota-class-sets: show a quota class's limits, and an admin's
update of them. The ``default`` class's limits are the defaults every
project without overrides of its own has (domain/quota.py ``with_class``);
Nova applies no other class, and nor does nimbus, but stores them as asked.

Shapes are Nova's at microversion 2.1: the keys of os-quota-sets, with the
class's name as ``id`` when shown and without it in an update's answer.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api import idempotency, microversion
from api.bodies import convert, decode
from api.compute.quota_sets import NOVA_KEYS
from api.context import claims
from api.fields import QuotaLimit
from api.http import commands
from api.policy import require_admin
from api.quotas import changed_headers, defaults_of
from commands.quotas import SetQuotaClassLimits
from domain.errors import InvalidInput


async def show(request: Request) -> Response:
    who = claims(request)
    require_admin(who, "os_compute_api:os-quota-class-sets:show")
    name = request.path_params["class_name"]
    values = await defaults_of(request, name)
    return microversion.answer(
        {"quota_class_set": {"id": name, **{k: values[k] for k in NOVA_KEYS}}}, request)


async def update(request: Request) -> Response:
    who = claims(request)
    require_admin(who, "os_compute_api:os-quota-class-sets:update")
    body = decode(await request.body(), dict[str, Any])
    asked = body.get("quota_class_set")
    if set(body) != {"quota_class_set"} or not isinstance(asked, dict):
        raise InvalidInput("Invalid input for field/attribute quota_class_set."
                           " A 'quota_class_set' object is required.")
    for key in asked:
        if key not in NOVA_KEYS:
            raise InvalidInput("Invalid input for field/attribute quota_class_set. Additional"
                               f" properties are not allowed ('{key}' was unexpected)")
    values = {k: convert(v, QuotaLimit, strict=False, field=k) for k, v in asked.items()}
    cmd = SetQuotaClassLimits(request_id=await idempotency.request_id(request, who),
                              class_name=request.path_params["class_name"], limits=values)
    changed = await run_in_threadpool(commands(request).quotas.set_class_limits, cmd)
    return JSONResponse({"quota_class_set": {k: changed.state[k] for k in NOVA_KEYS}},
                        headers=changed_headers(request, changed))


P = "/compute/v2.1/os-quota-class-sets/{class_name}"
command_routes: list[BaseRoute] = [Route(P, update, methods=["PUT"])]
query_routes: list[BaseRoute] = [Route(P, show, methods=["GET"])]
