"""Port commands: create, change, bind and delete ports, plug a booting
server's interfaces and unplug a deleted one's, and make ports ACTIVE once
their network host serves them.

A port's creation and its network's ``AddressAllocated`` are saved together;
a deleted port gives its address back and lets its floating IPs go.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from commands.application import Aggregate, Change, Written
from commands.lookups import parse_id
from commands.messages import Caller
from commands.network_base import NetworkBase, new_id, scope_of
from domain import floating_ip as fip_model
from domain import instance as instance_model
from domain import network as model
from domain import port as port_model
from domain import security_group as sg_model
from domain.errors import NotFound
from domain.events import Nic
from domain.registry import (
    INSTANCE,
    SECURITY_GROUP,
)


class PortCommands(NetworkBase):
    def unplug(self, nics: Iterable[Nic], *, request_id: str, at: datetime) -> list[Change]:
        """A deleted server's ports: those its boot made are deleted (their addresses
        given back), the ones it was given are only unbound."""
        changes: list[Change] = []
        networks: dict[str, Aggregate[model.Network]] = {}
        for nic in nics:
            port = self._port(nic.port_id)
            state = port.current
            if state is None or state.deleted:
                continue
            if not nic.owned:
                changes.append((port, port_model.PortUnbound(at=at, request_id=request_id)))
                continue
            changes += self.port_removal(state, port, request_id=request_id, at=at,
                                         networks=networks)
        return changes

    def port(self, port_id: str, caller: Caller) -> port_model.Port:
        return port_model.existing(self._port(port_id).current, port_id, scope_of(caller))

    # ---- ports ---------------------------------------------------------------

    def port_changes(self, caller: Caller, request_id: str, at: datetime, *,
                     port: Aggregate[port_model.Port], network: Aggregate[model.Network],
                     name: str = "", fixed_ip: str | None = None, subnet_id: str | None = None,
                     security_groups: tuple[str, ...] = (), device_id: str = "",
                     device_owner: str = "", project_id: str | None = None,
                     gateway: bool = False) -> list[Change]:
        """A new port's events and its address's, for any command that makes one
        (a port create, a boot, a router interface). Several in one decision
        must share each network's aggregate (load it once)."""
        state = model.existing(network.current, str(network.id), scope_of(caller))
        for group in security_groups:
            sg_model.existing(self.app.load_or_new(parse_id(group, "Security group"),
                                                   SECURITY_GROUP).current, group,
                              scope_of(caller))
        mac = model.mac_of(port.id)
        allocated = model.allocate(state, owner=str(port.id), request_id=request_id, at=at,
                                   subnet_id=subnet_id, ip=fixed_ip, mac=mac, gateway=gateway)
        # recorded now, so another port of the same decision sees this address taken
        network.record(allocated)
        created = port_model.PortCreated(
            at=at, request_id=request_id, project_id=project_id or caller.project_id,
            network_id=str(network.id), name=name, mac_address=mac,
            fixed_ips=(port_model.FixedIp(allocated.subnet_id, allocated.ip),),
            device_id=device_id, device_owner=device_owner, security_groups=security_groups)
        return [(port, created), (network, None)]

    def create_port(self, caller: Caller, request_id: str, network_id: str, *, name: str = "",
                    fixed_ip: str | None = None, subnet_id: str | None = None,
                    security_groups: tuple[str, ...] = (), device_id: str = "",
                    device_owner: str = "") -> Written[port_model.Port]:
        port_id = new_id(request_id)

        def decide(port: Aggregate[port_model.Port], at: datetime) -> list[Change]:
            return self.port_changes(
                caller, request_id, at, port=port, network=self._network(network_id),
                name=name, fixed_ip=fixed_ip, subnet_id=subnet_id,
                security_groups=security_groups, device_id=device_id,
                device_owner=device_owner)

        return self.app.execute(request_id, lambda: self._port(port_id), decide,
                                touches=[port_id, parse_id(network_id, "Network")])

    def update_port(self, caller: Caller, request_id: str, port_id: str, *,
                    name: str | None = None, security_groups: tuple[str, ...] | None = None,
                    admin_state_up: bool | None = None) -> Written[port_model.Port]:
        def decide(port: Aggregate[port_model.Port], at: datetime) -> list[Change]:
            state = port_model.existing(port.current, port_id, scope_of(caller))
            for group in security_groups or ():
                sg_model.existing(self.app.load_or_new(parse_id(group, "Security group"),
                                                       SECURITY_GROUP).current, group,
                                  scope_of(caller))
            return [(port, port_model.PortUpdated(
                at=at, request_id=request_id, name=state.name if name is None else name,
                security_groups=(state.security_groups if security_groups is None
                                 else security_groups),
                admin_state_up=(state.admin_state_up if admin_state_up is None
                                else admin_state_up)))]

        return self.app.execute(request_id, lambda: self._port(port_id), decide)

    def bind_port(self, caller: Caller, request_id: str, port_id: str, *, device_id: str,
                  host: str) -> Written[port_model.Port]:
        def decide(port: Aggregate[port_model.Port], at: datetime) -> list[Change]:
            state = port_model.existing(port.current, port_id, scope_of(caller))
            return [(port, port_model.bind(state, device_id=device_id, host=host,
                                           request_id=request_id, at=at))]

        return self.app.execute(request_id, lambda: self._port(port_id), decide)

    def unbind_port(self, caller: Caller, request_id: str,
                    port_id: str) -> Written[port_model.Port]:
        def decide(port: Aggregate[port_model.Port], at: datetime) -> list[Change]:
            state = port_model.existing(port.current, port_id, scope_of(caller))
            return [(port, port_model.PortUnbound(at=at, request_id=request_id)
                     if state.device_id else None)]

        return self.app.execute(request_id, lambda: self._port(port_id), decide)

    def change_server_groups(self, caller: Caller, request_id: str, server_id: str,
                             port_ids: list[str], group_id: str, *,
                             add: bool) -> Written[port_model.Port]:
        """Add the group to (or remove it from) each of the server's ports, in one
        transaction (Nova's addSecurityGroup / removeSecurityGroup).

        ``port_ids``: the server's ports as the caller found them (ports whose
        ``device_id`` is the server, in the views: no aggregate lists a server's
        ports). A port that is gone or no longer the server's is passed over;
        with none left, or (removing) none that has the group, Nova's 404."""
        if not port_ids:
            raise NotFound(f"instance_id {server_id} could not be found as device id on any"
                           " ports")
        first, *rest = port_ids

        def decide(port: Aggregate[port_model.Port], at: datetime) -> list[Change]:
            sg_model.existing(self._group(group_id).current, group_id, scope_of(caller))
            ports = [(a, a.current) for a in [port, *(self._port(p) for p in rest)]
                     if a.current is not None and not a.current.deleted
                     and a.current.device_id == server_id
                     and (caller.is_admin or a.current.project_id == caller.project_id)]
            if not ports:
                raise NotFound(f"instance_id {server_id} could not be found as device id on"
                               " any ports")
            changes: list[Change] = []
            for aggregate, state in ports:
                groups = (state.security_groups if group_id in state.security_groups
                          else (*state.security_groups, group_id)) if add else tuple(
                    g for g in state.security_groups if g != group_id)
                if groups != state.security_groups:
                    changes.append((aggregate, port_model.PortUpdated(
                        at=at, request_id=request_id, name=state.name,
                        security_groups=groups, admin_state_up=state.admin_state_up)))
            if not add and not changes:
                raise NotFound(f"Security group {group_id} not associated with the instance"
                               f" {server_id}")
            return changes

        return self.app.execute(request_id, lambda: self._port(first), decide,
                                touches=[*(parse_id(p, "Port") for p in port_ids),
                                         parse_id(group_id, "Security group")])

    def port_removal(self, state: port_model.Port, port: Aggregate[port_model.Port], *,
                     request_id: str, at: datetime, by_owner: bool = False,
                     networks: dict[str, Aggregate[model.Network]] | None = None
                     ) -> list[Change]:
        """A port's deletion, its address given back and its floating IPs pointed
        nowhere, as Neutron does (for a port delete, a server delete, a router
        interface removal). ``networks``: the decision's network aggregates, when
        it removes several ports (each network is loaded once)."""
        networks = {} if networks is None else networks
        network = networks.setdefault(state.network_id, self._network(state.network_id))
        if network.current is not None:
            released = model.release(network.current, str(port.id), request_id=request_id,
                                     at=at)
            if released is not None:
                network.record(released)  # so the next port of the network sees it
        changes: list[Change] = [(network, None)]
        for fip_id in state.floating.values():
            fip = self._fip(fip_id)
            if fip.current is not None and not fip.current.deleted:
                changes.append((fip, fip_model.disassociate(fip.current,
                                                            request_id=request_id, at=at)))
        return [(port, port_model.delete(state, request_id=request_id, at=at,
                                         by_owner=by_owner)), *changes]

    def delete_port(self, caller: Caller, request_id: str,
                    port_id: str) -> Written[port_model.Port]:
        def decide(port: Aggregate[port_model.Port], at: datetime) -> list[Change]:
            state = port_model.existing(port.current, port_id, scope_of(caller))
            return self.port_removal(state, port, request_id=request_id, at=at)

        return self.app.execute(request_id, lambda: self._port(port_id), decide)

    def activate_ports(self, host: str, port_ids: list[str],
                       request_id: str) -> Written[port_model.Port] | None:
        """Ports the network host ``host`` reported applied become ACTIVE, and
        each server holding one hears its interface is plugged (in the same
        transaction: a boot waiting for it and this meet on the instance)."""
        if not port_ids:
            return None
        first, *rest = port_ids

        def decide(port: Aggregate[port_model.Port], at: datetime) -> list[Change]:
            changes: list[Change] = []
            for aggregate in [port, *(self._port(p) for p in rest)]:
                state = aggregate.current
                if state is None:
                    continue
                activated = port_model.activate(state, host=host, request_id=request_id,
                                                at=at)
                changes.append((aggregate, activated))
                if activated is not None and state.device_owner == port_model.SERVER_OWNER:
                    changes += self._plugged(state, request_id, at)
            return changes

        return self.app.execute(None, lambda: self._port(first), decide,
                                touches=[parse_id(p, "Port") for p in port_ids])

    def _plugged(self, port: port_model.Port, request_id: str, at: datetime) -> list[Change]:
        """The server holding ``port`` hears it is plugged (a device id naming no
        instance of nimbus, which Neutron allows, hears nothing)."""
        try:
            instance_id = uuid.UUID(port.device_id)
        except ValueError:
            return []
        instance = self.app.find(INSTANCE, instance_id)
        if instance is None:
            return []
        return [(instance, instance_model.vif_plugged(instance.state, port.id,
                                                      request_id=request_id, at=at))]

