"""Networks, their subnets and the addresses handed out of them (Neutron's
networks and subnets; nova-network's fixed networks).

A network is one aggregate holding its subnets and every address allocated
from them, so two boots racing for an address on one network conflict on its
version and the loser decides again: an address is never handed out twice.
The allocation is saved in the same transaction as the port (or floating IP)
that holds it.

The fabric is one aggregate for the whole cloud: it numbers the networks (the
number names the host's bridge, ``br100`` + n, and the vlan manager's
segment, ``vlan_start`` + n) and holds every subnet's range, so two subnets
anywhere can never overlap (all fixed networks are routed by one network
host, as nova-network's are).
"""

from __future__ import annotations

import ipaddress
import itertools
import uuid
from datetime import datetime
from typing import ClassVar

import msgspec

from domain.base import Event, UnknownEvent, unknown_event
from domain.errors import Conflict, InvalidInput, InvalidState, NotFound

FABRIC_ID = uuid.UUID("0b6f3c2e-8d41-4f5a-9e27-6c1d0a3b5f48")
MANAGERS = ("flat", "flatdhcp", "vlan")
FIRST_BRIDGE = 100  # nova-network's flat_network_bridge default, br100


class Pool(msgspec.Struct, frozen=True):
    start: str
    end: str


class Subnet(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    cidr: str
    gateway_ip: str | None
    allocation_pools: tuple[Pool, ...]
    enable_dhcp: bool = True
    dns_nameservers: tuple[str, ...] = ()
    project_id: str
    created_at: datetime


# --- the fabric: network numbers and every subnet's range ---------------------------

class FabricEvent(Event, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "network_fabric"
    network_id: str


class NetworkNumbered(FabricEvent, frozen=True, kw_only=True):
    number: int


class CidrClaimed(FabricEvent, frozen=True, kw_only=True):
    subnet_id: str
    cidr: str


class CidrReleased(FabricEvent, frozen=True, kw_only=True):
    subnet_id: str


class NetworkUnnumbered(FabricEvent, frozen=True, kw_only=True):
    pass


AnyFabricEvent = NetworkNumbered | CidrClaimed | CidrReleased | NetworkUnnumbered


class Fabric(msgspec.Struct, frozen=True, kw_only=True):
    numbers: dict[str, int] = {}  # network id -> number
    cidrs: dict[str, str] = {}  # subnet id -> cidr
    next_number: int = 0
    subnet_networks: dict[str, str] = {}  # subnet id -> its network's id

    def network_of(self, subnet_id: str) -> str:
        """The network a subnet belongs to (a Neutron request names the subnet alone)."""
        found = self.subnet_networks.get(subnet_id)
        if found is None:
            raise NotFound(f"Subnet {subnet_id} could not be found.")
        return found


def evolve_fabric(state: Fabric | None, event: AnyFabricEvent, _id: str) -> Fabric:
    if not isinstance(event, AnyFabricEvent):
        raise UnknownEvent(event, "network_fabric")
    state = state or Fabric()
    match event:
        case NetworkNumbered():
            return msgspec.structs.replace(
                state, numbers={**state.numbers, event.network_id: event.number},
                next_number=max(state.next_number, event.number + 1))
        case NetworkUnnumbered():
            return msgspec.structs.replace(state, numbers={
                k: v for k, v in state.numbers.items() if k != event.network_id})
        case CidrClaimed():
            return msgspec.structs.replace(
                state, cidrs={**state.cidrs, event.subnet_id: event.cidr},
                subnet_networks={**state.subnet_networks, event.subnet_id: event.network_id})
        case CidrReleased():
            return msgspec.structs.replace(state, cidrs={
                k: v for k, v in state.cidrs.items() if k != event.subnet_id},
                subnet_networks={k: v for k, v in state.subnet_networks.items()
                                 if k != event.subnet_id})
        case _:
            unknown_event(event, "network_fabric")


def bridge(number: int) -> str:
    return f"br{FIRST_BRIDGE + number}"


class Provider(msgspec.Struct, frozen=True):
    """How a network is carried, in Neutron's ``provider:*`` words."""

    network_type: str
    physical_network: str | None
    segmentation_id: int | None


def provider(manager: str, number: int, *, vlan_start: int = 100,
             vlan_capable: bool = False) -> Provider:
    """The flat managers put every network on its own bridge (``br100`` + number, the
    one the hosts plug into); the vlan manager gives each its segment ``vlan_start`` +
    number: a VLAN where the kernel has 8021q, else a vxlan segment with the same
    number (``vlan_capable`` False)."""
    if manager not in MANAGERS:
        raise InvalidInput(f"network_manager {manager!r} is not one of {', '.join(MANAGERS)}")
    if manager == "vlan":
        return Provider("vlan" if vlan_capable else "vxlan", None, vlan_start + number)
    return Provider("flat", bridge(number), None)


# --- a network -----------------------------------------------------------------------

class NetworkEvent(Event, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "network"
    request_id: str


class NetworkCreated(NetworkEvent, frozen=True, kw_only=True):
    project_id: str
    name: str
    number: int
    external: bool = False
    shared: bool = False
    admin_state_up: bool = True
    mtu: int = 1500


class NetworkUpdated(NetworkEvent, frozen=True, kw_only=True):
    name: str
    admin_state_up: bool
    shared: bool
    external: bool


class NetworkDeleted(NetworkEvent, frozen=True, kw_only=True):
    pass


class SubnetAdded(NetworkEvent, frozen=True, kw_only=True):
    subnet: Subnet


class SubnetRemoved(NetworkEvent, frozen=True, kw_only=True):
    subnet_id: str


class AddressAllocated(NetworkEvent, frozen=True, kw_only=True):
    subnet_id: str
    ip: str
    owner: str  # the port's or floating IP's id
    mac: str | None = None  # a port's, unique on the network


class AddressReleased(NetworkEvent, frozen=True, kw_only=True):
    owner: str


AnyNetworkEvent = (NetworkCreated | NetworkUpdated | NetworkDeleted | SubnetAdded
                   | SubnetRemoved | AddressAllocated | AddressReleased)


class Allocation(msgspec.Struct, frozen=True):
    subnet_id: str
    ip: str
    mac: str | None


class Network(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    project_id: str
    name: str
    number: int
    external: bool
    shared: bool
    admin_state_up: bool
    mtu: int
    created_at: datetime
    updated_at: datetime
    subnets: tuple[Subnet, ...] = ()
    allocations: dict[str, Allocation] = {}  # owner -> its address
    deleted: bool = False

    @property
    def bridge(self) -> str:
        return bridge(self.number)

    def subnet(self, subnet_id: str) -> Subnet:
        found = next((s for s in self.subnets if s.id == subnet_id), None)
        if found is None:
            raise NotFound(f"Subnet {subnet_id} could not be found.")
        return found

    def used(self, subnet_id: str) -> set[str]:
        return {a.ip for a in self.allocations.values() if a.subnet_id == subnet_id}


def evolve(state: Network | None, event: AnyNetworkEvent, network_id: str) -> Network:
    if not isinstance(event, AnyNetworkEvent):
        raise UnknownEvent(event, "network")
    if isinstance(event, NetworkCreated):
        return Network(id=network_id, project_id=event.project_id, name=event.name,
                       number=event.number, external=event.external, shared=event.shared,
                       admin_state_up=event.admin_state_up, mtu=event.mtu,
                       created_at=event.at, updated_at=event.at)
    assert state is not None, f"{type(event).__name__} before NetworkCreated"
    match event:
        case NetworkUpdated():
            return msgspec.structs.replace(
                state, name=event.name, admin_state_up=event.admin_state_up,
                shared=event.shared, external=event.external, updated_at=event.at)
        case NetworkDeleted():
            return msgspec.structs.replace(state, deleted=True, updated_at=event.at)
        case SubnetAdded():
            return msgspec.structs.replace(state, subnets=(*state.subnets, event.subnet),
                                           updated_at=event.at)
        case SubnetRemoved():
            return msgspec.structs.replace(
                state, subnets=tuple(s for s in state.subnets if s.id != event.subnet_id),
                updated_at=event.at)
        case AddressAllocated():
            return msgspec.structs.replace(state, allocations={
                **state.allocations,
                event.owner: Allocation(event.subnet_id, event.ip, event.mac)})
        case AddressReleased():
            return msgspec.structs.replace(state, allocations={
                k: v for k, v in state.allocations.items() if k != event.owner})
        case _:
            unknown_event(event, "network")


# --- decisions -----------------------------------------------------------------------

def existing(state: Network | None, network_id: str, project_id: str | None = None) -> Network:
    """The network, if it exists and ``project_id`` (None: an admin) may see it."""
    if (state is None or state.deleted or (
            project_id is not None and not state.shared and not state.external
            and state.project_id != project_id)):
        raise NotFound(f"Network {network_id} could not be found.")
    return state


def _name(name: str) -> str:
    if len(name) > 255:
        raise InvalidInput(f"Invalid input for name. Reason: '{name[:20]}...' exceeds"
                           " maximum length of 255.")
    return name


def create(fabric: Fabric | None, *, network_id: str, request_id: str, project_id: str,
           name: str, external: bool = False, shared: bool = False,
           admin_state_up: bool = True, mtu: int = 1500,
           at: datetime) -> tuple[NetworkNumbered, NetworkCreated]:
    """A new network, numbered by the fabric (its bridge and segment)."""
    if not 68 <= mtu <= 9000:
        raise InvalidInput(f"Invalid input for mtu. Reason: '{mtu}' is not in range 68..9000.")
    number = (fabric or Fabric()).next_number
    return (NetworkNumbered(at=at, network_id=network_id, number=number),
            NetworkCreated(at=at, request_id=request_id, project_id=project_id,
                           name=_name(name), number=number, external=external,
                           shared=shared, admin_state_up=admin_state_up, mtu=mtu))


def update(state: Network, *, request_id: str, at: datetime, name: str | None = None,
           admin_state_up: bool | None = None, shared: bool | None = None,
           external: bool | None = None) -> NetworkUpdated:
    return NetworkUpdated(
        at=at, request_id=request_id,
        name=state.name if name is None else _name(name),
        admin_state_up=state.admin_state_up if admin_state_up is None else admin_state_up,
        shared=state.shared if shared is None else shared,
        external=state.external if external is None else external)


def delete(state: Network, *, request_id: str, at: datetime) -> tuple[
        NetworkDeleted, NetworkUnnumbered, list[CidrReleased]]:
    """Refused while a port or floating IP holds an address on it (Neutron's NetworkInUse)."""
    if state.allocations:
        raise Conflict(f"Unable to complete operation on network {state.id}. There are one"
                       " or more ports still in use on the network.")
    return (NetworkDeleted(at=at, request_id=request_id),
            NetworkUnnumbered(at=at, network_id=state.id),
            [CidrReleased(at=at, network_id=state.id, subnet_id=s.id) for s in state.subnets])


def _address(text: str, what: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        raise InvalidInput(f"Invalid input for {what}. Reason: '{text}' is not a valid IP"
                           " address.") from None


def _pools(net: ipaddress.IPv4Network, gateway: ipaddress.IPv4Address | None,
           pools: list[tuple[str, str]] | None) -> tuple[Pool, ...]:
    if not pools:  # Neutron's default: the whole range but the gateway
        hosts = [h for h in net.hosts() if h != gateway]
        if not hosts:
            raise InvalidInput(f"Invalid input for cidr. Reason: {net} has no room for"
                               " addresses.")
        # contiguous runs around the gateway
        runs: list[Pool] = []
        start = prev = hosts[0]
        for h in hosts[1:]:
            if int(h) != int(prev) + 1:
                runs.append(Pool(str(start), str(prev)))
                start = h
            prev = h
        runs.append(Pool(str(start), str(prev)))
        return tuple(runs)
    found: list[Pool] = []
    for first, last in pools:
        a, b = _address(first, "allocation_pools"), _address(last, "allocation_pools")
        if a not in net or b not in net or int(a) > int(b):
            raise InvalidInput(f"The allocation pool {first}-{last} spans beyond the subnet"
                               f" cidr {net}.")
        if gateway is not None and int(a) <= int(gateway) <= int(b):
            raise Conflict(f"Gateway ip {gateway} conflicts with allocation pool"
                           f" {first}-{last}.")
        found.append(Pool(str(a), str(b)))
    ordered = sorted(found, key=lambda p: int(ipaddress.IPv4Address(p.start)))
    for left, right in itertools.pairwise(ordered):
        if int(ipaddress.IPv4Address(right.start)) <= int(ipaddress.IPv4Address(left.end)):
            raise InvalidInput(f"Found overlapping allocation pools: {left.start}-{left.end}"
                               f" and {right.start}-{right.end}.")
    return tuple(ordered)


def add_subnet(state: Network, fabric: Fabric | None, *, subnet_id: str, request_id: str,
               project_id: str, name: str, cidr: str, gateway_ip: str | bool | None = True,
               allocation_pools: list[tuple[str, str]] | None = None,
               enable_dhcp: bool = True, dns_nameservers: list[str] | None = None,
               at: datetime) -> tuple[SubnetAdded, CidrClaimed]:
    """A subnet of ``state``; ``gateway_ip`` True picks the first address, None has none.
    Refused when its range overlaps any subnet of the cloud."""
    try:
        net = ipaddress.IPv4Network(cidr, strict=True)
    except ValueError as error:
        raise InvalidInput(f"Invalid input for cidr. Reason: '{cidr}' is not a valid IPv4"
                           f" subnet ({error}).") from None
    if net.prefixlen > 30:
        raise InvalidInput(f"Invalid input for cidr. Reason: {cidr} is too small: a subnet"
                           " needs a /30 or larger.")
    for other_id, other in (fabric or Fabric()).cidrs.items():
        if net.overlaps(ipaddress.IPv4Network(other)):
            raise InvalidInput(f"Invalid input for operation: Requested subnet with cidr:"
                               f" {cidr} for network: {state.id} overlaps with another"
                               f" subnet ({other_id}, {other}).")
    gateway: ipaddress.IPv4Address | None
    if gateway_ip is True:
        gateway = next(net.hosts())
    elif gateway_ip is None or gateway_ip is False:
        gateway = None
    else:
        gateway = _address(str(gateway_ip), "gateway_ip")
        if gateway not in net or gateway in (net.network_address, net.broadcast_address):
            raise InvalidInput(f"Invalid input for gateway_ip. Reason: {gateway} is not a"
                               f" host address of {cidr}.")
    for server in dns_nameservers or []:
        _address(server, "dns_nameservers")
    subnet = Subnet(id=subnet_id, name=_name(name), cidr=str(net),
                    gateway_ip=str(gateway) if gateway else None,
                    allocation_pools=_pools(net, gateway, allocation_pools),
                    enable_dhcp=enable_dhcp, dns_nameservers=tuple(dns_nameservers or ()),
                    project_id=project_id, created_at=at)
    return (SubnetAdded(at=at, request_id=request_id, subnet=subnet),
            CidrClaimed(at=at, network_id=state.id, subnet_id=subnet_id, cidr=str(net)))


def remove_subnet(state: Network, subnet_id: str, *, request_id: str,
                  at: datetime) -> tuple[SubnetRemoved, CidrReleased]:
    state.subnet(subnet_id)
    if any(a.subnet_id == subnet_id for a in state.allocations.values()):
        raise Conflict(f"Unable to complete operation on subnet {subnet_id}: One or more"
                       " ports have an IP allocation from this subnet.")
    return (SubnetRemoved(at=at, request_id=request_id, subnet_id=subnet_id),
            CidrReleased(at=at, network_id=state.id, subnet_id=subnet_id))


def _free(subnet: Subnet, used: set[str]) -> str | None:
    for pool in subnet.allocation_pools:
        first = int(ipaddress.IPv4Address(pool.start))
        last = int(ipaddress.IPv4Address(pool.end))
        for value in range(first, last + 1):
            ip = str(ipaddress.IPv4Address(value))
            if ip not in used:
                return ip
    return None


def allocate(state: Network, *, owner: str, request_id: str, at: datetime,
             subnet_id: str | None = None, ip: str | None = None,
             mac: str | None = None, gateway: bool = False) -> AddressAllocated:
    """An address for ``owner``: ``ip`` if given and free, else the first free one of
    ``subnet_id`` (or of the network's first subnet with room). Refused when taken,
    outside the subnet, or when the network is full (Neutron's IpAddressGenerationFailure).
    Only a router's interface (``gateway``) may hold the subnet's gateway address."""
    if owner in state.allocations:
        raise InvalidState(f"{owner} already holds an address on network {state.id}.")
    if mac is not None and any(a.mac == mac for a in state.allocations.values()):
        raise Conflict(f"Unable to complete operation for network {state.id}. The mac"
                       f" address {mac} is in use.")
    if not state.subnets:
        raise InvalidInput(f"Network {state.id} has no subnet to allocate an address from.")
    if ip is not None:
        wanted = _address(ip, "fixed_ips")
        candidates = [s for s in state.subnets if (subnet_id is None or s.id == subnet_id)
                      and wanted in ipaddress.IPv4Network(s.cidr)]
        if not candidates:
            raise InvalidInput(f"IP address {ip} is not a valid IP for the specified subnet.")
        subnet = candidates[0]
        net = ipaddress.IPv4Network(subnet.cidr)
        if wanted in (net.network_address, net.broadcast_address) or (
                ip == subnet.gateway_ip and not gateway):
            raise InvalidInput(f"IP address {ip} is not a valid IP for the specified subnet.")
        if ip in state.used(subnet.id):
            raise Conflict(f"Unable to complete operation for network {state.id}. The IP"
                           f" address {ip} is in use.")
        return AddressAllocated(at=at, request_id=request_id, subnet_id=subnet.id, ip=ip,
                                owner=owner, mac=mac)
    subnets = [state.subnet(subnet_id)] if subnet_id else list(state.subnets)
    for subnet in subnets:
        free = _free(subnet, state.used(subnet.id))
        if free is not None:
            return AddressAllocated(at=at, request_id=request_id, subnet_id=subnet.id,
                                    ip=free, owner=owner, mac=mac)
    raise Conflict(f"No more IP addresses available on network {state.id}.")


def release(state: Network, owner: str, *, request_id: str,
            at: datetime) -> AddressReleased | None:
    """The address ``owner`` held, given back (nothing when it held none)."""
    if owner not in state.allocations:
        return None
    return AddressReleased(at=at, request_id=request_id, owner=owner)


def mac_of(port_id: uuid.UUID) -> str:
    """A port's MAC in OpenStack's fa:16:3e prefix, from its id (deterministic)."""
    tail = port_id.bytes[-3:]
    return "fa:16:3e:" + ":".join(f"{b:02x}" for b in tail)
