"""What one network host must render: the whole desired state, as data.

The network worker builds a ``HostPlan`` from the log (workers/network/
planner.py) and hands it to a ``NetworkHost`` (workers/network/port.py),
which makes the host match it. Plans are whole, not deltas, so applying one
is level-based: the same plan twice changes nothing, and a host that lost
its state (a restart, a crash between rendering and reporting) converges by
applying the current plan once.
"""

from __future__ import annotations

import hashlib

import msgspec


class DhcpHost(msgspec.Struct, frozen=True, kw_only=True):
    mac: str
    ip: str
    hostname: str


class NetworkPlan(msgspec.Struct, frozen=True, kw_only=True):
    network_id: str
    bridge: str  # br100 ...
    cidr: str
    gateway: str
    dhcp: bool
    dns_servers: list[str] = []
    hosts: list[DhcpHost] = []
    # the vlan manager's per-project segment: a VLAN id where the kernel has
    # 8021q; on a kernel without it (this one), a vxlan VNI of the same number
    segment: int | None = None


class Rule(msgspec.Struct, frozen=True, kw_only=True):
    direction: str  # ingress | egress
    protocol: str | None = None  # tcp | udp | icmp | None: any
    port_min: int | None = None
    port_max: int | None = None
    remote_cidr: str | None = None  # None: anywhere


class PortPlan(msgspec.Struct, frozen=True, kw_only=True):
    port_id: str
    network_id: str
    mac: str
    ip: str
    device: str  # the host side's name (<= 15 characters)
    # None: no security group, everything passes; []: nothing in but replies and DHCP
    rules: list[Rule] | None = None


class Floating(msgspec.Struct, frozen=True, kw_only=True):
    floating_ip: str
    fixed_ip: str


class HostPlan(msgspec.Struct, frozen=True, kw_only=True):
    position: int  # the log position this plan reflects
    networks: list[NetworkPlan]
    ports: list[PortPlan]
    floating: list[Floating] = []
    public_cidr: str | None = None  # the external network's range
    public_gateway: str | None = None  # this host's address on it
    metadata: str | None = None  # host:port that 169.254.169.254:80 is sent to


class Applied(msgspec.Struct, frozen=True, kw_only=True):
    position: int
    digest: str
    changed: bool


def _canonical(plan: HostPlan) -> HostPlan:
    """The plan with every list in one order, its position left out (a plan
    is what it renders, not when it was made)."""
    networks = sorted((msgspec.structs.replace(n, hosts=sorted(n.hosts, key=lambda h: h.mac))
                       for n in plan.networks), key=lambda n: n.network_id)
    ports = sorted((p if p.rules is None else msgspec.structs.replace(
        p, rules=sorted(p.rules, key=msgspec.json.encode)) for p in plan.ports),
        key=lambda p: p.port_id)
    floating = sorted(plan.floating, key=lambda f: f.floating_ip)
    return msgspec.structs.replace(plan, position=0, networks=networks, ports=ports,
                                   floating=floating)


def digest(plan: HostPlan) -> str:
    """sha256 of the canonical plan: equal for plans that render the same."""
    return hashlib.sha256(msgspec.json.encode(_canonical(plan))).hexdigest()
