"""The network host's plan from folded states: what is rendered, and what is left out."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from domain import floating_ip as fips
from domain import network as nets
from domain import port as ports
from domain import security_group as groups
from workers.network import planner
from workers.network.plan import digest

AT = datetime(2026, 12, 1, tzinfo=UTC)


def network(network_id: str, number: int, cidr: str, *, external: bool = False,
            dhcp: bool = True) -> nets.Network:
    subnet = nets.Subnet(id=f"{network_id}-s", name="", cidr=cidr,
                         gateway_ip=cidr.rsplit(".", 1)[0] + ".1",
                         allocation_pools=(), enable_dhcp=dhcp, project_id="p",
                         created_at=AT)
    return nets.Network(id=network_id, project_id="p", name=network_id, number=number,
                        external=external, shared=False, admin_state_up=True, mtu=1500,
                        created_at=AT, updated_at=AT, subnets=(subnet,))


def port(port_id: str, ip: str, *, network_id: str = "n1", groups_: tuple[str, ...] = (),
         owner: str = ports.SERVER_OWNER, deleted: bool = False) -> ports.Port:
    return ports.Port(id=port_id, project_id="p", network_id=network_id, name="",
                      mac_address=f"fa:16:3e:00:00:{ip.rsplit('.', 1)[1]:0>2}",
                      fixed_ips=(ports.FixedIp(f"{network_id}-s", ip),), device_id="vm",
                      device_owner=owner, security_groups=groups_, admin_state_up=True,
                      status="DOWN", binding_host="h", created_at=AT, updated_at=AT,
                      deleted=deleted)


def test_servers_ports_are_rendered_on_their_networks_bridge_with_a_dhcp_lease_each() -> None:
    plan = planner.plan(position=7, networks={"n1": network("n1", 0, "10.0.0.0/24")},
                        ports={"a": port("aaaaaaaaaaaaaaaa", "10.0.0.2"),
                               "r": port("rrrr", "10.0.0.1", owner=ports.ROUTER_OWNER),
                               "d": port("dddd", "10.0.0.9", deleted=True)},
                        floating={}, groups={})
    (net,) = plan.networks
    assert (net.bridge, net.gateway, net.dhcp, net.segment) == ("br100", "10.0.0.1", True, None)
    assert [(h.ip, h.hostname) for h in net.hosts] == [("10.0.0.2", "host-10-0-0-2")]
    assert [(p.ip, p.device, p.rules) for p in plan.ports] == [
        ("10.0.0.2", "tapaaaaaaaaaaa", None)]
    assert plan.position == 7 and plan.public_cidr is None


def test_the_flat_manager_hands_out_no_leases_and_the_vlan_manager_a_segment_per_network(
) -> None:
    networks = {"n1": network("n1", 0, "10.0.0.0/24"), "n2": network("n2", 3, "10.0.3.0/24")}
    flat = planner.plan(position=1, networks=networks, ports={}, floating={}, groups={},
                        manager="flat")
    assert [n.dhcp for n in flat.networks] == [False, False]
    vlan = planner.plan(position=1, networks=networks, ports={}, floating={}, groups={},
                        manager="vlan", vlan_start=100)
    assert [(n.bridge, n.segment) for n in vlan.networks] == [("br100", 100), ("br103", 103)]


def test_a_rule_naming_a_remote_group_allows_each_address_of_that_groups_ports() -> None:
    rule = groups.rule(rule_id="r1", direction="ingress", protocol="icmp", port_range_min=None,
                       port_range_max=None, remote_ip_prefix=None, remote_group_id="sg1")
    v6 = groups.Rule(id="r6", direction="egress", ethertype="IPv6")
    group = groups.SecurityGroup(id="sg1", project_id="p", name="web", description="",
                                 rules=(rule, v6), created_at=AT, updated_at=AT)
    plan = planner.plan(position=1, networks={"n1": network("n1", 0, "10.0.0.0/24")},
                        ports={"a": port("a", "10.0.0.2", groups_=("sg1",)),
                               "b": port("b", "10.0.0.3", groups_=("sg1",))},
                        floating={}, groups={"sg1": group})
    rules = plan.ports[0].rules
    assert rules is not None
    assert sorted(r.remote_cidr or "" for r in rules) == ["10.0.0.2/32", "10.0.0.3/32"]
    assert {r.protocol for r in rules} == {"icmp"}  # the IPv6 rule is not rendered


def test_floating_ips_are_rendered_only_toward_a_live_servers_port_with_a_public_side() -> None:
    live = fips.FloatingIp(id="f1", project_id="p", floating_network_id="pub",
                           floating_ip_address="172.24.4.10", description="", port_id="a",
                           fixed_ip_address="10.0.0.2", created_at=AT, updated_at=AT)
    gone = msgspec.structs.replace(live, id="f2", floating_ip_address="172.24.4.11",
                                   port_id="zzz")
    networks = {"n1": network("n1", 0, "10.0.0.0/24"),
                "pub": network("pub", 1, "172.24.4.0/24", external=True)}
    plan = planner.plan(position=1, networks=networks, ports={"a": port("a", "10.0.0.2")},
                        floating={"f1": live, "f2": gone}, groups={})
    assert [(f.floating_ip, f.fixed_ip) for f in plan.floating] == [("172.24.4.10", "10.0.0.2")]
    assert (plan.public_cidr, plan.public_gateway) == ("172.24.4.0/24", "172.24.4.1")
    assert [n.network_id for n in plan.networks] == ["n1"]  # the public side is no bridge of theirs


def test_two_plans_rendering_the_same_have_one_digest_whatever_their_order_or_position(
) -> None:
    networks = {"n1": network("n1", 0, "10.0.0.0/24")}
    one = planner.plan(position=1, networks=networks,
                       ports={"a": port("a", "10.0.0.2"), "b": port("b", "10.0.0.3")},
                       floating={}, groups={})
    other = planner.plan(position=9, networks=networks,
                         ports={"b": port("b", "10.0.0.3"), "a": port("a", "10.0.0.2")},
                         floating={}, groups={})
    assert digest(one) == digest(other)
    fewer = planner.plan(position=9, networks=networks, ports={"a": port("a", "10.0.0.2")},
                         floating={}, groups={})
    assert digest(fewer) != digest(one)
