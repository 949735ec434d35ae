"""The network views follow the log (networks, subnets, ports, routers), their
queries answer what the API asks (visibility, filters, a server's addresses),
and replay rebuilds them equal."""

from __future__ import annotations

import psycopg
from psycopg_pool import AsyncConnectionPool

from commands.messages import Caller
from commands.services import Commands
from projections import networks_queries as q
from projections.projector import catch_up
from projections.replay import replay

ADMIN = Caller(user_id="admin", project_id="admin", is_admin=True)
ALICE = Caller(user_id="alice", project_id="p1")
TABLES = ("networks", "subnets", "ports", "routers")


def network_rows(database_url: str) -> dict[str, list[tuple[object, ...]]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        while catch_up(conn):
            pass
        return {t: conn.execute(f"SELECT * FROM views.{t} ORDER BY id").fetchall()
                for t in TABLES}


def build(database_url: str) -> dict[str, str]:
    """A cloud with a public network, a project's network with two subnets, ports on
    it (one a server's), a router joining one subnet; one subnet and one port gone."""
    cloud = Commands.open(database_url, [])
    try:
        n = cloud.networks
        public = n.create_fixed_network(ADMIN, "r-pub", name="public", cidr="172.24.4.0/24",
                                        external=True).state.id
        private = n.create_network(ALICE, "r-net", name="private").state.id
        first = n.create_subnet(ALICE, "r-s1", private, name="s1", cidr="10.0.0.0/24",
                                dns_nameservers=["8.8.8.8"]).state.id
        second = n.create_subnet(ALICE, "r-s2", private, name="s2", cidr="10.0.1.0/24",
                                 gateway_ip=None, enable_dhcp=False).state.id
        server = n.create_port(ALICE, "r-p1", private, device_id="server-1",
                               device_owner="compute:nova").state.id
        gone = n.create_port(ALICE, "r-p2", private, subnet_id=second).state.id
        n.delete_port(ALICE, "r-p3", gone)
        n.delete_subnet(ALICE, "r-s3", private, second)
        router = n.create_router(ALICE, "r-r1", name="r1",
                                 gateway_network_id=public).state.id
        n.add_interface(ALICE, "r-r2", router, network_id=private, subnet_id=first)
        n.update_network(ALICE, "r-n2", private, name="inside")
    finally:
        cloud.close()
    return {"public": public, "private": private, "first": first, "second": second,
            "server": server, "gone": gone, "router": router}


async def test_the_views_answer_what_each_project_may_see(database_url: str) -> None:
    made = build(database_url)
    network_rows(database_url)
    async with AsyncConnectionPool(database_url, min_size=1, max_size=2) as views:
        mine = await q.list_networks(views, "p1", {})
        assert [(x.name, x.external) for x in mine] == [("public", True), ("inside", False)]
        assert await q.list_networks(views, "p2", {}) == [mine[0]]  # external: seen by all
        private = await q.get_network(views, made["private"], "p1")
        assert private is not None and private.subnets == [made["first"]]
        assert await q.get_network(views, made["private"], "p2") is None
        assert await q.get_network(views, "not-a-uuid", None) is None
        external = await q.list_networks(views, None, {"external": ["true"]})
        assert [x.id for x in external] == [made["public"]]

        subnets = await q.list_subnets(views, "p1", {"network_id": [made["private"]]})
        assert [(s.cidr, s.gateway_ip, s.dns_nameservers) for s in subnets] == [
            ("10.0.0.0/24", "10.0.0.1", ["8.8.8.8"])]
        assert await q.get_subnet(views, made["second"], None) is None  # removed

        ports = await q.list_ports(views, "p1", {"network_id": [made["private"]]})
        assert {p.device_owner for p in ports} == {"compute:nova", "network:router_interface"}
        assert await q.get_port(views, made["gone"], None) is None
        interface = await q.list_ports(views, None, {"device_id": [made["router"]]})
        assert [f.ip_address for f in interface[0].fixed_ips] == ["10.0.0.1"]
        assert await q.list_ports(views, "p2", {}) == []

        router = await q.get_router(views, made["router"], "p1")
        assert router is not None and router.gateway_network_id == made["public"]
        assert [i.subnet_id for i in router.interfaces] == [made["first"]]

        addresses = await q.addresses_of(views, ["server-1", "server-2"])
        port = await q.get_port(views, made["server"], None)
        assert port is not None
        assert addresses == {"server-1": {"inside": [{
            "version": 4, "addr": "10.0.0.2", "OS-EXT-IPS:type": "fixed",
            "OS-EXT-IPS-MAC:mac_addr": port.mac_address}]}}


def test_the_network_views_are_rebuilt_equal_by_replay(database_url: str) -> None:
    build(database_url)
    rows = network_rows(database_url)
    assert [len(rows[t]) for t in TABLES] == [2, 2, 3, 1]  # a deleted port keeps its row
    report = replay(database_url)
    assert report.equal
    assert set(TABLES) <= {t.table for t in report.tables}
    assert network_rows(database_url) == rows
