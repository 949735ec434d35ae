"""Networks, subnets, addresses, ports, floating IPs, security groups and routers
as pure decisions: what each allows, what it refuses, and why."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import pytest

from domain import floating_ip as fips
from domain import network as nets
from domain import port as ports
from domain import router as routers
from domain import security_group as groups
from domain.errors import Conflict, InvalidInput, NotFound

AT = datetime(2026, 12, 1, tzinfo=UTC)


def fold(state: nets.Network | None, *events: nets.AnyNetworkEvent) -> nets.Network:
    for event in events:
        state = nets.evolve(state, event, "net-1")
    assert state is not None
    return state


def network(cidr: str = "10.0.0.0/29", **subnet: object) -> tuple[nets.Network, nets.Fabric]:
    numbered, created = nets.create(None, network_id="net-1", request_id="r0",
                                    project_id="p1", name="private", at=AT)
    fabric = nets.evolve_fabric(None, numbered, "fabric")
    state = fold(None, created)
    added, claimed = nets.add_subnet(state, fabric, subnet_id="sub-1", request_id="r1",
                                     project_id="p1", name="s", cidr=cidr, at=AT,
                                     **subnet)  # type: ignore[arg-type]
    return fold(state, added), nets.evolve_fabric(fabric, claimed, "fabric")


def allocate(state: nets.Network, owner: str, **kw: object) -> nets.Network:
    return fold(state, nets.allocate(state, owner=owner, request_id="r", at=AT,
                                     **kw))  # type: ignore[arg-type]


def test_addresses_are_handed_out_in_order_skipping_the_gateway_until_the_subnet_is_full(
) -> None:
    state, _ = network("10.0.0.0/29")  # hosts .1-.6, gateway .1
    got = []
    for i in range(5):
        state = allocate(state, f"port-{i}")
        got.append(state.allocations[f"port-{i}"].ip)
    assert got == ["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.6"]
    with pytest.raises(Conflict, match="No more IP addresses available"):
        allocate(state, "port-5")


def test_a_released_address_is_handed_out_again() -> None:
    state = allocate(allocate(network()[0], "a"), "b")
    released = nets.release(state, "a", request_id="r", at=AT)
    assert released is not None
    state = allocate(fold(state, released), "c")
    assert state.allocations["c"].ip == "10.0.0.2"
    assert nets.release(state, "nobody", request_id="r", at=AT) is None


def test_a_fixed_ip_is_refused_when_taken_outside_the_subnet_or_the_gateway() -> None:
    state = allocate(network()[0], "a", ip="10.0.0.4")
    assert state.allocations["a"].ip == "10.0.0.4"
    with pytest.raises(Conflict, match=re.escape("10.0.0.4 is in use")):
        allocate(state, "b", ip="10.0.0.4")
    with pytest.raises(InvalidInput, match="not a valid IP for the specified subnet"):
        allocate(state, "b", ip="10.9.0.4")
    with pytest.raises(InvalidInput, match="not a valid IP"):
        allocate(state, "b", ip="10.0.0.1")  # the gateway
    with pytest.raises(InvalidInput, match="not a valid IP address"):
        allocate(state, "b", ip="10.0.0.x")
    assert allocate(state, "router", ip="10.0.0.1", gateway=True).allocations["router"].ip \
        == "10.0.0.1"


def test_two_holders_never_share_a_mac_on_one_network() -> None:
    state = allocate(network()[0], "a", mac="fa:16:3e:00:00:01")
    with pytest.raises(Conflict, match="mac address fa:16:3e:00:00:01 is in use"):
        allocate(state, "b", mac="fa:16:3e:00:00:01")


def test_a_subnet_may_not_overlap_any_subnet_of_the_cloud() -> None:
    state, fabric = network("10.0.0.0/24")
    with pytest.raises(InvalidInput, match="overlaps with another subnet"):
        nets.add_subnet(state, fabric, subnet_id="sub-2", request_id="r", project_id="p1",
                        name="", cidr="10.0.0.128/25", at=AT)
    added, _ = nets.add_subnet(state, fabric, subnet_id="sub-2", request_id="r",
                               project_id="p1", name="", cidr="10.0.1.0/24", at=AT)
    assert added.subnet.gateway_ip == "10.0.1.1"


@pytest.mark.parametrize("cidr, error", [
    ("10.0.0.1/24", "not a valid IPv4 subnet"),  # host bits set
    ("banana", "not a valid IPv4 subnet"),
    ("10.0.0.0/31", "too small"),
])
def test_a_bad_cidr_is_refused_naming_it(cidr: str, error: str) -> None:
    _numbered, created = nets.create(None, network_id="n", request_id="r", project_id="p",
                                    name="", at=AT)
    with pytest.raises(InvalidInput, match=error):
        nets.add_subnet(fold(None, created), None, subnet_id="s", request_id="r",
                        project_id="p", name="", cidr=cidr, at=AT)


def test_allocation_pools_must_lie_inside_the_subnet_and_not_hold_the_gateway() -> None:
    with pytest.raises(InvalidInput, match="spans beyond the subnet"):
        network("10.0.0.0/24", allocation_pools=[("10.0.0.10", "10.0.1.20")])
    with pytest.raises(Conflict, match="conflicts with allocation pool"):
        network("10.0.0.0/24", allocation_pools=[("10.0.0.1", "10.0.0.20")])
    state, _ = network("10.0.0.0/24", allocation_pools=[("10.0.0.100", "10.0.0.101")])
    state = allocate(allocate(state, "a"), "b")
    assert [state.allocations[o].ip for o in "ab"] == ["10.0.0.100", "10.0.0.101"]
    with pytest.raises(Conflict, match="No more IP addresses"):
        allocate(state, "c")


def test_a_network_or_subnet_holding_addresses_cannot_be_deleted() -> None:
    state = allocate(network()[0], "port-1")
    with pytest.raises(Conflict, match="one or more ports still in use"):
        nets.delete(state, request_id="r", at=AT)
    with pytest.raises(Conflict, match="IP allocation from this subnet"):
        nets.remove_subnet(state, "sub-1", request_id="r", at=AT)
    empty = fold(state, nets.AddressReleased(at=AT, request_id="r", owner="port-1"))
    _deleted, _unnumbered, released = nets.delete(empty, request_id="r", at=AT)
    assert [r.subnet_id for r in released] == ["sub-1"]


def test_the_fabric_numbers_networks_so_each_has_its_own_bridge() -> None:
    first, _ = nets.create(None, network_id="a", request_id="r", project_id="p", name="",
                           at=AT)
    fabric = nets.evolve_fabric(None, first, "f")
    second, _created = nets.create(fabric, network_id="b", request_id="r", project_id="p",
                                  name="", at=AT)
    assert (first.number, second.number) == (0, 1)
    assert nets.bridge(second.number) == "br101"


def test_another_projects_private_network_is_not_found_but_a_shared_one_is() -> None:
    state = network()[0]
    with pytest.raises(NotFound):
        nets.existing(state, "net-1", "p2")
    shared = fold(state, nets.update(state, request_id="r", at=AT, shared=True))
    assert nets.existing(shared, "net-1", "p2") is shared


def test_a_port_held_by_a_server_cannot_be_bound_to_another_or_deleted_if_a_routers() -> None:
    created = ports.PortCreated(at=AT, request_id="r", project_id="p", network_id="n",
                                name="", mac_address=nets.mac_of(uuid.uuid4()), fixed_ips=())
    port = ports.evolve(None, created, "port-1")
    bound = ports.evolve(port, ports.bind(port, device_id="vm-1", host="h", request_id="r",
                                          at=AT), "port-1")
    with pytest.raises(Conflict, match="still in use"):
        ports.bind(bound, device_id="vm-2", host="h", request_id="r", at=AT)
    active = ports.evolve(bound, ports.activate(bound, host="net", request_id="r", at=AT)
                          or created, "port-1")
    assert active.status == "ACTIVE"
    assert ports.activate(active, host="net", request_id="r", at=AT) is None
    router_port = ports.evolve(None, ports.PortCreated(
        at=AT, request_id="r", project_id="p", network_id="n", name="", mac_address="m",
        fixed_ips=(), device_owner=ports.ROUTER_OWNER), "port-2")
    with pytest.raises(Conflict, match="cannot be deleted directly"):
        ports.delete(router_port, request_id="r", at=AT)


def test_a_mac_is_in_openstacks_prefix_and_follows_from_the_port_id() -> None:
    port_id = uuid.UUID("00000000-0000-0000-0000-0000000a0b0c")
    assert nets.mac_of(port_id) == "fa:16:3e:0a:0b:0c"


def test_a_floating_ip_comes_only_from_an_external_network() -> None:
    with pytest.raises(InvalidInput, match="is not a valid external network"):
        fips.require_external(False, "net-1")
    fips.require_external(True, "net-1")


def test_a_floating_ip_points_at_one_of_its_ports_addresses_and_one_per_fixed_ip() -> None:
    fip = fips.evolve(None, fips.FloatingIpCreated(
        at=AT, request_id="r", project_id="p", floating_network_id="pub",
        floating_ip_address="172.24.4.10"), "fip-1")
    assert fip.status == "DOWN"
    with pytest.raises(InvalidInput, match="does not have any IPv4 address"):
        fips.associate(fip, port_id="p1", fixed_ips=[], fixed_ip=None, taken_by=None,
                       request_id="r", at=AT)
    with pytest.raises(InvalidInput, match=re.escape("does not have fixed ip 10.0.0.9")):
        fips.associate(fip, port_id="p1", fixed_ips=["10.0.0.2"], fixed_ip="10.0.0.9",
                       taken_by=None, request_id="r", at=AT)
    with pytest.raises(Conflict, match="already has a floating IP"):
        fips.associate(fip, port_id="p1", fixed_ips=["10.0.0.2"], fixed_ip=None,
                       taken_by="fip-2", request_id="r", at=AT)
    associated = fips.associate(fip, port_id="p1", fixed_ips=["10.0.0.2"], fixed_ip=None,
                                taken_by=None, request_id="r", at=AT)
    assert associated is not None and associated.fixed_ip_address == "10.0.0.2"
    on = fips.evolve(fip, associated, "fip-1")
    assert on.status == "ACTIVE"
    assert fips.associate(on, port_id="p1", fixed_ips=["10.0.0.2"], fixed_ip=None,
                          taken_by="fip-1", request_id="r", at=AT) is None


def rule(**kw: object) -> groups.Rule:
    fields: dict[str, object] = dict(rule_id="rule-1", direction="ingress", protocol="tcp",
                                     port_range_min=22, port_range_max=22,
                                     remote_ip_prefix=None, remote_group_id=None)
    fields.update(kw)
    return groups.rule(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize("fields, error", [
    ({"direction": "sideways"}, "Invalid input for direction"),
    ({"protocol": "gre"}, "protocol gre not supported"),
    ({"protocol": None}, "Must also specify protocol if port range is given"),
    ({"port_range_min": 80, "port_range_max": 22}, "port_range_min must be <="),
    ({"port_range_min": 0}, "Invalid value for port 0"),
    ({"port_range_max": 70000}, "Invalid value for port 70000"),
    ({"remote_ip_prefix": "10.0.0.0/33"}, "not a valid IP prefix"),
    ({"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": "g"}, "Only remote_ip_prefix or"),
    ({"remote_ip_prefix": "::/0"}, "Conflicting value ethertype IPv4"),
])
def test_a_bad_rule_is_refused_naming_what_is_wrong(fields: dict[str, object],
                                                    error: str) -> None:
    with pytest.raises(InvalidInput, match=error):
        rule(**fields)


def test_an_icmp_rule_takes_a_type_and_an_optional_code_not_a_range() -> None:
    echo = rule(protocol="icmp", port_range_min=8, port_range_max=None)
    assert (echo.port_range_min, echo.port_range_max) == (8, None)  # every code of type 8
    unreachable = rule(protocol="1", port_range_min=3, port_range_max=4)
    assert (unreachable.protocol, unreachable.port_range_min,
            unreachable.port_range_max) == ("icmp", 3, 4)
    with pytest.raises(InvalidInput, match="ICMP type \\(port-range-min\\) is missing"):
        rule(protocol="icmp", port_range_min=None, port_range_max=0)
    with pytest.raises(InvalidInput, match="ICMP code \\(port-range-max\\): 256"):
        rule(protocol="icmp", port_range_min=3, port_range_max=256)


def test_only_the_default_group_may_be_named_default_and_it_stays() -> None:
    with pytest.raises(Conflict, match="Default security group already exists"):
        groups.create(request_id="r", project_id="p", name="default", description="",
                      egress_rule_ids=("e4", "e6"), at=AT)
    made = groups.create(request_id="r", project_id="p", name="default", description="",
                         egress_rule_ids=("e4", "e6"), at=AT, default=True)
    group = groups.evolve(None, made, "sg-1")
    with pytest.raises(Conflict, match="removing default security group"):
        groups.delete(group, in_use=False, request_id="r", at=AT)
    with pytest.raises(Conflict, match="renaming the default security group"):
        groups.update(group, name="web", description=None, request_id="r", at=AT)


def test_a_floating_ip_and_a_group_count_their_changes_as_neutrons_revision_number() -> None:
    created = groups.create(request_id="r", project_id="p", name="web", description="",
                            egress_rule_ids=("e4", "e6"), at=AT)
    group = groups.evolve(None, created, "sg-1")
    assert group.revision_number == 0
    group = groups.evolve(group, groups.add_rule(group, rule(), request_id="r", at=AT),
                          "sg-1")
    group = groups.evolve(group, groups.update(group, name="www", description=None,
                                               request_id="r", at=AT), "sg-1")
    assert group.revision_number == 2
    fip = fips.evolve(None, fips.FloatingIpCreated(
        at=AT, request_id="r", project_id="p", floating_network_id="n",
        floating_ip_address="172.24.4.2"), "fip-1")
    fip = fips.evolve(fip, fips.FloatingIpAssociated(
        at=AT, request_id="r", port_id="p1", fixed_ip_address="10.0.0.2"), "fip-1")
    assert (fip.revision_number, fip.status) == (1, "ACTIVE")


def test_a_rule_accepts_protocol_numbers_and_a_group_refuses_the_same_rule_twice() -> None:
    assert rule(protocol="6").protocol == "tcp"
    created = groups.create(request_id="r", project_id="p", name="web", description="",
                            egress_rule_ids=("e4", "e6"), at=AT)
    group = groups.evolve(None, created, "sg-1")
    assert [r.direction for r in group.rules] == ["egress", "egress"]
    group = groups.evolve(group, groups.add_rule(group, rule(), request_id="r", at=AT),
                          "sg-1")
    with pytest.raises(Conflict, match=re.escape("already exists. Rule id is rule-1")):
        groups.add_rule(group, rule(rule_id="rule-2"), request_id="r", at=AT)
    with pytest.raises(NotFound):
        groups.remove_rule(group, "rule-9", request_id="r", at=AT)
    with pytest.raises(Conflict, match="in use"):
        groups.delete(group, in_use=True, request_id="r", at=AT)


def test_a_router_has_one_interface_per_subnet_and_is_deleted_only_without_any() -> None:
    router = routers.evolve(None, routers.RouterCreated(at=AT, request_id="r", project_id="p",
                                                        name="edge"), "r1")
    added = routers.add_interface(router, subnet_id="s1", port_id="port-1", request_id="r",
                                  at=AT)
    router = routers.evolve(router, added, "r1")
    with pytest.raises(Conflict, match="already has a port on subnet s1"):
        routers.add_interface(router, subnet_id="s1", port_id="port-2", request_id="r", at=AT)
    with pytest.raises(Conflict, match="still has ports"):
        routers.delete(router, request_id="r", at=AT)
    removed, freed = routers.remove_interface(router, subnet_id="s1", request_id="r", at=AT)
    assert freed == "port-1"
    routers.delete(routers.evolve(router, removed, "r1"), request_id="r", at=AT)


def test_the_fabric_knows_which_network_each_subnet_belongs_to_until_it_is_released(
) -> None:
    state, fabric = network()
    assert fabric.network_of("sub-1") == "net-1"
    _, released = nets.remove_subnet(state, "sub-1", request_id="r", at=AT)
    fabric = nets.evolve_fabric(fabric, released, "fabric")
    with pytest.raises(NotFound, match="Subnet sub-1 could not be found"):
        fabric.network_of("sub-1")


def test_the_managers_carry_a_network_on_its_bridge_or_on_its_numbered_segment() -> None:
    assert nets.provider("flatdhcp", 0) == nets.Provider("flat", "br100", None)
    assert nets.provider("flat", 3) == nets.Provider("flat", "br103", None)
    assert nets.provider("vlan", 2, vlan_start=100) == nets.Provider("vxlan", None, 102)
    assert nets.provider("vlan", 2, vlan_capable=True).network_type == "vlan"
    with pytest.raises(InvalidInput, match="network_manager"):
        nets.provider("vpn", 0)
