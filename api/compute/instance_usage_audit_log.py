"""Nova's os-instance_usage_audit_log (admin): how far the instance usage
audit of a period (Nova's default, the previous whole month before a given
time) got on each compute host. nimbus runs no usage audit task, so every
compute host (from the hosts view) is reported as not run for every period,
in Nova's shape; the period itself is computed as Nova does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api import microversion
from api.consistency import caught_up
from api.context import claims
from api.policy import require_admin
from domain.errors import InvalidInput
from projections.hosts_queries import list_hosts

STAMP = "%Y-%m-%d %H:%M:%S"


def audit_period(before: datetime) -> tuple[datetime, datetime]:
    """The last whole month that ended at or before ``before``."""
    end = before.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start = (end.replace(year=end.year - 1, month=12) if end.month == 1
             else end.replace(month=end.month - 1))
    return start, end


async def _report(request: Request, before: datetime, key: str) -> Response:
    require_admin(claims(request), "os_compute_api:os-instance-usage-audit-log")
    start, end = audit_period(before)
    hosts = [h.host for h in await list_hosts(await caught_up(request))]
    body: dict[str, Any] = {
        "hosts_not_run": hosts, "log": {}, "num_hosts": len(hosts), "num_hosts_done": 0,
        "num_hosts_not_run": len(hosts), "num_hosts_running": 0,
        "overall_status": f"0 of {len(hosts)} hosts done. 0 errors.",
        "period_beginning": start.strftime(STAMP), "period_ending": end.strftime(STAMP),
        "total_errors": 0, "total_instances": 0,
    }
    return microversion.answer({key: body}, request)


async def list_audit_logs(request: Request) -> Response:
    return await _report(request, datetime.now(UTC), "instance_usage_audit_logs")


async def show_audit_log(request: Request) -> Response:
    raw = request.path_params["before_timestamp"]
    for form in (STAMP, STAMP + ".%f"):
        try:
            before = datetime.strptime(raw, form).replace(tzinfo=UTC)
            break
        except ValueError:
            continue
    else:
        require_admin(claims(request), "os_compute_api:os-instance-usage-audit-log")
        raise InvalidInput(f"Invalid timestamp for date {raw}")
    return await _report(request, before, "instance_usage_audit_log")


C = "/compute/v2.1/os-instance_usage_audit_log"
command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route(C, list_audit_logs, methods=["GET"]),
    Route(f"{C}/{{before_timestamp}}", show_audit_log, methods=["GET"]),
]
