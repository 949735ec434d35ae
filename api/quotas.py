"""What Nova's and Cinder's quota routes share: who may read a project's
quotas, its limits and usage, and an admin's change of its limits.

Limits are the defaults (the configured ones as the default quota class
changed them) overridden per project (the quota view);
usage is the sum of the claims in the quota view. A project's members may
read their own project's quotas; other projects' are admin-only (403).
Values set are integers from -1 (unlimited) to 2**31-1 (a PostgreSQL
integer), as numbers or numeric strings, as Nova's schema allows; an
unknown key, a value beyond those, or a limit below what the project
already uses (without ``force``) is a 400 naming it, and nothing is written.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from api import idempotency, microversion
from api.bodies import convert, decode
from api.consistency import caught_up, positioned
from api.context import claims, context
from api.fields import QuotaLimit
from api.http import commands
from api.policy import require_admin
from api.tokens import Claims
from commands.application import Written
from commands.quotas import SetQuotaLimits
from domain import quota as quota_model
from domain.errors import InvalidInput
from projections.quotas_queries import QuotaUsageView, class_limits, quota_usage


def readable(who: Claims, project_id: str, action: str) -> None:
    if project_id != who.project_id:
        require_admin(who, action)


async def defaults_of(request: Request, class_name: str = quota_model.DEFAULT_CLASS,
                      ) -> dict[str, int]:
    """The limits of a quota class: the configured defaults as an admin changed them."""
    pool = await caught_up(request)
    changed = await class_limits(pool, quota_model.class_key(class_name))
    return {**context(request).settings.quota_defaults.as_dict(), **changed}


async def usage_of(request: Request, project_id: str) -> tuple[dict[str, int], QuotaUsageView]:
    pool = await caught_up(request)
    usage = await quota_usage(pool, project_id)
    limits = {**await defaults_of(request), **usage.overrides}
    return limits, usage


def changed_headers(request: Request, changed: Written[dict[str, int]]) -> dict[str, str]:
    return {**microversion.headers(microversion.requested(request)),
            **positioned(changed.position)}


def _force(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.lower() in ("true", "1", "yes")
    raise InvalidInput(f"Invalid input for field/attribute force. Value: {value}."
                       f" {value!r} is not of type 'boolean', 'string'")


async def set_limits(request: Request, keys: tuple[str, ...],
                     action: str) -> Written[dict[str, int]]:
    """Apply a PUT ``{"quota_set": {...}}`` naming only ``keys`` (and force)."""
    who = claims(request)
    require_admin(who, action)
    body = decode(await request.body(), dict[str, Any])
    quota_set = body.get("quota_set")
    if set(body) != {"quota_set"} or not isinstance(quota_set, dict):
        raise InvalidInput("Invalid input for field/attribute quota_set."
                           " A 'quota_set' object is required.")
    force = _force(quota_set.get("force", False))
    values = {k: convert(v, QuotaLimit, strict=False, field=k)
              for k, v in quota_set.items() if k != "force"}
    for key in values:
        if key not in keys:
            raise InvalidInput("Invalid input for field/attribute quota_set. Additional"
                               f" properties are not allowed ('{key}' was unexpected)")
    cmd = SetQuotaLimits(request_id=await idempotency.request_id(request, who),
                         project_id=request.path_params["project_id"], limits=values,
                         force=force)
    return await run_in_threadpool(commands(request).quotas.set_limits, cmd)
