"""The network host's pure parts: the plan's digest and checks, the fake host,
and the renderers (nft text, dnsmasq hosts file and command line)."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from domain import floating_ip as fips
from domain import security_group as groups
from tests.unit.test_network_planner import AT
from tests.unit.test_network_planner import network as folded_network
from tests.unit.test_network_planner import port as folded_port
from workers.network import planner
from workers.network.dnsmasq import Files, command_line, hosts_file
from workers.network.fake import FakeNetworkHost
from workers.network.nft import render, script
from workers.network.plan import (
    DhcpHost,
    Floating,
    HostPlan,
    NetworkPlan,
    PortPlan,
    Rule,
    digest,
    guest_device,
    problems,
)
from workers.network.port import IllegalPlan, NetworkHostError

NET = NetworkPlan(network_id="net1", bridge="br100", cidr="10.0.0.0/24", gateway="10.0.0.1",
                  dhcp=True, dns_servers=["8.8.8.8", "1.1.1.1"],
                  hosts=[DhcpHost(mac="FA:16:3E:00:00:02", ip="10.0.0.12", hostname="vm2"),
                         DhcpHost(mac="fa:16:3e:00:00:01", ip="10.0.0.11", hostname="vm1")])


def port(n: int, **changes: object) -> PortPlan:
    made = PortPlan(port_id=f"port{n}", network_id="net1", mac=f"fa:16:3e:00:00:{n:02x}",
                    ip=f"10.0.0.{10 + n}", device=f"tapport{n}")
    return msgspec.structs.replace(made, **changes)


def host_plan(**changes: object) -> HostPlan:
    made = HostPlan(position=7, networks=[NET], ports=[port(1), port(2)],
                    floating=[Floating(floating_ip="172.24.4.10", fixed_ip="10.0.0.11")],
                    public_cidr="172.24.4.0/24", public_gateway="172.24.4.1",
                    metadata="10.0.0.1:8775")
    return msgspec.structs.replace(made, **changes)


def test_the_digest_ignores_list_order_and_the_log_position() -> None:
    plan = host_plan()
    shuffled = host_plan(position=99, ports=[port(2), port(1)],
                         networks=[msgspec.structs.replace(NET, hosts=NET.hosts[::-1])])
    assert digest(shuffled) == digest(plan)
    assert len(digest(plan)) == 64


def test_the_digest_changes_with_the_content_and_with_the_dns_servers_order() -> None:
    plan = host_plan()
    assert digest(host_plan(ports=[port(1)])) != digest(plan)
    reordered = msgspec.structs.replace(NET, dns_servers=["1.1.1.1", "8.8.8.8"])
    assert digest(host_plan(networks=[reordered])) != digest(plan)


def test_a_guest_end_is_the_device_with_vm_for_tap() -> None:
    assert guest_device("tap0123456789a") == "vm0123456789a"


def test_a_legal_plan_has_no_problems() -> None:
    assert problems(host_plan()) == []


ILLEGAL = {
    "two ports with one IP": (host_plan(ports=[port(1), port(2, ip="10.0.0.11")]),
                              "IP on network net1 '10.0.0.11' appears more than once"),
    "two ports with one MAC": (host_plan(ports=[port(1), port(2, mac="FA:16:3E:00:00:01")]),
                               "MAC on network net1 'fa:16:3e:00:00:01' appears more than once"),
    "a port on a network the plan lacks": (
        host_plan(ports=[port(1), port(2, network_id="net9")]),
        "port port2 is on network 'net9', which the plan lacks"),
    "a floating IP twice": (
        host_plan(floating=[Floating(floating_ip="172.24.4.10", fixed_ip="10.0.0.11"),
                            Floating(floating_ip="172.24.4.10", fixed_ip="10.0.0.12")]),
        "floating IP '172.24.4.10' appears more than once"),
    "a fixed IP outside its network": (host_plan(ports=[port(1), port(2, ip="10.9.0.5")]),
                                       "port port2: fixed IP '10.9.0.5' is outside 10.0.0.0/24"),
    "overlapping networks": (
        host_plan(networks=[NET, msgspec.structs.replace(NET, network_id="net2", bridge="br101",
                                                         cidr="10.0.0.128/25", hosts=[])]),
        "networks net1 and net2 overlap"),
    "a rule with an unknown protocol": (
        host_plan(ports=[port(1, rules=[Rule(direction="ingress", protocol="sctp")])]),
        "rule protocol 'sctp' is not tcp, udp, icmp or any"),
    "two floating IPs on one fixed IP": (
        host_plan(floating=[Floating(floating_ip="172.24.4.10", fixed_ip="10.0.0.11"),
                            Floating(floating_ip="172.24.4.11", fixed_ip="10.0.0.11")]),
        "fixed IP with a floating IP '10.0.0.11' appears more than once"),
    "a device name too long": (host_plan(ports=[port(1, device="tap0123456789abc")]),
                               "device 'tap0123456789abc' is not 4-15"),
}


@pytest.mark.parametrize("case", sorted(ILLEGAL))
def test_the_fake_refuses_an_illegal_plan_naming_the_problem_and_renders_nothing(
        case: str) -> None:
    plan, problem = ILLEGAL[case]
    fake = FakeNetworkHost()
    with pytest.raises(IllegalPlan) as refused:
        fake.apply(plan)
    assert any(problem in found for found in refused.value.problems), refused.value.problems
    assert problem in str(refused.value)
    assert fake.rendered is None and fake.observe() is None


def planned() -> HostPlan:
    """A plan as the network worker's planner builds it: the vlan manager, two
    networks, a public one, security groups with a remote group, a floating IP."""
    ssh = groups.rule(rule_id="r1", direction="ingress", protocol="tcp", port_range_min=22,
                      port_range_max=22, remote_ip_prefix="0.0.0.0/0", remote_group_id=None)
    peers = groups.rule(rule_id="r2", direction="ingress", protocol="icmp", port_range_min=None,
                        port_range_max=None, remote_ip_prefix=None, remote_group_id="sg1")
    group = groups.SecurityGroup(id="sg1", project_id="p", name="web", description="",
                                 rules=(ssh, peers), created_at=AT, updated_at=AT)
    floating = fips.FloatingIp(id="f1", project_id="p", floating_network_id="pub",
                               floating_ip_address="172.24.4.10", description="",
                               port_id="3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b",
                               fixed_ip_address="10.0.0.2", created_at=AT, updated_at=AT)
    return planner.plan(
        position=3, manager="vlan", metadata_port=8775,
        networks={"n1": folded_network("n1", 0, "10.0.0.0/24"),
                  "n2": folded_network("n2", 1, "10.0.1.0/24"),
                  "pub": folded_network("pub", 9, "172.24.4.0/24", external=True)},
        ports={p.id: p for p in (
            folded_port("3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b", "10.0.0.2", groups_=("sg1",)),
            folded_port("9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a", "10.0.1.3", network_id="n2",
                        groups_=("sg1",)))},
        floating={"f1": floating}, groups={"sg1": group})


def test_a_plan_the_planner_builds_from_folded_states_has_no_problems() -> None:
    built = planned()
    assert len(built.ports) == 2 and built.floating and built.public_cidr == "172.24.4.0/24"
    assert problems(built) == []
    assert "in-tap3f2a1b4c-5d" in render(built)


def test_what_renders_harmlessly_is_no_problem() -> None:
    """A DHCP host outside its range is never served and a floating IP whose
    fixed IP no port has leads nowhere; neither stops the rest of the plan."""
    stray = msgspec.structs.replace(NET, hosts=[*NET.hosts, DhcpHost(
        mac="fa:16:3e:00:00:99", ip="10.5.0.9", hostname="elsewhere")])
    assert problems(host_plan(networks=[stray], floating=[
        Floating(floating_ip="172.24.4.10", fixed_ip="10.0.0.99")])) == []


def test_the_fake_renders_a_plan_once_and_reports_the_same_plan_again_as_unchanged() -> None:
    fake = FakeNetworkHost()
    first = fake.apply(host_plan())
    again = fake.apply(host_plan(position=8, ports=[port(2), port(1)]))
    assert (first.changed, again.changed, again.position) == (True, False, 8)
    assert first.digest == again.digest == fake.observe()
    assert fake.renders == 1
    assert fake.apply(host_plan(ports=[port(1)])).changed


def test_an_unavailable_fake_raises_the_tool_error_after_checking_the_plan() -> None:
    fake = FakeNetworkHost()
    fake.unavailable = True
    with pytest.raises(NetworkHostError):
        fake.apply(host_plan())
    with pytest.raises(IllegalPlan):
        fake.apply(host_plan(ports=[port(1, network_id="nope")]))


def test_the_hosts_file_has_one_mac_hostname_ip_line_per_host_in_mac_order() -> None:
    assert hosts_file(NET) == "fa:16:3e:00:00:01,vm1,10.0.0.11\nfa:16:3e:00:00:02,vm2,10.0.0.12\n"
    assert hosts_file(msgspec.structs.replace(NET, hosts=[])) == ""


def test_the_dnsmasq_command_line_is_nova_networks_static_one() -> None:
    argv = command_line(NET, Files(Path("/state/dnsmasq"), "br100"))
    assert argv[0] == "dnsmasq"
    for flag in ("--strict-order", "--bind-interfaces", "--listen-address=10.0.0.1",
                 "--except-interface=lo",
                 "--dhcp-range=set:br100,10.0.0.2,static,255.255.255.0,120s",
                 "--dhcp-hostsfile=/state/dnsmasq/br100.hosts", "--no-hosts", "--no-resolv",
                 "--leasefile-ro", "--user=root", "--pid-file=/state/dnsmasq/br100.pid",
                 "--dhcp-option=tag:br100,6,8.8.8.8,1.1.1.1"):
        assert flag in argv
    bare = command_line(msgspec.structs.replace(NET, dns_servers=["2001:db8::1"]),
                        Files(Path("/s"), "br100"))
    assert not any(",6," in arg for arg in bare)  # option 6 carries IPv4 servers only


def test_the_nft_table_nats_the_fixed_range_the_floating_ips_and_metadata() -> None:
    text = render(host_plan())
    assert text.startswith("table inet nimbus {\n") and text.endswith("\n}\n")
    assert "elements = { 172.24.4.10 : 10.0.0.11 }" in text
    assert "elements = { 10.0.0.11 : 172.24.4.10 }" in text
    assert "dnat ip to ip daddr map @floating_dnat" in text
    assert 'oifname "brpub" snat ip to ip saddr map @floating_snat' in text
    assert 'oifname "brpub" ip saddr { 10.0.0.0/24 } snat ip to 172.24.4.1' in text
    assert "ip daddr 169.254.169.254 tcp dport 80 dnat ip to 10.0.0.1:8775" in text
    assert "chain forward" not in text  # no port has a security group


def test_the_nft_table_puts_each_closing_brace_of_a_block_on_its_own_line() -> None:
    """nft 1.0.6 refuses ``... dnat to x }`` on one line."""
    guarded = host_plan(ports=[port(1, rules=[Rule(direction="ingress", protocol="tcp",
                                                   port_min=22, port_max=22)]), port(2)])
    for line in render(guarded).splitlines():
        if line.rstrip().endswith("}") and line.strip() != "}":
            assert "{" in line, line  # an inline set or map, opened on the same line


def test_a_security_group_becomes_stateful_per_port_chains() -> None:
    rules = [Rule(direction="ingress", protocol="tcp", port_min=22, port_max=22),
             Rule(direction="ingress", protocol="udp", port_min=1000, port_max=2000,
                  remote_cidr="192.168.0.0/16"),
             Rule(direction="ingress", protocol="icmp", port_min=8),
             Rule(direction="egress", protocol=None, remote_cidr="0.0.0.0/0")]
    text = render(host_plan(ports=[port(1, rules=rules), port(2, rules=[])]))
    assert "ct state established,related accept" in text
    assert "ip saddr vmap { 10.0.0.11 : jump out-tapport1, 10.0.0.12 : jump out-tapport2 }" in text
    assert "ip daddr vmap { 10.0.0.11 : jump in-tapport1, 10.0.0.12 : jump in-tapport2 }" in text
    assert "tcp dport 22 accept" in text
    assert "ip saddr 192.168.0.0/16 udp dport 1000-2000 accept" in text
    assert "ip protocol icmp icmp type 8 accept" in text
    assert "ip daddr 0.0.0.0/0 return" in text
    assert "udp sport 67 udp dport 68 accept" in text  # DHCP always reaches the port
    chain_of_port2 = text.split("chain in-tapport2 {")[1].split("}")[0]
    assert [line.strip() for line in chain_of_port2.strip().splitlines()] == [
        "ct state invalid drop", "udp sport 67 udp dport 68 accept", "counter drop"]


def test_the_nft_script_replaces_the_whole_table_in_one_transaction() -> None:
    text = render(host_plan())
    loaded = script(text)
    assert loaded.startswith("table inet nimbus\ndelete table inet nimbus\ntable inet nimbus {\n")
    assert '    comment "sha256:' in loaded
    assert script(render(host_plan(position=9))) == loaded
    assert script(render(host_plan(metadata=None))) != loaded
