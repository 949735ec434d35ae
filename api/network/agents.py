"""Neutron's agents API (admin only): the network hosts, one "Linux bridge
agent" each, alive while it reports, with what it last rendered.

``configurations`` carries the log position its plan reflects, the plan's
digest and the log's head: a host whose position lags the head (or whose
digest differs from another's) has drifted. ``openstack network agent list``
shows it.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.consistency import caught_up
from api.context import claims, context
from api.policy import require_admin
from projections.network_hosts_queries import NetworkHostView, list_network_hosts

BINARY = "nimbus-network-worker"
AGENT_TYPE = "Linux bridge agent"


def _time(value: Any) -> str:
    return str(value.strftime("%Y-%m-%d %H:%M:%S"))


def agent(host: NetworkHostView, down_after: float) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"nimbus:network-agent:{host.host}")),
        "agent_type": AGENT_TYPE, "binary": BINARY, "host": host.host, "topic": "N/A",
        "alive": host.is_up(down_after), "admin_state_up": True,
        "availability_zone": None, "description": None,
        "heartbeat_timestamp": _time(host.last_seen), "created_at": _time(host.reported_at),
        "started_at": _time(host.reported_at), "resources_synced": None,
        "configurations": {"position": host.position, "digest": host.digest,
                           "log_head": host.log_head},
    }


async def list_agents(request: Request) -> Response:
    who = claims(request)
    require_admin(who, "get_agent")
    down_after = context(request).settings.service_down_time
    found = [agent(h, down_after) for h in await list_network_hosts(await caught_up(request))]
    for key in ("host", "agent_type", "binary"):
        wanted = request.query_params.getlist(key)
        if wanted:
            found = [a for a in found if a[key] in wanted]
    return JSONResponse({"agents": found})


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route("/network/v2.0/agents", list_agents, methods=["GET"]),
]
