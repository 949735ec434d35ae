"""Network commands (Neutron's networks and subnets, and through the classes it
joins, ports, floating IPs, security groups and routers): each a decision of
domain/ written in one transaction (commands/network_base.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from commands.application import Aggregate, Change, Written
from commands.floating_ips import FloatingIpCommands
from commands.lookups import parse_id
from commands.messages import Caller
from commands.network_base import DEFAULT_NETWORK_ID, new_id, require_owner, scope_of
from commands.routers import RouterCommands
from commands.security_groups import SecurityGroupCommands
from domain import network as model


class NetworkCommands(RouterCommands, FloatingIpCommands, SecurityGroupCommands):
    def network(self, network_id: str, caller: Caller) -> model.Network:
        """The network as the write side knows it now (for a caller allowed to see it)."""
        return model.existing(self._network(network_id).current, network_id, scope_of(caller))

    def network_of_subnet(self, subnet_id: str) -> str:
        """The id of the network a subnet belongs to (the fabric knows every subnet)."""
        parse_id(subnet_id, "Subnet")
        return (self._fabric().current or model.Fabric()).network_of(subnet_id)

    # ---- networks and subnets ---------------------------------------------

    def create_network(self, caller: Caller, request_id: str, *, name: str,
                       external: bool = False, shared: bool = False,
                       admin_state_up: bool = True, mtu: int = 1500,
                       network_id: uuid.UUID | None = None) -> Written[model.Network]:
        """A new network (its id from the request's unless given)."""
        network_id = network_id or new_id(request_id)

        def decide(network: Aggregate[model.Network], at: datetime) -> list[Change]:
            fabric = self._fabric()
            numbered, created = model.create(
                fabric.current, network_id=str(network_id), request_id=request_id,
                project_id=caller.project_id, name=name, external=external, shared=shared,
                admin_state_up=admin_state_up, mtu=mtu, at=at)
            return [(network, created), (fabric, numbered)]

        return self.app.execute(request_id, lambda: self._network(network_id), decide,
                                touches=[network_id, model.FABRIC_ID])

    def create_fixed_network(self, caller: Caller, request_id: str, *, name: str, cidr: str,
                             external: bool = False,
                             shared: bool = False) -> Written[model.Network]:
        """A network and its one subnet in one transaction (the seed's ``nova-manage
        network create``): a refused range leaves no network behind."""
        network_id = new_id(request_id)
        subnet_id = str(new_id(request_id, "#subnet"))

        def decide(network: Aggregate[model.Network], at: datetime) -> list[Change]:
            fabric = self._fabric()
            numbered, created = model.create(
                fabric.current, network_id=str(network_id), request_id=request_id,
                project_id=caller.project_id, name=name, external=external, shared=shared,
                at=at)
            fabric_after = model.evolve_fabric(fabric.current, numbered, str(fabric.id))
            added, claimed = model.add_subnet(
                model.evolve(None, created, str(network_id)), fabric_after,
                subnet_id=subnet_id, request_id=request_id, project_id=caller.project_id,
                name=name, cidr=cidr, at=at)
            return [(network, [created, added]), (fabric, [numbered, claimed])]

        return self.app.execute(request_id, lambda: self._network(network_id), decide,
                                touches=[network_id, model.FABRIC_ID])

    def ensure_default(self, *, project_id: str, name: str, cidr: str) -> None:
        """The fixed network every cloud starts with (nova-network's first
        ``nova-manage network create``), shared, made once: its requests are
        answered as before on every later start, even after an admin deleted it."""
        admin = Caller(user_id="nimbus", project_id=project_id, is_admin=True)
        network = self.create_network(admin, "nimbus-default-network", name=name,
                                      shared=True, network_id=DEFAULT_NETWORK_ID).state
        if not network.deleted:
            self.create_subnet(admin, "nimbus-default-subnet", network.id,
                               name=f"{name}-subnet", cidr=cidr)

    def update_network(self, caller: Caller, request_id: str, network_id: str, *,
                       name: str | None = None, admin_state_up: bool | None = None,
                       shared: bool | None = None,
                       external: bool | None = None) -> Written[model.Network]:
        def decide(network: Aggregate[model.Network], at: datetime) -> list[Change]:
            state = model.existing(network.current, network_id, scope_of(caller))
            require_owner(state.project_id, caller, "Network", network_id)
            return [(network, model.update(state, request_id=request_id, at=at, name=name,
                                           admin_state_up=admin_state_up, shared=shared,
                                           external=external))]

        return self.app.execute(request_id, lambda: self._network(network_id), decide)

    def delete_network(self, caller: Caller, request_id: str,
                       network_id: str) -> Written[model.Network]:
        def decide(network: Aggregate[model.Network], at: datetime) -> list[Change]:
            state = model.existing(network.current, network_id, scope_of(caller))
            require_owner(state.project_id, caller, "Network", network_id)
            deleted, unnumbered, released = model.delete(state, request_id=request_id, at=at)
            fabric = self._fabric()
            return [(network, deleted), (fabric, [unnumbered, *released])]

        return self.app.execute(request_id, lambda: self._network(network_id), decide)

    def create_subnet(self, caller: Caller, request_id: str, network_id: str, *, name: str,
                      cidr: str, gateway_ip: str | bool | None = True,
                      allocation_pools: list[tuple[str, str]] | None = None,
                      enable_dhcp: bool = True,
                      dns_nameservers: list[str] | None = None) -> Written[model.Subnet]:
        subnet_id = str(new_id(request_id))

        def decide(network: Aggregate[model.Network], at: datetime) -> list[Change]:
            state = model.existing(network.current, network_id, scope_of(caller))
            require_owner(state.project_id, caller, "Network", network_id)
            fabric = self._fabric()
            added, claimed = model.add_subnet(
                state, fabric.current, subnet_id=subnet_id, request_id=request_id,
                project_id=caller.project_id, name=name, cidr=cidr, gateway_ip=gateway_ip,
                allocation_pools=allocation_pools, enable_dhcp=enable_dhcp,
                dns_nameservers=dns_nameservers, at=at)
            return [(network, added), (fabric, claimed)]

        return self.app.execute(request_id, lambda: self._network(network_id), decide,
                                answer=lambda network: network.state.subnet(subnet_id))

    def delete_subnet(self, caller: Caller, request_id: str, network_id: str,
                      subnet_id: str) -> Written[model.Network]:
        def decide(network: Aggregate[model.Network], at: datetime) -> list[Change]:
            state = model.existing(network.current, network_id, scope_of(caller))
            require_owner(state.project_id, caller, "Network", network_id)
            removed, released = model.remove_subnet(state, subnet_id, request_id=request_id,
                                                    at=at)
            return [(network, removed), (self._fabric(), released)]

        return self.app.execute(request_id, lambda: self._network(network_id), decide)

