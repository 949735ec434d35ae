"""What every route needs, put on the Starlette app's state by the composition root.

A token is checked without a lookup (its signature and expiry) and against
the process's cache of revocations (api/revocations.py). Once it is, the
request's log lines name its user and project (api/request_log.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request

from api.revocations import RevocationCache
from api.tokens import Claims, TokenSigner
from commands.identity import IdentityCommands
from commands.services import Commands
from domain import log_context
from domain.errors import Forbidden, Unauthorized
from domain.host import AllocationRatios
from domain.identity import READ_ONLY_ROLES
from domain.quota import QuotaDefaults
from projections.progress import Part
from projections.views import Views


@dataclass(frozen=True)
class ApiSettings:
    """The configuration the routes read, typed (runtime/stack.py fills it from
    the settings): where image files live, the default quota limits, how long
    a silent host stays "up", the storage hosts, and how networks are
    carried (network_manager, vlan_start), and how far hosts may be
    over-committed (placement's inventories)."""

    image_dir: Path
    quota_defaults: QuotaDefaults
    service_down_time: float
    storage_hosts: tuple[str, ...] = ("storage1",)  # Cinder's volume and backup hosts
    network_manager: str = "flatdhcp"  # the seed's flags, for networks' provider:* fields
    vlan_start: int = 100
    stuck_after_seconds: float = 60.0  # /readyz and /metrics (api/health.py)
    metrics_series_limit: int = 1000  # api/cloud_gauges.py
    metrics_resource_series: bool = True  # false: no per-server or per-volume series
    allocation_ratios: AllocationRatios = field(default_factory=AllocationRatios)  # placement


@dataclass
class Context:
    signer: TokenSigner
    base_url: str
    region: str
    # Logins read the user and project aggregates (the write side), in the
    # command and the query process alike; revocations come from the view.
    identity: IdentityCommands
    revocations: RevocationCache
    settings: ApiSettings
    query_wait_seconds: float = 5.0
    max_request_body_bytes: int = 114688  # api/body_limits.py
    request_body_timeout_seconds: float = 30.0
    commands: Commands | None = None  # None in a query-only process
    pool: Views | None = None  # the views (projections/views.py); None in a command-only process
    # console(host, instance_id, length) -> the guest's console output, or None
    # when the host has no such guest; raises TimeoutError when the host does
    # not answer. Filled by the composition root, None when unwired.
    console: Callable[[str, str, int | None], Awaitable[str | None]] | None = None
    # diagnostics(host, instance_id) -> the guest's statistics, or None
    diagnostics: Callable[[str, str], Awaitable[dict[str, int] | None]] | None = None
    # migration_control(host, instance_id, action) -> whether the host runs that
    # copy: tells a live migration's source of force_complete or abort (raises
    # TimeoutError when the host does not answer). None when unwired.
    migration_control: Callable[[str, str, str], Awaitable[bool]] | None = None
    # consumer_parts(stuck_after) -> the ingester's and the hosts' durable
    # consumers as parts (projections/progress.py), JetStream's counts; raises
    # when NATS does not answer. None when unwired.
    consumer_parts: Callable[[float], Awaitable[list[Part]]] | None = None


def context(request: Request) -> Context:
    ctx: Context = request.app.state.nimbus
    return ctx


def claims(request: Request, *, unscoped: bool = False) -> Claims:
    """The caller's verified token claims, or 401. An unscoped token (no
    project) is taken only where ``unscoped`` says so: by the identity routes
    that list what it may scope to and manage the token itself. A token that
    holds only read-only roles (``reader``) may not write anything else (403)."""
    token = request.headers.get("x-auth-token")
    if not token:
        raise Unauthorized("The request you have made requires authentication.")
    ctx = context(request)
    verified = ctx.signer.verify(token)
    if verified is None or ctx.revocations.is_revoked(verified) or not (
            verified.scoped or unscoped):
        raise Unauthorized("The request you have made requires authentication.")
    log_context.learn(user_id=verified.user_id, project_id=verified.project_id)
    if verified.system and not request.url.path.startswith("/identity/"):
        raise Forbidden("A token scoped to the system is accepted by the identity API only; "
                        "scope one to a project.")
    if (not unscoped and request.method not in ("GET", "HEAD")
            and set(verified.roles) <= READ_ONLY_ROLES):
        raise Forbidden("Policy doesn't allow this request to be performed: the token's "
                        f"roles ({', '.join(verified.roles)}) may only read; writing needs "
                        "the member role.")
    return verified
