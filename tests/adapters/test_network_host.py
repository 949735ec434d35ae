"""The network host's real adapter, against namespaces the tests create and delete.

Each test's network host is a namespace of its own (``NamespaceNetworkHost``);
"instances" are further namespaces that a port's guest end is moved into, and
the "public" side is a namespace with a veth into ``brpub``. DHCP leases come
from the real dnsmasq (busybox udhcpc asks), NAT and security groups from the
real nftables table. Everything a test makes is removed by its fixtures, also
when it fails: dnsmasq by its pid, listeners by theirs, then the namespaces.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyroute2 import NetNS

from tests.support.netns import Namespaces, missing_tools
from tests.support.polling import eventually_sync
from tests.unit.test_network_plan import planned
from workers.network.host import RENDERED, NamespaceNetworkHost
from workers.network.links import addresses
from workers.network.plan import (
    DhcpHost,
    Floating,
    HostPlan,
    NetworkPlan,
    PortPlan,
    Rule,
    digest,
    guest_device,
)
from workers.network.port import IllegalPlan

if os.geteuid() != 0:
    pytest.skip("network namespaces need root", allow_module_level=True)
if missing_tools():
    pytest.skip(f"missing tools: {', '.join(missing_tools())} (scripts/install.sh installs them)",
                allow_module_level=True)

PUBLIC_CLIENT = "172.24.4.100"
SSH_ONLY = [Rule(direction="ingress", protocol="tcp", port_min=22, port_max=22)]


def port(n: int, rules: list[Rule] | None = None) -> PortPlan:
    port_id = f"p{n}-4c1e-9a2b-77f0"
    return PortPlan(port_id=port_id, network_id="net1", mac=f"fa:16:3e:00:00:{n:02x}",
                    ip=f"10.0.0.{10 + n}", device="tap" + port_id[:11], rules=rules)


def plan(position: int, ports: list[PortPlan], *, floating: list[Floating] | None = None,
         metadata: str | None = None, extra: list[NetworkPlan] | None = None) -> HostPlan:
    hosts = [DhcpHost(mac=p.mac, ip=p.ip, hostname=f"vm{p.ip.rsplit('.', 1)[1]}") for p in ports]
    network = NetworkPlan(network_id="net1", bridge="br100", cidr="10.0.0.0/24",
                          gateway="10.0.0.1", dhcp=True, dns_servers=["10.0.0.1"], hosts=hosts)
    return HostPlan(position=position, networks=[network, *(extra or [])], ports=ports,
                    floating=floating or [], public_cidr="172.24.4.0/24",
                    public_gateway="172.24.4.1", metadata=metadata)


@pytest.fixture
def spaces(tmp_path: Path) -> Iterator[Namespaces]:
    namespaces = Namespaces(tmp_path)
    yield namespaces
    namespaces.cleanup()


@pytest.fixture
def host(spaces: Namespaces, tmp_path: Path) -> Iterator[NamespaceNetworkHost]:
    adapter = NamespaceNetworkHost(spaces.name("net"), tmp_path / "state")
    yield adapter
    adapter.teardown()


def instance(spaces: Namespaces, host: NamespaceNetworkHost, p: PortPlan) -> str:
    """An instance namespace holding the port's guest end as eth0, leased by DHCP."""
    name = spaces.create(p.port_id[:2])
    spaces.plug(host.namespace, guest_device(p.device), name)
    assert spaces.lease(name) == p.ip
    return name


def link_index(namespace: str, name: str) -> int | None:
    with NetNS(namespace, flags=0) as ip:
        found = ip.link_lookup(ifname=name)
        return found[0] if found else None


def nft_table(host: NamespaceNetworkHost) -> tuple[int, int]:
    """The nimbus table's handle (a new one each time nft replaces it) and its rule count."""
    listed = subprocess.run(["ip", "netns", "exec", host.namespace, "nft", "-j", "list",
                             "table", "inet", "nimbus"], capture_output=True, text=True,
                            check=True).stdout
    items = json.loads(listed)["nftables"]
    handle = next(i["table"]["handle"] for i in items if "table" in i)
    return handle, sum("rule" in i for i in items)


def test_two_instances_get_their_planned_ips_by_dhcp_and_ping_each_other(
        spaces: Namespaces, host: NamespaceNetworkHost) -> None:
    one, two = port(1), port(2)
    applied = host.apply(plan(5, [one, two]))
    assert applied.changed and applied.position == 5
    vm1, vm2 = instance(spaces, host, one), instance(spaces, host, two)
    assert spaces.ping(vm1, two.ip) and spaces.ping(vm2, one.ip)
    assert spaces.ping(vm1, "10.0.0.1")
    host_end = link_index(host.namespace, one.device)
    # the guest ends are gone from the network host now: applying again neither
    # fails nor recreates the pairs
    again = host.apply(plan(6, [one, two, port(3)]))
    assert again.changed
    assert link_index(host.namespace, one.device) == host_end
    assert spaces.ping(vm1, two.ip)


def test_a_new_port_reloads_dnsmasq_without_a_restart_and_a_removed_one_loses_its_links(
        spaces: Namespaces, host: NamespaceNetworkHost) -> None:
    one, two, three = port(1), port(2), port(3)
    host.apply(plan(1, [one, two]))
    pid = host.dnsmasq.pids()["br100"]
    vm3 = spaces.create("p3")
    host.apply(plan(2, [one, two, three]))
    assert host.dnsmasq.pids() == {"br100": pid}
    spaces.plug(host.namespace, guest_device(three.device), vm3)
    assert spaces.lease(vm3) == three.ip

    host.apply(plan(3, [one, two]))
    assert host.dnsmasq.pids() == {"br100": pid}
    assert link_index(host.namespace, three.device) is None
    assert link_index(vm3, "eth0") is None  # the pair went with its host end
    assert "fa:16:3e:00:00:03" not in (host.state_dir / "dnsmasq" / "br100.hosts").read_text()


def test_a_floating_ip_is_reached_from_the_public_side_and_outbound_traffic_leaves_from_it(
        spaces: Namespaces, host: NamespaceNetworkHost) -> None:
    one = port(1)
    host.apply(plan(1, [one], floating=[Floating(floating_ip="172.24.4.10", fixed_ip=one.ip)]))
    public = spaces.create("pub")
    spaces.uplink(host.namespace, "brpub", public, f"{PUBLIC_CLIENT}/24")
    vm1 = instance(spaces, host, one)
    spaces.listen(vm1, "0.0.0.0", 22, "vm1")
    spaces.listen(public, "0.0.0.0", 9000, "public")
    # answered by the instance itself (not the network host): DNAT reached it
    assert spaces.connect(public, "172.24.4.10", 22) == f"vm1 {PUBLIC_CLIENT}"
    assert spaces.connect(vm1, PUBLIC_CLIENT, 9000) == "public 172.24.4.10"  # SNAT
    # an instance without a floating IP leaves from the public gateway
    two = port(2)
    host.apply(plan(2, [one, two], floating=[Floating(floating_ip="172.24.4.10",
                                                      fixed_ip=one.ip)]))
    vm2 = instance(spaces, host, two)
    assert spaces.connect(vm2, PUBLIC_CLIENT, 9000) == "public 172.24.4.1"
    # the uplink somebody else enslaved to brpub survived the second apply
    assert link_index(host.namespace, "uplink") is not None


def test_a_security_group_allowing_only_ssh_blocks_ping_and_other_ports(
        spaces: Namespaces, host: NamespaceNetworkHost) -> None:
    guarded, other = port(1, rules=SSH_ONLY), port(2)
    floating = [Floating(floating_ip="172.24.4.10", fixed_ip=guarded.ip)]
    host.apply(plan(1, [guarded, other], floating=floating))
    vm1, vm2 = instance(spaces, host, guarded), instance(spaces, host, other)
    public = spaces.create("pub")
    spaces.uplink(host.namespace, "brpub", public, f"{PUBLIC_CLIENT}/24")
    spaces.listen(vm1, "0.0.0.0", 22, "vm1-ssh")
    spaces.listen(vm1, "0.0.0.0", 80, "vm1-http")
    # bridged traffic from a neighbour
    assert spaces.connect(vm2, guarded.ip, 22) == f"vm1-ssh {other.ip}"
    assert not spaces.ping(vm2, guarded.ip)
    assert spaces.connect(vm2, guarded.ip, 80, timeout=0.5) is None
    # routed traffic through the floating IP
    assert spaces.connect(public, "172.24.4.10", 22) == f"vm1-ssh {PUBLIC_CLIENT}"
    assert spaces.connect(public, "172.24.4.10", 80, timeout=0.5) is None
    # without the security group the same traffic passes: it was the group
    host.apply(plan(2, [port(1), other], floating=floating))
    assert spaces.ping(vm2, guarded.ip)
    assert spaces.connect(vm2, guarded.ip, 80) == f"vm1-http {other.ip}"
    assert spaces.connect(public, "172.24.4.10", 80) == f"vm1-http {PUBLIC_CLIENT}"


def test_the_metadata_address_reaches_the_planned_metadata_listener(
        spaces: Namespaces, host: NamespaceNetworkHost) -> None:
    one = port(1, rules=[])  # even a port whose group allows nothing reaches metadata
    host.apply(plan(1, [one], metadata="10.0.0.1:8775"))
    vm1 = instance(spaces, host, one)
    spaces.listen(host.namespace, "10.0.0.1", 8775, "metadata")
    assert spaces.connect(vm1, "169.254.169.254", 80) == f"metadata {one.ip}"


def test_the_same_plan_twice_changes_nothing_also_after_a_restart_or_a_lost_record(
        host: NamespaceNetworkHost, tmp_path: Path) -> None:
    one = port(1, rules=SSH_ONLY)
    first = plan(1, [one, port(2)], floating=[Floating(floating_ip="172.24.4.10",
                                                       fixed_ip=one.ip)], metadata="10.0.0.1:8775")
    assert host.apply(first).changed
    pid, table = host.dnsmasq.pids(), nft_table(host)
    hosts_file = (host.state_dir / "dnsmasq" / "br100.hosts").read_text()
    brpub = addresses(host.namespace, "brpub")
    assert brpub == ["172.24.4.1/24", "172.24.4.10/32"]

    later = HostPlan(**{**{f: getattr(first, f) for f in first.__struct_fields__},
                        "position": 2, "ports": list(reversed(first.ports))})
    second = host.apply(later)
    assert (second.changed, second.position, second.digest) == (False, 2, digest(first))
    assert host.nft.loads == 1 and host.dnsmasq.pids() == pid and nft_table(host) == table

    restarted = NamespaceNetworkHost(host.namespace, tmp_path / "state")
    assert restarted.observe() == digest(first)
    assert not restarted.apply(first).changed

    # a crash after rendering, before the record was written: the host converges
    # once, with one of each address, rule and lease
    (host.state_dir / RENDERED).unlink()
    assert restarted.observe() is None
    converged = restarted.apply(first)
    assert (converged.changed, converged.digest) == (False, digest(first))  # nothing to redo
    assert restarted.observe() == digest(first)
    assert addresses(host.namespace, "brpub") == brpub
    assert addresses(host.namespace, "br100") == ["10.0.0.1/24"]
    assert nft_table(host) == table and restarted.nft.loads == 0  # the text had not changed
    assert restarted.dnsmasq.pids() == pid
    assert (host.state_dir / "dnsmasq" / "br100.hosts").read_text() == hosts_file
    assert len(hosts_file.splitlines()) == 2


def test_a_crash_half_way_through_a_new_plan_converges_on_the_next_apply(
        host: NamespaceNetworkHost) -> None:
    one, two = port(1), port(2, rules=SSH_ONLY)
    host.apply(plan(1, [one]))
    grown = plan(2, [one, two], floating=[Floating(floating_ip="172.24.4.10", fixed_ip=two.ip)])
    # killed after the links and dnsmasq, before nft and the record
    host.links.reconcile(grown)
    host.dnsmasq.reconcile(grown)
    assert host.observe() is None
    loads = host.nft.loads
    assert host.apply(grown).changed
    assert host.nft.loads == loads + 1 and host.observe() == digest(grown)
    assert addresses(host.namespace, "brpub") == ["172.24.4.1/24", "172.24.4.10/32"]
    rules = nft_table(host)[1]
    assert not host.apply(grown).changed and nft_table(host)[1] == rules


def test_drift_from_the_record_is_observed_and_rendered_away_by_the_next_apply(
        host: NamespaceNetworkHost) -> None:
    one = port(1)
    rendered = plan(1, [one], metadata="10.0.0.1:8775")
    host.apply(rendered)
    subprocess.run(["ip", "netns", "exec", host.namespace, "nft", "delete", "table", "inet",
                    "nimbus"], check=True)
    subprocess.run(["ip", "-n", host.namespace, "link", "del", one.device], check=True)
    assert host.observe() is None
    assert host.apply(rendered).changed
    assert host.observe() == digest(rendered)
    assert link_index(host.namespace, one.device) is not None


def test_a_dnsmasq_that_died_is_started_again_on_the_next_apply(
        spaces: Namespaces, host: NamespaceNetworkHost) -> None:
    one = port(1)
    host.apply(plan(1, [one]))
    pid = host.dnsmasq.pids()["br100"]
    os.kill(pid, signal.SIGKILL)
    eventually_sync(lambda: "br100" not in host.dnsmasq.pids(), what="dnsmasq to die")
    assert host.apply(plan(1, [one])).changed
    assert host.dnsmasq.pids()["br100"] != pid
    vm1 = instance(spaces, host, one)
    assert spaces.ping(vm1, "10.0.0.1")


def test_a_power_loss_takes_every_link_dnsmasq_and_rule_and_the_next_apply_serves_again(
        spaces: Namespaces, host: NamespaceNetworkHost) -> None:
    one = port(1, rules=SSH_ONLY)
    rendered = plan(1, [one, port(2)],
                    floating=[Floating(floating_ip="172.24.4.10", fixed_ip=one.ip)])
    host.apply(rendered)
    lost = host.power_loss()
    assert {"bridge br100", "bridge brpub", f"veth {one.device}", "dnsmasq on br100",
            "nft table (NAT and security groups)"} <= set(lost)
    assert not Path("/run/netns", host.namespace).exists() and host.dnsmasq.pids() == {}
    assert host.observe() is None and host.power_loss() == []  # nothing more to lose
    assert (host.state_dir / RENDERED).exists()  # what is on disk stays
    assert host.apply(rendered).changed
    assert host.observe() == digest(rendered)
    assert addresses(host.namespace, "brpub") == ["172.24.4.1/24", "172.24.4.10/32"]
    vm1 = instance(spaces, host, one)  # a lease from the dnsmasq started again
    assert spaces.ping(vm1, "10.0.0.1")
    assert not host.apply(rendered).changed


def test_a_removed_network_loses_its_dnsmasq_and_bridge_and_a_new_dns_server_restarts_one(
        host: NamespaceNetworkHost) -> None:
    second = NetworkPlan(network_id="net2", bridge="br101", cidr="10.0.1.0/24",
                         gateway="10.0.1.1", dhcp=True)
    host.apply(plan(1, [port(1)], extra=[second]))
    pids = host.dnsmasq.pids()
    assert set(pids) == {"br100", "br101"}
    changed_dns = NetworkPlan(network_id="net2", bridge="br101", cidr="10.0.1.0/24",
                              gateway="10.0.1.1", dhcp=True, dns_servers=["8.8.8.8"])
    host.apply(plan(2, [port(1)], extra=[changed_dns]))
    restarted = host.dnsmasq.pids()
    assert restarted["br100"] == pids["br100"] and restarted["br101"] != pids["br101"]
    host.apply(plan(3, [port(1)]))
    assert host.dnsmasq.pids() == {"br100": pids["br100"]}
    assert link_index(host.namespace, "br101") is None
    assert not (host.state_dir / "dnsmasq" / "br101.pid").exists()


def test_a_segmented_network_gets_a_vxlan_on_this_kernel_which_has_no_8021q(
        spaces: Namespaces, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The vlan manager's per-project segment: a VLAN where the kernel has 8021q;
    this kernel has none, so the adapter's one VLAN try fails and the segment is
    a vxlan whose VNI is the segment id, on the underlay."""
    name = spaces.create("seg")
    subprocess.run(["ip", "-n", name, "link", "add", "eth1", "type", "veth", "peer", "eth1p"],
                   check=True)
    adapter = NamespaceNetworkHost(name, tmp_path / "seg", underlay="eth1")
    try:
        segmented = NetworkPlan(network_id="net1", bridge="br100", cidr="10.0.0.0/24",
                                gateway="10.0.0.1", dhcp=False, segment=100)
        with caplog.at_level(logging.INFO, logger="workers.network.links"):
            adapter.apply(HostPlan(position=1, networks=[segmented], ports=[port(1)]))
        segment_name = "vlan100" if adapter.links.segment_kind == "vlan" else "vx100"
        with NetNS(name, flags=0) as ip:
            bridge = ip.link_lookup(ifname="br100")[0]
            segment_link = ip.get_links(ip.link_lookup(ifname=segment_name)[0])[0]
        kind = segment_link.get_nested("IFLA_LINKINFO", "IFLA_INFO_KIND")
        if adapter.links.segment_kind == "vlan":  # a kernel with 8021q
            assert kind == "vlan"
        else:
            assert kind == "vxlan" and "no 8021q" in caplog.text
            assert segment_link.get_nested("IFLA_LINKINFO", "IFLA_INFO_DATA",
                                           "IFLA_VXLAN_ID") == 100
        assert segment_link.get("master") == bridge
        assert not adapter.apply(HostPlan(position=2, networks=[segmented],
                                          ports=[port(1)])).changed
    finally:
        adapter.teardown()


def test_a_plan_built_by_the_planner_renders_and_renders_once(
        host: NamespaceNetworkHost) -> None:
    built = planned()
    assert host.apply(built).changed
    assert host.observe() == digest(built)
    assert set(host.dnsmasq.pids()) == {"br100", "br101"}
    assert link_index(host.namespace, "vx100") is not None  # the vlan manager's segment
    assert not host.apply(built).changed


def test_an_illegal_plan_is_refused_before_anything_is_rendered(
        host: NamespaceNetworkHost) -> None:
    twice = PortPlan(port_id="other", network_id="net1", mac="fa:16:3e:00:00:09",
                     ip=port(1).ip, device="tapother")
    with pytest.raises(IllegalPlan, match=r"10\.0\.0\.11"):
        host.apply(plan(1, [port(1), twice]))
    assert host.observe() is None
    assert not Path("/run/netns", host.namespace).exists()
