"""The unmodified ``openstack`` CLI drives nimbus's Neutron API: networks,
subnets, ports and routers created, listed, shown, changed and deleted, each
checked in what the CLI prints (``-f json``) and in what the API then says."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.clients.test_openstack_cli import boot, by_key
from tests.support.clients import OpenStackCli
from tests.support.stack import RunningStack

N = "/network/v2.0"


@pytest.fixture
def own_cli(running_stack: RunningStack, tmp_path: Path) -> OpenStackCli:
    home = tmp_path / "home"
    home.mkdir()
    return OpenStackCli(running_stack, home)


async def test_networks_subnets_ports_and_routers_through_the_openstack_cli(
        running_stack: RunningStack, own_cli: OpenStackCli) -> None:
    cli, http = own_cli, running_stack.http
    public = await cli.json("network", "create", "--external", "public")
    assert public["router:external"] is True and public["status"] == "ACTIVE"
    net = await cli.json("network", "create", "--share", "mynet")
    assert net["shared"] is True and net["provider:network_type"] == "flat"
    listed = by_key(await cli.json("network", "list"), "ID")
    assert {listed[public["id"]]["Name"], listed[net["id"]]["Name"]} == {"public", "mynet"}
    external = await cli.json("network", "list", "--external")
    assert [n["ID"] for n in external] == [public["id"]]
    await cli.ok("network", "set", "--name", "inside", "mynet")
    assert (await cli.json("network", "show", "inside"))["id"] == net["id"]

    await cli.json("subnet", "create", "--network", "public", "--subnet-range",
                   "172.24.4.0/24", "public-sub")
    sub = await cli.json("subnet", "create", "--network", "inside", "--subnet-range",
                         "10.8.0.0/24", "--gateway", "10.8.0.254", "--dns-nameserver",
                         "8.8.8.8", "--allocation-pool", "start=10.8.0.10,end=10.8.0.20",
                         "--no-dhcp", "inside-sub")
    assert (sub["gateway_ip"], sub["enable_dhcp"], sub["dns_nameservers"]) == (
        "10.8.0.254", False, ["8.8.8.8"])
    assert sub["allocation_pools"] == [{"start": "10.8.0.10", "end": "10.8.0.20"}]
    assert {s["Name"] for s in await cli.json("subnet", "list")} == {
        "private-subnet", "public-sub", "inside-sub"}  # the cloud's default one too
    assert (await cli.json("subnet", "show", "inside-sub"))["cidr"] == "10.8.0.0/24"
    overlap = await cli.run("subnet", "create", "--network", "public", "--subnet-range",
                            "10.8.0.0/25", "bad")
    assert overlap.returncode == 1 and "overlaps" in overlap.stderr, overlap.explain()

    port = await cli.json("port", "create", "--network", "inside", "--fixed-ip",
                          "subnet=inside-sub,ip-address=10.8.0.15", "p1")
    assert port["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.8.0.15"}]
    taken = await cli.run("port", "create", "--network", "inside", "--fixed-ip",
                          "ip-address=10.8.0.15", "p2")
    assert taken.returncode == 1 and "in use" in taken.stderr, taken.explain()
    server_id = await boot(running_stack, "vm-port")
    await cli.json("port", "create", "--network", "inside", "--device", server_id,
                   "--device-owner", "compute:nova", "vm-port-p")
    on_server = await cli.json("port", "list", "--server", "vm-port")
    assert [p["Name"] for p in on_server] == ["vm-port-p"]
    on_network = await cli.json("port", "list", "--network", "inside")
    assert {p["Name"] for p in on_network} == {"p1", "vm-port-p"}
    await cli.ok("port", "set", "--name", "p1-renamed", "p1")
    assert (await cli.json("port", "show", port["id"]))["name"] == "p1-renamed"
    shown = await cli.json("server", "show", "vm-port")
    assert "10.8.0.10" in str(shown["addresses"]), shown["addresses"]

    router = await cli.json("router", "create", "r1")
    await cli.ok("router", "add", "subnet", "r1", "inside-sub")
    await cli.ok("router", "set", "--external-gateway", "public", "r1")
    shown = await cli.json("router", "show", "r1")
    assert shown["external_gateway_info"]["network_id"] == public["id"]
    assert "10.8.0.254" in str(shown["interfaces_info"]), shown
    assert [r["ID"] for r in await cli.json("router", "list")] == [router["id"]]
    await cli.ok("router", "unset", "--external-gateway", "r1")
    r = await http.get(f"{N}/routers/{router['id']}")
    assert r.json()["router"]["external_gateway_info"] is None
    await cli.ok("router", "remove", "subnet", "r1", "inside-sub")
    await cli.ok("router", "delete", "r1")
    assert await cli.json("router", "list") == []

    in_use = await cli.run("network", "delete", "inside")
    assert in_use.returncode == 1, in_use.explain()
    await cli.ok("port", "delete", "p1-renamed", "vm-port-p")
    await cli.ok("subnet", "delete", "inside-sub")
    await cli.ok("network", "delete", "inside")
    assert sorted(n["Name"] for n in await cli.json("network", "list")) == [
        "private", "public"]
    assert (await http.get(f"{N}/networks/{net['id']}")).status_code == 404


async def test_a_floating_ip_is_made_put_on_a_server_taken_off_and_given_back(
        running_stack: RunningStack, own_cli: OpenStackCli) -> None:
    cli, http = own_cli, running_stack.http
    await cli.json("network", "create", "--external", "public")
    await cli.json("subnet", "create", "--network", "public", "--subnet-range",
                   "172.24.4.0/24", "public-sub")
    created = await cli.json("server", "create", "--flavor", "m1.tiny", "--image",
                             "cirros-0.6.2-x86_64-disk", "--network", "private", "--wait",
                             "vm-fip")
    fip = await cli.json("floating", "ip", "create", "public")
    address = fip["floating_ip_address"]
    assert address.startswith("172.24.4.") and fip["status"] == "DOWN"
    await cli.ok("server", "add", "floating", "ip", "vm-fip", address)
    shown = await cli.json("floating", "ip", "show", address)
    ports = (await http.get(f"{N}/ports", params={"device_id": created["id"]})).json()["ports"]
    assert (shown["port_id"], shown["fixed_ip_address"]) == (
        ports[0]["id"], ports[0]["fixed_ips"][0]["ip_address"])
    server = await cli.json("server", "show", "vm-fip")
    assert address in str(server["addresses"])
    await cli.ok("server", "remove", "floating", "ip", "vm-fip", address)
    assert (await cli.json("floating", "ip", "show", address))["port_id"] is None
    await cli.ok("floating", "ip", "delete", address)
    gone = await cli.run("floating", "ip", "show", address)
    assert gone.returncode == 1, gone.explain()


async def test_a_server_booted_with_a_nic_gets_the_fixed_ip_it_asked_for(
        running_stack: RunningStack, own_cli: OpenStackCli) -> None:
    private = await own_cli.json("network", "show", "private")
    created = await own_cli.json(
        "server", "create", "--flavor", "m1.tiny", "--image", "cirros-0.6.2-x86_64-disk",
        "--nic", f"net-id={private['id']},v4-fixed-ip=10.0.0.50", "--wait", "vm-nic")
    shown = await own_cli.json("server", "show", created["id"])
    assert shown["addresses"] == {"private": ["10.0.0.50"]}
    taken = await own_cli.run(
        "server", "create", "--flavor", "m1.tiny", "--image", "cirros-0.6.2-x86_64-disk",
        "--nic", f"net-id={private['id']},v4-fixed-ip=10.0.0.50", "vm-nic-2")
    assert taken.returncode == 1 and "10.0.0.50" in taken.stderr, taken.explain()
