"""What the network commands share: how each network aggregate is loaded, who
sees what, and new ids (from the request id, so a retried create names the
same thing).

The commands themselves are by resource: networks and subnets
(commands/networks.py), ports (commands/ports.py), floating IPs
(commands/floating_ips.py), security groups (commands/security_groups.py) and
routers (commands/routers.py); ``NetworkCommands`` is all of them, as the API
and the write side's other services reach them.
"""

from __future__ import annotations

import uuid

from commands.application import Aggregate, NimbusApplication
from commands.lookups import parse_id
from commands.messages import Caller
from domain import floating_ip as fip_model
from domain import network as model
from domain import port as port_model
from domain import quota as quota_model
from domain import router as router_model
from domain import security_group as sg_model
from domain.errors import NotFound
from domain.registry import (
    FLOATING_IP,
    NETWORK,
    NETWORK_FABRIC,
    PORT,
    QUOTA,
    ROUTER,
    SECURITY_GROUP,
)

NAMESPACE = uuid.UUID("3f9d2b71-6a0e-4c58-8e13-7b4a2d9c6f05")


# the default network's id (the one a client found before networks were served)
DEFAULT_NETWORK_ID = uuid.uuid5(uuid.NAMESPACE_URL, "nimbus:network:private")


def new_id(request_id: str, what: str = "") -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{request_id}{what}")


def scope_of(caller: Caller) -> str | None:
    """The project whose things the caller sees; None: an admin sees all."""
    return None if caller.is_admin else caller.project_id


def require_owner(project_id: str, caller: Caller, thing: str, thing_id: str) -> None:
    """Changing a shared or external network is its owner's (or an admin's) business."""
    if not caller.is_admin and project_id != caller.project_id:
        raise NotFound(f"{thing} {thing_id} could not be found.")


class NetworkBase:
    def __init__(self, app: NimbusApplication, quota_defaults: quota_model.QuotaDefaults) -> None:
        self.app = app
        self.quota_defaults = quota_defaults

    # ---- loading -------------------------------------------------------------

    def _fabric(self) -> Aggregate[model.Fabric]:
        return self.app.load_or_new(model.FABRIC_ID, NETWORK_FABRIC)

    def _network(self, network_id: str | uuid.UUID) -> Aggregate[model.Network]:
        key = network_id if isinstance(network_id, uuid.UUID) else parse_id(network_id,
                                                                             "Network")
        return self.app.load_or_new(key, NETWORK)

    def _port(self, port_id: str | uuid.UUID) -> Aggregate[port_model.Port]:
        key = port_id if isinstance(port_id, uuid.UUID) else parse_id(port_id, "Port")
        return self.app.load_or_new(key, PORT)

    def _quota(self, project_id: str) -> Aggregate[quota_model.Quota]:
        return self.app.load_or_new(quota_model.quota_id(project_id), QUOTA)

    def load_port(self, port_id: str) -> Aggregate[port_model.Port]:
        return self._port(port_id)

    def load_network(self, network_id: str) -> Aggregate[model.Network]:
        return self._network(network_id)

    def _fip(self, fip_id: str | uuid.UUID) -> Aggregate[fip_model.FloatingIp]:
        key = fip_id if isinstance(fip_id, uuid.UUID) else parse_id(fip_id, "Floating IP")
        return self.app.load_or_new(key, FLOATING_IP)

    def _group(self, group_id: str | uuid.UUID) -> Aggregate[sg_model.SecurityGroup]:
        key = group_id if isinstance(group_id, uuid.UUID) else parse_id(group_id,
                                                                         "Security group")
        return self.app.load_or_new(key, SECURITY_GROUP)

    def _router(self, router_id: str | uuid.UUID) -> Aggregate[router_model.Router]:
        key = router_id if isinstance(router_id, uuid.UUID) else parse_id(router_id, "Router")
        return self.app.load_or_new(key, ROUTER)

