"""The network host's links, through pyroute2 inside the host's namespace.

Why this exists: nova-network's Linux bridge driver made, per network, a bridge
holding the gateway address and the instances' interfaces. Here, inside one
network namespace: a bridge per network (the plan's name, the gateway/prefix,
up); per port a veth pair whose host end (the plan's ``device``) is enslaved
to the bridge and whose guest end ("tap…" → "vm…", carrying the port's MAC)
stands for the instance's NIC until something moves it into the instance
(re-applying never recreates a pair whose guest end was moved away); per
segmented network a segment link on the bridge; the public bridge ``brpub``
holding the public gateway and each floating IP as a /32.

Segments: the vlan manager gives each project its own segment. Where the
kernel has 8021q that is a VLAN interface on the underlay; this machine's
kernel has no 8021q (``NetlinkError 95``), so there the segment is a vxlan
link whose VNI is the segment id. The first segment link tries a VLAN once
(when an underlay interface is configured), falls back to vxlan, and logs
which is in use.

Every link made here carries an ``ifalias`` starting with ``nimbus:``; links
without it (an uplink somebody enslaved to ``brpub``, the underlay) are left
alone, and ours that the plan no longer names are deleted. Everything is read
back from the kernel, so a crash half-way converges on the next apply without
a duplicate address or link.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from pyroute2 import NetNS, netns
from pyroute2.netlink.exceptions import NetlinkError

from workers.network import namespace
from workers.network.plan import PUBLIC_BRIDGE, HostPlan, guest_device, prefix_length
from workers.network.port import NetworkHostError

log = logging.getLogger(__name__)

ALIAS = "nimbus:"
IFF_UP = 1
VXLAN_PORT = 4789
MAX_VLAN_ID = 4094
PROBE = "nimbusprobe"  # the throwaway VLAN link of the 8021q probe


def ensure_namespace(name: str) -> bool:
    """Create the namespace unless it exists; True when it was created."""
    if namespace.exists(name):
        return False
    netns.create(name)
    return True


def remove_namespace(name: str) -> None:
    """Delete the namespace: the kernel frees every link, address and rule in it."""
    if namespace.exists(name):
        netns.remove(name)


@dataclass
class _Link:
    index: int
    name: str
    kind: str | None
    alias: str
    master: int | None
    up: bool
    mac: str
    vni: int | None


@dataclass
class _Wanted:
    """The links one plan asks for, by name and role."""

    bridges: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # name -> addrs
    segments: dict[str, tuple[str, int]] = field(default_factory=dict)  # bridge -> (kind, id)
    ports: dict[str, tuple[str, str]] = field(default_factory=dict)  # device -> (bridge, mac)


def wanted(plan: HostPlan) -> _Wanted:
    want = _Wanted()
    bridges = {n.network_id: n.bridge for n in plan.networks}
    for network in plan.networks:
        want.bridges[network.bridge] = [(network.gateway, prefix_length(network.cidr))]
    if plan.public_cidr is not None and plan.public_gateway is not None:
        want.bridges[PUBLIC_BRIDGE] = [(plan.public_gateway, prefix_length(plan.public_cidr)),
                                       *((f.floating_ip, 32) for f in plan.floating)]
    for port in plan.ports:
        want.ports[port.device] = (bridges[port.network_id], port.mac.lower())
    return want


class Links:
    """The links of one namespace, reconciled with a plan."""

    def __init__(self, namespace_name: str, underlay: str | None = None) -> None:
        self.namespace = namespace_name
        self.underlay = underlay
        self.segment_kind: str | None = None  # "vlan" or "vxlan", once the first is made

    def reconcile(self, plan: HostPlan) -> bool:
        """Make the namespace's links match the plan; True when anything changed."""
        want = wanted(plan)
        segments = {n.bridge: n.segment for n in plan.networks if n.segment is not None}
        with self._netns() as ip:
            changed = self._bridges(ip, want)
            changed |= self._segments(ip, segments)
            changed |= self._ports(ip, want)
            changed |= self._remove_unwanted(ip, want, segments)
        return changed

    def drift(self, plan: HostPlan) -> list[str]:
        """How the namespace's links differ from the plan (read only); [] when they
        match. Segment links are checked by their master only, whatever their kind."""
        want = wanted(plan)
        found = []
        with self._netns() as ip:
            links = _links(ip)
            for name, addresses_wanted in want.bridges.items():
                bridge = links.get(name)
                if bridge is None or not bridge.up:
                    found.append(f"bridge {name} is missing or down")
                    continue
                present = {(a.get("address"), a["prefixlen"])
                           for a in ip.get_addr(family=2, index=bridge.index)}
                if present != set(addresses_wanted):
                    found.append(f"bridge {name} has {sorted(present)}")
            for device, (bridge_name, _) in want.ports.items():
                port, bridge = links.get(device), links.get(bridge_name)
                if port is None or bridge is None or port.master != bridge.index or not port.up:
                    found.append(f"port {device} is missing, down or off {bridge_name}")
            for network in plan.networks:
                if network.segment is not None and not any(
                        link.alias == ALIAS + "segment" and link.master is not None
                        and link.master == getattr(links.get(network.bridge), "index", None)
                        for link in links.values()):
                    found.append(f"bridge {network.bridge} lacks its segment link")
            keep = set(want.bridges) | set(want.ports) | {guest_device(d) for d in want.ports}
            found += [f"{link.name} is no longer planned" for link in links.values()
                      if link.alias.startswith(ALIAS) and link.name not in keep
                      and link.alias != ALIAS + "segment"]
        return found

    @contextmanager
    def _netns(self) -> Iterator[NetNS]:
        try:
            ip = NetNS(self.namespace, flags=0)  # never creates the namespace
        except FileNotFoundError as error:
            raise NetworkHostError(f"network namespace {self.namespace!r} is missing") from error
        try:
            yield ip
        except NetlinkError as error:
            raise NetworkHostError(f"netlink in {self.namespace}: {error}") from error
        finally:
            ip.close()

    def _bridges(self, ip: NetNS, want: _Wanted) -> bool:
        changed = False
        links = _links(ip)
        for name, addresses in want.bridges.items():
            link = links.get(name)
            if link is None:
                ip.link("add", ifname=name, kind="bridge")
                link = _links(ip)[name]
                ip.link("set", index=link.index, ifalias=ALIAS + "bridge")
                changed = True
            elif link.kind != "bridge":
                raise NetworkHostError(f"{name} in {self.namespace} is a {link.kind}, not a bridge")
            if not link.up:
                ip.link("set", index=link.index, state="up")
                changed = True
            changed |= _addresses(ip, link.index, set(addresses))
        return changed

    def _segments(self, ip: NetNS, segments: dict[str, int]) -> bool:
        changed = False
        for bridge, segment in segments.items():
            links = _links(ip)
            master = links[bridge].index
            kind = self._kind_for(ip, segment)
            name = f"vlan{segment}" if kind == "vlan" else f"vx{segment}"
            link = links.get(name)
            stale = link is not None and (
                link.kind != kind or (kind == "vxlan" and link.vni != segment))
            if link is not None and stale:
                ip.link("del", index=link.index)
                link = None
            if link is None:
                underlay = self._underlay_index(ip)
                if kind == "vlan":
                    ip.link("add", ifname=name, kind="vlan", link=underlay, vlan_id=segment)
                elif underlay is not None:
                    ip.link("add", ifname=name, kind="vxlan", vxlan_id=segment,
                            vxlan_port=VXLAN_PORT, vxlan_link=underlay)
                else:
                    ip.link("add", ifname=name, kind="vxlan", vxlan_id=segment,
                            vxlan_port=VXLAN_PORT)
                link = _links(ip)[name]
                ip.link("set", index=link.index, ifalias=ALIAS + "segment")
                changed = True
            if link.master != master or not link.up:
                ip.link("set", index=link.index, master=master, state="up")
                changed = True
        return changed

    def _kind_for(self, ip: NetNS, segment: int) -> str:
        if self.segment_kind is None:
            self.segment_kind = self._probe_vlan(ip)
        return "vlan" if self.segment_kind == "vlan" and segment <= MAX_VLAN_ID else "vxlan"

    def _probe_vlan(self, ip: NetNS) -> str:
        """Try a VLAN link on the underlay once: "vlan" where the kernel has
        8021q, else "vxlan" (this machine's kernel: EOPNOTSUPP)."""
        underlay = self._underlay_index(ip)
        if underlay is None:
            log.info("network host %s: no underlay interface, so segments are vxlan VNIs",
                     self.namespace)
            return "vxlan"
        try:
            ip.link("add", ifname=PROBE, kind="vlan", link=underlay, vlan_id=MAX_VLAN_ID)
        except NetlinkError as error:
            if error.code != errno.EOPNOTSUPP:
                raise
            log.warning("network host %s: this kernel has no 8021q (a VLAN link: %s);"
                        " segments are vxlan VNIs", self.namespace, error)
            return "vxlan"
        ip.link("del", index=ip.link_lookup(ifname=PROBE)[0])
        log.info("network host %s: segments are VLANs on %s", self.namespace, self.underlay)
        return "vlan"

    def _underlay_index(self, ip: NetNS) -> int | None:
        if self.underlay is None:
            return None
        found = ip.link_lookup(ifname=self.underlay)
        if not found:
            raise NetworkHostError(f"underlay {self.underlay} is not in {self.namespace}")
        return int(found[0])

    def _ports(self, ip: NetNS, want: _Wanted) -> bool:
        changed = False
        links = _links(ip)
        for device, (bridge, mac) in want.ports.items():
            guest = guest_device(device)
            link = links.get(device)
            if link is None:
                if guest in links:  # half a pair from an interrupted apply
                    ip.link("del", index=links[guest].index)
                ip.link("add", ifname=device, kind="veth", peer={"ifname": guest, "address": mac})
                links = _links(ip)
                link = links[device]
                ip.link("set", index=link.index, ifalias=ALIAS + "port")
                ip.link("set", index=links[guest].index, ifalias=ALIAS + "guest")
                changed = True
            elif guest in links and links[guest].mac != mac:
                ip.link("set", index=links[guest].index, address=mac)
                changed = True
            master = links[bridge].index
            if link.master != master or not link.up:
                ip.link("set", index=link.index, master=master, state="up")
                changed = True
        return changed

    def _remove_unwanted(self, ip: NetNS, want: _Wanted, segments: dict[str, int]) -> bool:
        keep = set(want.bridges) | set(want.ports) | {guest_device(d) for d in want.ports}
        keep |= {name for s in segments.values() for name in (f"vlan{s}", f"vx{s}")}
        changed = False
        for link in _links(ip).values():
            if link.alias.startswith(ALIAS) and link.name not in keep:
                try:
                    ip.link("del", index=link.index)
                except NetlinkError as error:
                    if error.code != errno.ENODEV:  # gone with its veth peer
                        raise
                changed = True
        return changed


def _links(ip: NetNS) -> dict[str, _Link]:
    found = {}
    for message in ip.get_links():
        name = message.get("ifname")
        found[name] = _Link(
            index=message["index"], name=name,
            kind=message.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND"),
            alias=message.get("ifalias") or "", master=message.get("master"),
            up=bool(message["flags"] & IFF_UP), mac=(message.get("address") or "").lower(),
            vni=message.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA", "IFLA_VXLAN_ID"))
    return found


def _addresses(ip: NetNS, index: int, wanted_addresses: set[tuple[str, int]]) -> bool:
    """Exactly ``wanted_addresses`` (IPv4) on the link; True when any was added or removed."""
    present = {(a.get("address"), a["prefixlen"]) for a in ip.get_addr(family=2, index=index)}
    for address, prefix in sorted(wanted_addresses - present):
        ip.addr("add", index=index, address=address, prefixlen=prefix)
    for address, prefix in sorted(present - wanted_addresses):
        ip.addr("del", index=index, address=address, prefixlen=prefix)
    return present != wanted_addresses


def addresses(namespace_name: str, device: str) -> list[str]:
    """The IPv4 addresses on a link of the namespace, as "a.b.c.d/n" (for reading back)."""
    with NetNS(namespace_name, flags=0) as ip:
        found = ip.link_lookup(ifname=device)
        if not found:
            return []
        return sorted(f"{a.get('address')}/{a['prefixlen']}"
                      for a in ip.get_addr(family=2, index=found[0]))
