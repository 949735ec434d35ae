"""Network commands (Neutron's networks, subnets, ports, routers, floating IPs
and security groups): each a decision of domain/ written in one transaction.

An address is taken in the same transaction as its holder: a port's
``PortCreated`` with its network's ``AddressAllocated``, a floating IP's
``FloatingIpCreated`` with the external network's allocation and the
project's quota claim. New ids derive from the request id, so a retried
create names the same thing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime

from commands.application import Aggregate, Change, NimbusApplication, Written
from commands.lookups import parse_id
from commands.messages import Caller
from domain import floating_ip as fip_model
from domain import instance as instance_model
from domain import network as model
from domain import port as port_model
from domain import quota as quota_model
from domain import router as router_model
from domain import security_group as sg_model
from domain.errors import InvalidInput, NotFound
from domain.events import Nic
from domain.registry import (
    FLOATING_IP,
    INSTANCE,
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


def _scope(caller: Caller) -> str | None:
    """The project whose things the caller sees; None: an admin sees all."""
    return None if caller.is_admin else caller.project_id


def _owned(project_id: str, caller: Caller, thing: str, thing_id: str) -> None:
    """Changing a shared or external network is its owner's (or an admin's) business."""
    if not caller.is_admin and project_id != caller.project_id:
        raise NotFound(f"{thing} {thing_id} could not be found.")


class NetworkCommands:
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

    def network(self, network_id: str, caller: Caller) -> model.Network:
        """The network as the write side knows it now (for a caller allowed to see it)."""
        return model.existing(self._network(network_id).current, network_id, _scope(caller))

    def network_of_subnet(self, subnet_id: str) -> str:
        """The id of the network a subnet belongs to (the fabric knows every subnet)."""
        parse_id(subnet_id, "Subnet")
        return (self._fabric().current or model.Fabric()).network_of(subnet_id)

    def port(self, port_id: str, caller: Caller) -> port_model.Port:
        return port_model.existing(self._port(port_id).current, port_id, _scope(caller))

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
            state = model.existing(network.current, network_id, _scope(caller))
            _owned(state.project_id, caller, "Network", network_id)
            return [(network, model.update(state, request_id=request_id, at=at, name=name,
                                           admin_state_up=admin_state_up, shared=shared,
                                           external=external))]

        return self.app.execute(request_id, lambda: self._network(network_id), decide)

    def delete_network(self, caller: Caller, request_id: str,
                       network_id: str) -> Written[model.Network]:
        def decide(network: Aggregate[model.Network], at: datetime) -> list[Change]:
            state = model.existing(network.current, network_id, _scope(caller))
            _owned(state.project_id, caller, "Network", network_id)
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
            state = model.existing(network.current, network_id, _scope(caller))
            _owned(state.project_id, caller, "Network", network_id)
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
            state = model.existing(network.current, network_id, _scope(caller))
            _owned(state.project_id, caller, "Network", network_id)
            removed, released = model.remove_subnet(state, subnet_id, request_id=request_id,
                                                    at=at)
            return [(network, removed), (self._fabric(), released)]

        return self.app.execute(request_id, lambda: self._network(network_id), decide)

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
        state = model.existing(network.current, str(network.id), _scope(caller))
        for group in security_groups:
            sg_model.existing(self.app.load_or_new(parse_id(group, "Security group"),
                                                   SECURITY_GROUP).current, group,
                              _scope(caller))
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
            state = port_model.existing(port.current, port_id, _scope(caller))
            for group in security_groups or ():
                sg_model.existing(self.app.load_or_new(parse_id(group, "Security group"),
                                                       SECURITY_GROUP).current, group,
                                  _scope(caller))
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
            state = port_model.existing(port.current, port_id, _scope(caller))
            return [(port, port_model.bind(state, device_id=device_id, host=host,
                                           request_id=request_id, at=at))]

        return self.app.execute(request_id, lambda: self._port(port_id), decide)

    def unbind_port(self, caller: Caller, request_id: str,
                    port_id: str) -> Written[port_model.Port]:
        def decide(port: Aggregate[port_model.Port], at: datetime) -> list[Change]:
            state = port_model.existing(port.current, port_id, _scope(caller))
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
            sg_model.existing(self._group(group_id).current, group_id, _scope(caller))
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
            state = port_model.existing(port.current, port_id, _scope(caller))
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

    # ---- floating IPs ----------------------------------------------------------

    def _fip(self, fip_id: str | uuid.UUID) -> Aggregate[fip_model.FloatingIp]:
        key = fip_id if isinstance(fip_id, uuid.UUID) else parse_id(fip_id, "Floating IP")
        return self.app.load_or_new(key, FLOATING_IP)

    def _association(self, fip: Aggregate[fip_model.FloatingIp], state: fip_model.FloatingIp,
                     caller: Caller, request_id: str, at: datetime, port_id: str,
                     fixed_ip: str | None) -> list[Change]:
        """Point the floating IP at ``port_id``: written on both, so two floating IPs
        racing for one fixed IP conflict on the port, and one of them is refused."""
        port = self._port(port_id)
        target = port_model.existing(port.current, port_id, _scope(caller))
        fixed_ips = [f.ip_address for f in target.fixed_ips]
        chosen = fixed_ip or next(iter(fixed_ips), None)
        associated = fip_model.associate(
            state, port_id=port_id, fixed_ips=fixed_ips, fixed_ip=fixed_ip,
            taken_by=target.floating.get(chosen) if chosen else None,
            request_id=request_id, at=at)
        if associated is None:
            return []
        changes: list[Change] = [(fip, associated)]
        if state.port_id is not None:  # moved: its old port lets go of it first
            changes += self._let_go(state, request_id, at,
                                    port if state.port_id == port_id else None)
        changes.append((port, port_model.attach_floating(
            port.state, floating_ip_id=state.id, fixed_ip=associated.fixed_ip_address,
            request_id=request_id, at=at)))
        return changes

    def _let_go(self, state: fip_model.FloatingIp, request_id: str, at: datetime,
                port: Aggregate[port_model.Port] | None = None) -> list[Change]:
        """The port the floating IP points at forgets it (recorded at once, so an
        attach to the same port in this decision sees it gone)."""
        if state.port_id is None:
            return []
        held = port or self._port(state.port_id)
        if held.current is not None:
            detached = port_model.detach_floating(held.current, state.id,
                                                  request_id=request_id, at=at)
            if detached is not None:
                held.record(detached)
        return [(held, None)]

    def floating_ip(self, fip_id: str, caller: Caller) -> fip_model.FloatingIp:
        """The floating IP as the write side knows it now (if the caller may see it)."""
        return fip_model.existing(self._fip(fip_id).current, fip_id, _scope(caller))

    def create_floating_ip(self, caller: Caller, request_id: str, network_id: str, *,
                           address: str | None = None, port_id: str | None = None,
                           fixed_ip: str | None = None, description: str = ""
                           ) -> Written[fip_model.FloatingIp]:
        """A floating IP of external network ``network_id``, pointed at ``port_id``
        when given."""
        fip_id = new_id(request_id)

        def decide(fip: Aggregate[fip_model.FloatingIp], at: datetime) -> list[Change]:
            network = self._network(network_id)
            state = model.existing(network.current, network_id, _scope(caller))
            fip_model.require_external(state.external, network_id)
            quota = self._quota(caller.project_id)
            claim = quota_model.claim_network(
                quota.current, self.quota_defaults, project_id=caller.project_id,
                owner_id=str(fip_id), resource="floating_ips", at=at)
            allocated = model.allocate(state, owner=str(fip_id), request_id=request_id,
                                       at=at, ip=address)
            created = fip_model.FloatingIpCreated(
                at=at, request_id=request_id, project_id=caller.project_id,
                floating_network_id=network_id, floating_ip_address=allocated.ip,
                description=description)
            changes: list[Change] = [(fip, created), (network, allocated), (quota, claim)]
            if port_id is not None:
                changes += self._association(fip, fip.after(created), caller, request_id, at,
                                             port_id, fixed_ip)
            return changes

        return self.app.execute(request_id, lambda: self._fip(fip_id), decide,
                                touches=[fip_id, parse_id(network_id, "Network"),
                                         quota_model.quota_id(caller.project_id)])

    def update_floating_ip(self, caller: Caller, request_id: str, fip_id: str, *,
                           port_id: str | None, fixed_ip: str | None = None
                           ) -> Written[fip_model.FloatingIp]:
        """Associate with ``port_id`` or, when None, disassociate."""
        def decide(fip: Aggregate[fip_model.FloatingIp], at: datetime) -> list[Change]:
            state = fip_model.existing(fip.current, fip_id, _scope(caller))
            if port_id is None:
                return [(fip, fip_model.disassociate(state, request_id=request_id, at=at)),
                        *self._let_go(state, request_id, at)]
            return self._association(fip, state, caller, request_id, at, port_id, fixed_ip)

        return self.app.execute(request_id, lambda: self._fip(fip_id), decide)

    def delete_floating_ip(self, caller: Caller, request_id: str,
                           fip_id: str) -> Written[fip_model.FloatingIp]:
        def decide(fip: Aggregate[fip_model.FloatingIp], at: datetime) -> list[Change]:
            state = fip_model.existing(fip.current, fip_id, _scope(caller))
            network = self._network(state.floating_network_id)
            quota = self._quota(state.project_id)
            return [(fip, fip_model.FloatingIpDeleted(at=at, request_id=request_id)),
                    (network, model.release(network.state, fip_id, request_id=request_id,
                                            at=at)),
                    (quota, quota_model.release_network(quota.current, fip_id, at)),
                    *self._let_go(state, request_id, at)]

        return self.app.execute(request_id, lambda: self._fip(fip_id), decide)

    # ---- security groups -----------------------------------------------------

    def _group(self, group_id: str | uuid.UUID) -> Aggregate[sg_model.SecurityGroup]:
        key = group_id if isinstance(group_id, uuid.UUID) else parse_id(group_id,
                                                                         "Security group")
        return self.app.load_or_new(key, SECURITY_GROUP)

    def security_group(self, group_id: str, caller: Caller) -> sg_model.SecurityGroup:
        """The group as the write side knows it now (if the caller may see it)."""
        return sg_model.existing(self._group(group_id).current, group_id, _scope(caller))

    def create_security_group(self, caller: Caller, request_id: str, *, name: str,
                              description: str = "") -> Written[sg_model.SecurityGroup]:
        group_id = new_id(request_id)

        def decide(group: Aggregate[sg_model.SecurityGroup], at: datetime) -> list[Change]:
            created = sg_model.create(
                request_id=request_id, project_id=caller.project_id, name=name,
                description=description,
                egress_rule_ids=(str(new_id(request_id, "#4")), str(new_id(request_id, "#6"))),
                at=at)
            quota = self._quota(caller.project_id)
            claim = quota_model.claim_network(
                quota.current, self.quota_defaults, project_id=caller.project_id,
                owner_id=str(group_id), resource="security_groups", at=at)
            return [(group, created), (quota, claim)]

        return self.app.execute(request_id, lambda: self._group(group_id), decide,
                                touches=[group_id, quota_model.quota_id(caller.project_id)])

    def update_security_group(self, caller: Caller, request_id: str, group_id: str, *,
                              name: str | None = None,
                              description: str | None = None) -> Written[sg_model.SecurityGroup]:
        def decide(group: Aggregate[sg_model.SecurityGroup], at: datetime) -> list[Change]:
            state = sg_model.existing(group.current, group_id, _scope(caller))
            return [(group, sg_model.update(state, name=name, description=description,
                                            request_id=request_id, at=at))]

        return self.app.execute(request_id, lambda: self._group(group_id), decide)

    def delete_security_group(self, caller: Caller, request_id: str, group_id: str, *,
                              in_use: bool) -> Written[sg_model.SecurityGroup]:
        def decide(group: Aggregate[sg_model.SecurityGroup], at: datetime) -> list[Change]:
            state = sg_model.existing(group.current, group_id, _scope(caller))
            quota = self._quota(state.project_id)
            return [(group, sg_model.delete(state, in_use=in_use, request_id=request_id,
                                            at=at)),
                    (quota, quota_model.release_network(quota.current, group_id, at))]

        return self.app.execute(request_id, lambda: self._group(group_id), decide)

    def add_rule(self, caller: Caller, request_id: str, group_id: str,
                 make: Callable[[str], sg_model.Rule]) -> Written[sg_model.Rule]:
        """A rule made by ``make(rule_id)`` (domain's ``rule``), added to the group."""
        rule_id = str(new_id(request_id))

        def decide(group: Aggregate[sg_model.SecurityGroup], at: datetime) -> list[Change]:
            state = sg_model.existing(group.current, group_id, _scope(caller))
            rule = make(rule_id)
            if rule.remote_group_id is not None:
                sg_model.existing(self._group(rule.remote_group_id).current,
                                  rule.remote_group_id, _scope(caller))
            return [(group, sg_model.add_rule(state, rule, request_id=request_id, at=at))]

        def answer(group: Aggregate[sg_model.SecurityGroup]) -> sg_model.Rule:
            found = next((r for r in group.state.rules if r.id == rule_id), None)
            if found is None:
                raise NotFound(f"Security group rule {rule_id} does not exist")
            return found

        return self.app.execute(request_id, lambda: self._group(group_id), decide,
                                answer=answer)

    def remove_rule(self, caller: Caller, request_id: str, group_id: str,
                    rule_id: str) -> Written[sg_model.SecurityGroup]:
        def decide(group: Aggregate[sg_model.SecurityGroup], at: datetime) -> list[Change]:
            state = sg_model.existing(group.current, group_id, _scope(caller))
            return [(group, sg_model.remove_rule(state, rule_id, request_id=request_id,
                                                 at=at))]

        return self.app.execute(request_id, lambda: self._group(group_id), decide)

    # ---- routers -------------------------------------------------------------

    def _router(self, router_id: str | uuid.UUID) -> Aggregate[router_model.Router]:
        key = router_id if isinstance(router_id, uuid.UUID) else parse_id(router_id, "Router")
        return self.app.load_or_new(key, ROUTER)

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
        state = model.existing(self._network(network_id).current, network_id, _scope(caller))
        fip_model.require_external(state.external, network_id)
        return router_model.RouterGatewaySet(at=at, request_id=request_id,
                                             network_id=network_id)

    def set_gateway(self, caller: Caller, request_id: str, router_id: str,
                    network_id: str | None) -> Written[router_model.Router]:
        def decide(router: Aggregate[router_model.Router], at: datetime) -> list[Change]:
            state = router_model.existing(router.current, router_id, _scope(caller))
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
            state = router_model.existing(router.current, router_id, _scope(caller))
            network = self._network(network_id)
            subnet = model.existing(network.current, network_id,
                                    _scope(caller)).subnet(subnet_id)
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
            state = router_model.existing(router.current, router_id, _scope(caller))
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
            state = router_model.existing(router.current, router_id, _scope(caller))
            return [(router, router_model.delete(state, request_id=request_id, at=at))]

        return self.app.execute(request_id, lambda: self._router(router_id), decide)
