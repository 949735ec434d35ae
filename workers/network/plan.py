"""The whole desired state of one network host, as the control plane sends it.

Why this exists: the network worker is level-based. It is never told "add this
port"; it is given everything one network host should render (its bridges,
ports, DHCP hosts, floating IPs, security groups, metadata redirect) and makes
the host match. These Structs are that contract, shared by the control plane
(which builds them from the views) and the adapters (which render them), so
their names and fields are kept as they are.

``digest`` names a plan's content: two plans that differ only in list order
or in the log position they were built at have one digest, so a host that
already rendered a plan does nothing when the same content comes again.
Everything else here is pure arithmetic on plans, shared by the fake and the
real adapter: the checks that make a plan illegal, and the names and numbers
the renderers derive (guest device names, netmasks, the first DHCP address).
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import re
from collections import Counter
from collections.abc import Sequence

import msgspec


class DhcpHost(msgspec.Struct, frozen=True, kw_only=True):
    """A static lease: dnsmasq hands ``ip`` (and ``hostname``) to ``mac`` only."""

    mac: str
    ip: str
    hostname: str


class NetworkPlan(msgspec.Struct, frozen=True, kw_only=True):
    network_id: str
    bridge: str  # "br100"
    cidr: str  # "10.0.0.0/24"
    gateway: str  # "10.0.0.1": the host's address on the bridge, dnsmasq listens there
    dhcp: bool
    dns_servers: list[str] = []  # DHCP option 6, in the order given (resolver preference)
    hosts: list[DhcpHost] = []
    # The vlan manager's per-project segment. Where the kernel has 8021q it is a
    # VLAN id on the adapter's underlay interface; this machine's kernel has no
    # 8021q, so there it is the VNI of a vxlan link enslaved to the bridge.
    segment: int | None = None


class Rule(msgspec.Struct, frozen=True, kw_only=True):
    """One allow rule of a security group, IPv4 only (the planner leaves IPv6
    rules out)."""

    direction: str  # "ingress" | "egress"
    protocol: str | None = None  # "tcp" | "udp" | "icmp" | None (any)
    port_min: int | None = None  # tcp/udp: first port; icmp: the type
    port_max: int | None = None  # tcp/udp: last port; icmp: the code
    remote_cidr: str | None = None  # None: anywhere


class PortPlan(msgspec.Struct, frozen=True, kw_only=True):
    port_id: str
    network_id: str
    mac: str
    ip: str
    device: str  # the host-side name, <= 15 characters: "tap" + port_id[:11]
    # None: no security group, everything allowed. A list: per direction only
    # what a rule allows passes (so [] lets nothing in but replies and DHCP).
    rules: list[Rule] | None = None


class Floating(msgspec.Struct, frozen=True, kw_only=True):
    floating_ip: str
    fixed_ip: str


class HostPlan(msgspec.Struct, frozen=True, kw_only=True):
    position: int  # the log position this plan reflects
    networks: list[NetworkPlan]
    ports: list[PortPlan]
    floating: list[Floating] = []
    public_cidr: str | None = None  # "172.24.4.0/24", the external network's
    public_gateway: str | None = None  # the host's address on it: "172.24.4.1"
    metadata: str | None = None  # "10.0.0.1:8775": where 169.254.169.254:80 goes


class Applied(msgspec.Struct, frozen=True, kw_only=True):
    position: int
    digest: str  # sha256 of the canonical plan as rendered
    changed: bool  # whether this apply altered anything on the host


PUBLIC_BRIDGE = "brpub"
MAX_DEVICE = 15  # IFNAMSIZ - 1
PROTOCOLS = (None, "tcp", "udp", "icmp")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")  # safe as a link name and in an nft chain name


def canonical(plan: HostPlan) -> HostPlan:
    """The plan with its set-like lists sorted and its position zeroed: what is
    hashed and what is recorded as rendered. DNS servers keep their order,
    which is the resolvers' preference."""
    networks = sorted(
        (msgspec.structs.replace(n, hosts=sorted(n.hosts, key=lambda h: (h.mac, h.ip)))
         for n in plan.networks),
        key=lambda n: n.network_id)
    ports = sorted(
        (p if p.rules is None else msgspec.structs.replace(p, rules=sorted(p.rules, key=_rule_key))
         for p in plan.ports),
        key=lambda p: p.port_id)
    floating = sorted(plan.floating, key=lambda f: (f.floating_ip, f.fixed_ip))
    return msgspec.structs.replace(plan, position=0, networks=networks, ports=ports,
                                   floating=floating)


def _rule_key(rule: Rule) -> tuple[str, str, int, int, str]:
    return (rule.direction, rule.protocol or "", -1 if rule.port_min is None else rule.port_min,
            -1 if rule.port_max is None else rule.port_max, rule.remote_cidr or "")


def encode(plan: HostPlan) -> bytes:
    """The canonical plan's bytes (msgspec encodes fields in declaration order)."""
    return msgspec.json.encode(canonical(plan))


def digest(plan: HostPlan) -> str:
    """sha256 of the canonical plan: order and position do not change it."""
    return hashlib.sha256(encode(plan)).hexdigest()


def guest_device(device: str) -> str:
    """The guest end of a port's veth pair: "tap…" becomes "vm…"."""
    return ("vm" + device.removeprefix("tap"))[:MAX_DEVICE]


def prefix_length(cidr: str) -> int:
    return ipaddress.ip_network(cidr, strict=False).prefixlen


def netmask(cidr: str) -> str:
    return str(ipaddress.ip_network(cidr, strict=False).netmask)


def dhcp_start(network: NetworkPlan) -> str:
    """Where dnsmasq's static range starts: the first host address that is not
    the gateway (nova's ``dhcp_start``)."""
    hosts = ipaddress.ip_network(network.cidr, strict=False).hosts()
    return str(next(h for h in hosts if str(h) != network.gateway))


def problems(plan: HostPlan) -> list[str]:
    """Why a plan cannot be rendered; empty when it can. Nothing is rendered
    from a plan with problems, so only what cannot be rendered (or would make
    one port's traffic another's) is a problem: a DHCP host outside its range
    or a floating IP whose fixed IP no port has renders harmlessly."""
    found: list[str] = []
    networks = {n.network_id: n for n in plan.networks}
    found += _duplicates("network", [n.network_id for n in plan.networks])
    found += _duplicates("bridge", [n.bridge for n in plan.networks]
                         + ([PUBLIC_BRIDGE] if plan.public_cidr else []))
    found += _duplicates("port", [p.port_id for p in plan.ports])
    found += _duplicates("device", [p.device for p in plan.ports])
    found += _duplicates("segment", [n.segment for n in plan.networks if n.segment is not None])
    for network in plan.networks:
        found += _network_problems(network)
    found += _overlaps(plan)
    for port in plan.ports:
        found += _port_problems(port, networks.get(port.network_id))
    for network_id in networks:
        on_it = [p for p in plan.ports if p.network_id == network_id]
        found += _duplicates(f"IP on network {network_id}", [p.ip for p in on_it])
        found += _duplicates(f"MAC on network {network_id}", [p.mac.lower() for p in on_it])
    found += _duplicates("floating IP", [f.floating_ip for f in plan.floating])
    found += _duplicates("fixed IP with a floating IP", [f.fixed_ip for f in plan.floating])
    found += _public_problems(plan)
    if plan.metadata is not None and metadata_target(plan.metadata) is None:
        found.append(f"metadata {plan.metadata!r} is not IPv4-address:port")
    return found


def metadata_target(metadata: str) -> tuple[str, int] | None:
    """``"10.0.0.1:8775"`` as (address, port); None when it is not that shape."""
    address, _, port = metadata.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        return None
    if not _inside(address, ipaddress.IPv4Network("0.0.0.0/0")):
        return None
    return address, int(port)


def _duplicates(what: str, values: Sequence[object]) -> list[str]:
    twice = sorted(str(value) for value, count in Counter(values).items() if count > 1)
    return [f"{what} {value!r} appears more than once" for value in twice]


def _network_problems(network: NetworkPlan) -> list[str]:
    name = f"network {network.network_id}"
    try:
        cidr = ipaddress.IPv4Network(network.cidr, strict=False)
    except ValueError:
        return [f"{name}: cidr {network.cidr!r} is not an IPv4 network"]
    found = []
    if not (len(network.bridge) <= MAX_DEVICE and _NAME.fullmatch(network.bridge)):
        found.append(f"{name}: bridge name {network.bridge!r} is not 1-{MAX_DEVICE} letters,"
                     " digits, '_', '.' or '-' starting with a letter")
    if not _inside(network.gateway, cidr):
        found.append(f"{name}: gateway {network.gateway!r} is outside {network.cidr}")
    for host in network.hosts:  # one outside the range is simply never served
        if "," in host.hostname or "\n" in host.hostname:
            found.append(f"{name}: hostname {host.hostname!r} has a comma or newline")
    if network.segment is not None and not 0 < network.segment < 2**24:
        found.append(f"{name}: segment {network.segment} is not a VNI (1 to 2**24-1)")
    return found


def _overlaps(plan: HostPlan) -> list[str]:
    """Two networks of one host may not overlap: one namespace routes them all."""
    cidrs = []
    for network in plan.networks:
        with contextlib.suppress(ValueError):
            cidrs.append((network.network_id, ipaddress.IPv4Network(network.cidr, strict=False)))
    return [f"networks {a} and {b} overlap ({one} and {other})"
            for i, (a, one) in enumerate(cidrs) for b, other in cidrs[i + 1:]
            if one.overlaps(other)]


def _port_problems(port: PortPlan, network: NetworkPlan | None) -> list[str]:
    name = f"port {port.port_id}"
    if network is None:
        return [f"{name} is on network {port.network_id!r}, which the plan lacks"]
    found = []
    if not _inside(port.ip, ipaddress.IPv4Network(network.cidr, strict=False)):
        found.append(f"{name}: fixed IP {port.ip!r} is outside {network.cidr}")
    if not (3 < len(port.device) <= MAX_DEVICE and _NAME.fullmatch(port.device)):
        found.append(f"{name}: device {port.device!r} is not 4-{MAX_DEVICE} letters, digits,"
                     " '_', '.' or '-' starting with a letter")
    for rule in port.rules or []:
        found += [f"{name}: {problem}" for problem in _rule_problems(rule)]
    return found


def _rule_problems(rule: Rule) -> list[str]:
    found = []
    if rule.direction not in ("ingress", "egress"):
        found.append(f"rule direction {rule.direction!r} is not ingress or egress")
    if rule.protocol not in PROTOCOLS:
        found.append(f"rule protocol {rule.protocol!r} is not tcp, udp, icmp or any")
    limit = 255 if rule.protocol == "icmp" else 65535
    for bound in (rule.port_min, rule.port_max):
        if bound is not None and not 0 <= bound <= limit:
            found.append(f"rule port {bound} is outside 0-{limit}")
    if rule.protocol in ("tcp", "udp") and rule.port_min is None and rule.port_max is not None:
        found.append("rule has port_max without port_min")
    if (rule.protocol in ("tcp", "udp") and rule.port_min is not None
            and rule.port_max is not None and rule.port_min > rule.port_max):
        found.append(f"rule port range {rule.port_min}-{rule.port_max} is empty")
    if rule.protocol is None and (rule.port_min is not None or rule.port_max is not None):
        found.append("rule has ports but no protocol")
    if rule.remote_cidr is not None:
        try:
            ipaddress.IPv4Network(rule.remote_cidr, strict=False)
        except ValueError:
            found.append(f"rule remote_cidr {rule.remote_cidr!r} is not an IPv4 network")
    return found


def _public_problems(plan: HostPlan) -> list[str]:
    if plan.public_cidr is None:
        return [] if not plan.floating else ["floating IPs need a public_cidr"]
    try:
        public = ipaddress.IPv4Network(plan.public_cidr, strict=False)
    except ValueError:
        return [f"public_cidr {plan.public_cidr!r} is not an IPv4 network"]
    found = []
    if plan.public_gateway is None or not _inside(plan.public_gateway, public):
        found.append(f"public_gateway {plan.public_gateway!r} is outside {plan.public_cidr}")
    for floating in plan.floating:
        for address in (floating.floating_ip, floating.fixed_ip):
            if not _inside(address, ipaddress.IPv4Network("0.0.0.0/0")):
                found.append(f"floating IP pair has {address!r}, not an IPv4 address")
    return found


def is_ipv4(address: str) -> bool:
    return _inside(address, ipaddress.IPv4Network("0.0.0.0/0"))


def _inside(address: str, network: ipaddress.IPv4Network) -> bool:
    try:
        return ipaddress.IPv4Address(address) in network
    except ValueError:
        return False
