"""The network host's plan, from the states the log's events fold into.

Pure: given the networks, ports, floating IPs and security groups as the
domain folds them, what one network host must render (workers/network/plan.py).
As nova-network's single network host, it serves every fixed network: a
bridge and (with DHCP on) a dnsmasq per network, the servers' ports on them,
one external network as the public side, the floating IPs' NAT, and each
port's security groups as filter rules (a rule naming a remote group becomes
one rule per address of that group's ports).

Weaker than Neutron, said plainly: a network's first subnet is the one
rendered; IPv6 rules are left out (the fixed networks are IPv4).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from domain import floating_ip as fip_model
from domain import network as net_model
from domain import port as port_model
from domain import security_group as sg_model
from workers.network.plan import DhcpHost, Floating, HostPlan, NetworkPlan, PortPlan, Rule


def device(port_id: str) -> str:
    """The host side of a port's interface: ``tap`` + 11 characters of its id, as Neutron."""
    return f"tap{port_id[:11]}"


def hostname(ip: str) -> str:
    """The DHCP name of an address (Neutron's dnsmasq default): host-10-0-0-3."""
    return "host-" + ip.replace(".", "-")


def _rules(port: port_model.Port, groups: Mapping[str, sg_model.SecurityGroup],
           members: Mapping[str, list[str]]) -> list[Rule] | None:
    if not port.security_groups:
        return None
    rules: list[Rule] = []
    for group_id in port.security_groups:
        group = groups.get(group_id)
        if group is None or group.deleted:
            continue
        for rule in group.rules:
            if rule.ethertype != "IPv4":
                continue
            remotes: list[str | None]
            if rule.remote_group_id is not None:
                remotes = [f"{ip}/32" for ip in members.get(rule.remote_group_id, [])]
            else:
                remotes = [rule.remote_ip_prefix]
            rules += [Rule(direction=rule.direction, protocol=rule.protocol,
                           port_min=rule.port_range_min, port_max=rule.port_range_max,
                           remote_cidr=remote) for remote in remotes]
    return rules


def plan(*, position: int, networks: Mapping[str, net_model.Network],
         ports: Mapping[str, port_model.Port], floating: Mapping[str, fip_model.FloatingIp],
         groups: Mapping[str, sg_model.SecurityGroup], manager: str = "flatdhcp",
         vlan_start: int = 100, metadata_port: int | None = None) -> HostPlan:
    """What the network host renders for these states (``manager``: the seed's
    ``network_manager``; ``flat`` hands out no DHCP leases). With
    ``metadata_port``, 169.254.169.254:80 goes to the metadata proxy there on
    the first network's gateway."""
    live = {i: p for i, p in ports.items() if not p.deleted and p.fixed_ips}
    servers = {i: p for i, p in live.items() if p.device_owner == port_model.SERVER_OWNER}
    members: dict[str, list[str]] = {}
    for port in live.values():
        for group in port.security_groups:
            members.setdefault(group, []).extend(f.ip_address for f in port.fixed_ips)
    rendered: list[NetworkPlan] = []
    public: net_model.Subnet | None = None
    for network in sorted(networks.values(), key=lambda n: n.number):
        if network.deleted or not network.subnets:
            continue
        subnet = network.subnets[0]
        if network.external:
            public = public or subnet
            continue
        if subnet.gateway_ip is None:
            continue  # nothing to route by
        hosts = [DhcpHost(mac=p.mac_address, ip=p.fixed_ips[0].ip_address,
                          hostname=hostname(p.fixed_ips[0].ip_address))
                 for p in servers.values() if p.network_id == network.id]
        rendered.append(NetworkPlan(
            network_id=network.id, bridge=network.bridge, cidr=subnet.cidr,
            gateway=subnet.gateway_ip, dhcp=subnet.enable_dhcp and manager != "flat",
            dns_servers=list(subnet.dns_nameservers), hosts=hosts,
            segment=vlan_start + network.number if manager == "vlan" else None))
    on = {n.network_id: ipaddress.IPv4Network(n.cidr) for n in rendered}
    port_plans = [
        PortPlan(port_id=p.id, network_id=p.network_id, mac=p.mac_address,
                 ip=p.fixed_ips[0].ip_address, device=device(p.id),
                 rules=_rules(p, groups, members))
        for p in servers.values()
        if p.network_id in on and ipaddress.IPv4Address(p.fixed_ips[0].ip_address)
        in on[p.network_id]]
    pointed = [Floating(floating_ip=f.floating_ip_address, fixed_ip=f.fixed_ip_address)
               for f in floating.values()
               if not f.deleted and f.port_id in servers and f.fixed_ip_address]
    return HostPlan(position=position, networks=rendered, ports=port_plans,
                    floating=pointed if public else [],
                    public_cidr=public.cidr if public else None,
                    public_gateway=public.gateway_ip if public else None,
                    metadata=f"{rendered[0].gateway}:{metadata_port}"
                    if rendered and metadata_port else None)
