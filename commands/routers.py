"""Router commands: a router, its external gateway, and its interfaces (each a
port holding its subnet's gateway address).
"""

from __future__ import annotations

from datetime import datetime

from commands.application import Aggregate, Change, Written
from commands.messages import Caller
from commands.network_base import new_id, scope_of
from commands.ports import PortCommands
from domain import floating_ip as fip_model
from domain import network as model
from domain import port as port_model
from domain import router as router_model
from domain.errors import InvalidInput


class RouterCommands(PortCommands):
    def create_router(self, caller: Caller, request_id: str, *, name: str,
                      gateway_network_id: str | None = None) -> Written[router_model.Router]:
        router_id = new_id(request_id)

        def decide(router: Aggregate[router_model.Router], at: datetime) -> list[Change]:
            events: list[router_model.RouterEvent] = [router_model.RouterCreated(
                at=at, request_id=request_id, project_id=caller.project_id, name=name)]
            if gateway_network_id is not None:
                events.append(self._gateway(caller, request_id, at, gateway_network_id))
            return [(router, events)]

        return self.app.execute(request_id, lambda: self._router(router_id), decide)

    def _gateway(self, caller: Caller, request_id: str, at: datetime,
                 network_id: str) -> router_model.RouterGatewaySet:
        state = model.existing(self._network(network_id).current, network_id, scope_of(caller))
        fip_model.require_external(state.external, network_id)
        return router_model.RouterGatewaySet(at=at, request_id=request_id,
                                             network_id=network_id)

    def set_gateway(self, caller: Caller, request_id: str, router_id: str,
                    network_id: str | None) -> Written[router_model.Router]:
        def decide(router: Aggregate[router_model.Router], at: datetime) -> list[Change]:
            state = router_model.existing(router.current, router_id, scope_of(caller))
            if network_id is None:
                return [(router, router_model.RouterGatewayCleared(
                    at=at, request_id=request_id) if state.gateway_network_id else None)]
            return [(router, self._gateway(caller, request_id, at, network_id))]

        return self.app.execute(request_id, lambda: self._router(router_id), decide)

    def add_interface(self, caller: Caller, request_id: str, router_id: str, *,
                      network_id: str, subnet_id: str) -> Written[router_model.Router]:
        """Join ``subnet_id`` to the router by a port holding the subnet's gateway address."""
        port_id = new_id(request_id, "#port")

        def decide(router: Aggregate[router_model.Router], at: datetime) -> list[Change]:
            state = router_model.existing(router.current, router_id, scope_of(caller))
            network = self._network(network_id)
            subnet = model.existing(network.current, network_id,
                                    scope_of(caller)).subnet(subnet_id)
            if subnet.gateway_ip is None:
                raise InvalidInput(f"Bad router request: Subnet {subnet_id} does not"
                                         " have a gateway IP.")
            added = router_model.add_interface(state, subnet_id=subnet_id,
                                               port_id=str(port_id), request_id=request_id,
                                               at=at)
            return [(router, added), *self.port_changes(
                caller, request_id, at, port=self._port(port_id), network=network,
                fixed_ip=subnet.gateway_ip, subnet_id=subnet_id, device_id=router_id,
                device_owner=port_model.ROUTER_OWNER, project_id=state.project_id,
                gateway=True)]

        return self.app.execute(request_id, lambda: self._router(router_id), decide)

    def remove_interface(self, caller: Caller, request_id: str, router_id: str, *,
                         subnet_id: str) -> Written[router_model.Router]:
        def decide(router: Aggregate[router_model.Router], at: datetime) -> list[Change]:
            state = router_model.existing(router.current, router_id, scope_of(caller))
            removed, port_id = router_model.remove_interface(state, subnet_id=subnet_id,
                                                             request_id=request_id, at=at)
            port = self._port(port_id)
            changes: list[Change] = [(router, removed)]
            if port.current is not None and not port.current.deleted:
                changes += self.port_removal(port.current, port, request_id=request_id,
                                             at=at, by_owner=True)
            return changes

        return self.app.execute(request_id, lambda: self._router(router_id), decide)

    def delete_router(self, caller: Caller, request_id: str,
                      router_id: str) -> Written[router_model.Router]:
        def decide(router: Aggregate[router_model.Router], at: datetime) -> list[Change]:
            state = router_model.existing(router.current, router_id, scope_of(caller))
            return [(router, router_model.delete(state, request_id=request_id, at=at))]

        return self.app.execute(request_id, lambda: self._router(router_id), decide)

