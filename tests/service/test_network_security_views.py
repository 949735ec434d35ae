"""The floating IP and security group views follow the write side on a real
database: what the queries answer (filters, a port's floating IPs, a group in
use, a server's ports, the quota's usage), and a replay rebuilds them equal."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from commands.messages import Caller
from commands.services import Commands
from domain import security_group as sg_model
from projections import network_security_queries as q
from projections.projector import catch_up
from projections.quotas_queries import quota_usage
from projections.replay import replay

OWNER = Caller(user_id="u1", project_id="p1")
OTHER = Caller(user_id="u2", project_id="p2")
ADMIN = Caller(user_id="admin", project_id="admin", is_admin=True)
SERVER = str(uuid.uuid4())
TABLES = ("floating_ips", "security_groups", "security_group_rules")


def caught_up(database_url: str) -> dict[str, list[tuple[object, ...]]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        while catch_up(conn):
            pass
        return {t: conn.execute(f"SELECT * FROM views.{t} ORDER BY 1").fetchall()
                for t in TABLES}


@pytest.fixture
async def views(database_url: str) -> AsyncIterator[AsyncConnectionPool]:
    pool: AsyncConnectionPool = AsyncConnectionPool(database_url, min_size=1, max_size=2,
                                                    open=False)
    await pool.open()
    try:
        yield pool
    finally:
        await pool.close()


def ssh(rule_id: str) -> sg_model.Rule:
    return sg_model.rule(rule_id=rule_id, direction="ingress", protocol="tcp",
                         port_range_min=22, port_range_max=22, remote_ip_prefix="0.0.0.0/0",
                         remote_group_id=None)


async def test_floating_ips_and_groups_are_viewed_as_written_and_rebuilt_equal(
        database_url: str, views: AsyncConnectionPool) -> None:
    cloud = Commands.open(database_url, [])
    try:
        nets = cloud.networks
        public = nets.create_network(ADMIN, "public", name="public", external=True).state.id
        nets.create_subnet(ADMIN, "public-sub", public, name="", cidr="172.24.4.0/24")
        private = nets.create_network(OWNER, "private", name="private").state.id
        nets.create_subnet(OWNER, "private-sub", private, name="", cidr="10.0.0.0/24")
        web = nets.create_security_group(OWNER, "sg-web", name="web").state
        nets.add_rule(OWNER, "rule-ssh", web.id, ssh)
        port = nets.create_port(OWNER, "port-1", private, device_id=SERVER,
                                device_owner="compute:nova").state
        nets.change_server_groups(OWNER, "add-web", SERVER, [port.id], web.id, add=True)
        fip = nets.create_floating_ip(OWNER, "fip-1", public, port_id=port.id).state
        spare = nets.create_floating_ip(OWNER, "fip-2", public, description="spare").state
        theirs = nets.create_security_group(OTHER, "sg-theirs", name="web").state
    finally:
        cloud.close()
    rows = caught_up(database_url)

    mine = await q.floating_ips(views, "p1", {})
    assert [(f.id, f.status, f.port_id, f.fixed_ip_address) for f in mine] == [
        (uuid.UUID(fip.id), "ACTIVE", port.id, port.fixed_ips[0].ip_address),
        (uuid.UUID(spare.id), "DOWN", None, None)]
    assert mine[0].revision_number == 1 and mine[1].revision_number == 0
    assert [f.id for f in await q.floating_ips(views, "p1", {"port_id": [port.id]})] == [
        uuid.UUID(fip.id)]
    assert [f.description for f in await q.floating_ips(views, None, {
        "floating_ip_address": [spare.floating_ip_address]})] == ["spare"]
    assert await q.floating_ips(views, "p2", {}) == []
    assert await q.floating_ips(views, "p1", {"id": ["not-a-uuid"]}) == []

    groups = await q.security_groups(views, "p1", {"name": ["web"]})
    assert [g.id for g in groups] == [uuid.UUID(web.id)]
    assert [(r.direction, r.ethertype, r.protocol, r.port_range_min, r.remote_ip_prefix)
            for r in groups[0].rules] == [("egress", "IPv4", None, None, None),
                                          ("egress", "IPv6", None, None, None),
                                          ("ingress", "IPv4", "tcp", 22, "0.0.0.0/0")]
    assert len(await q.security_groups(views, None, {"name": ["web"]})) == 2
    assert [g.id for g in await q.groups_named(views, "p2", "web")] == [uuid.UUID(theirs.id)]
    assert [r.port_range_max for r in await q.security_group_rules(
        views, "p1", {"protocol": ["tcp"], "port_range_min": ["22"]})] == [22]
    assert await q.security_group_rules(views, "p1", {"port_range_min": ["x"]}) == []
    assert await q.group_in_use(views, uuid.UUID(web.id))
    assert not await q.group_in_use(views, uuid.UUID(theirs.id))
    assert [(p.port_id, p.security_groups) for p in await q.ports_of_server(
        views, uuid.UUID(SERVER))] == [(uuid.UUID(port.id), [web.id])]
    assert await q.groups_of_servers(views, [uuid.UUID(SERVER), uuid.uuid4()]) == {
        SERVER: ["web"]}
    usage = await quota_usage(views, "p1")
    assert (usage.in_use["floating_ips"], usage.in_use["security_groups"]) == (2, 1)

    report = replay(database_url)
    assert report.equal and set(TABLES) <= {t.table for t in report.tables}
    assert caught_up(database_url) == rows


async def test_what_is_released_leaves_the_views_and_the_quota(
        database_url: str, views: AsyncConnectionPool) -> None:
    cloud = Commands.open(database_url, [])
    try:
        nets = cloud.networks
        public = nets.create_network(ADMIN, "public", name="public", external=True).state.id
        nets.create_subnet(ADMIN, "public-sub", public, name="", cidr="172.24.4.0/24")
        private = nets.create_network(OWNER, "private", name="private").state.id
        nets.create_subnet(OWNER, "private-sub", private, name="", cidr="10.0.0.0/24")
        group = nets.create_security_group(OWNER, "sg", name="db").state
        rule = nets.add_rule(OWNER, "rule", group.id, ssh).state
        port = nets.create_port(OWNER, "port", private, security_groups=(group.id,),
                                device_id=SERVER).state
        fip = nets.create_floating_ip(OWNER, "fip", public, port_id=port.id).state
        caught_up(database_url)
        assert await q.group_in_use(views, uuid.UUID(group.id))

        nets.update_floating_ip(OWNER, "fip-off", fip.id, port_id=None)
        nets.remove_rule(OWNER, "rule-off", group.id, rule.id)
        nets.delete_port(OWNER, "port-off", port.id)
        caught_up(database_url)
        off = await q.floating_ip(views, uuid.UUID(fip.id), "p1")
        assert off is not None and (off.status, off.port_id) == ("DOWN", None)
        assert await q.security_group_rule(views, uuid.UUID(rule.id), "p1") is None
        assert not await q.group_in_use(views, uuid.UUID(group.id))
        assert await q.ports_of_server(views, uuid.UUID(SERVER)) == []

        other = nets.create_port(OWNER, "port-2", private).state
        nets.update_floating_ip(OWNER, "fip-on-2", fip.id, port_id=other.id)
        nets.delete_port(OWNER, "port-2-off", other.id)  # its floating IP lets go of it
        caught_up(database_url)
        left = await q.floating_ip(views, uuid.UUID(fip.id), "p1")
        assert left is not None and left.port_id is None  # not routed to a freed address

        nets.delete_floating_ip(OWNER, "fip-gone", fip.id)
        nets.delete_security_group(OWNER, "sg-gone", group.id, in_use=False)
    finally:
        cloud.close()
    rows = caught_up(database_url)
    assert await q.floating_ip(views, uuid.UUID(fip.id), None) is None
    assert await q.security_group(views, uuid.UUID(group.id), None) is None
    assert rows["security_group_rules"] == []  # a deleted group's rules are gone
    usage = await quota_usage(views, "p1")
    assert (usage.in_use["floating_ips"], usage.in_use["security_groups"]) == (0, 0)
