"""``nimbus network create`` as an operator runs it (the seed's ``nova-manage
network create``): a subprocess on the store, the network and its subnet
written together, a refused range writing nothing."""

from __future__ import annotations

from pathlib import Path

import psycopg

from projections.projector import catch_up
from tests.e2e.test_identity_cli import env_for, nimbus
from tests.service.test_quota_cli import log_head, rows


def networks(database_url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        while catch_up(conn):
            pass
        return conn.execute("SELECT n.name, n.external, n.shared, s.cidr, s.gateway_ip"
                            " FROM views.networks n JOIN views.subnets s"
                            " ON s.network_id = n.id::text ORDER BY n.number").fetchall()


def test_an_operator_makes_fixed_networks_carried_as_the_manager_says(
        database_url: str, tmp_path: Path) -> None:
    env = env_for(database_url, tmp_path)
    assert nimbus(env, "project", "create", "ops").returncode == 0
    made = nimbus(env, "network", "create", "private", "--fixed-range-v4", "10.0.0.0/24",
                  "--share", "--project", "ops")
    assert made.returncode == 0, made.stderr
    label, cidr, gateway, _project, kind, bridge = next(iter(rows(made.stdout).values()))
    assert (label, cidr, gateway, kind, bridge) == (
        "private", "10.0.0.0/24", "10.0.0.1", "flat", "br100")
    vlan = nimbus({**env, "NIMBUS_NETWORK_MANAGER": "vlan", "NIMBUS_VLAN_START": "200"},
                  "network", "create", "public", "--fixed-range-v4", "172.24.4.0/24",
                  "--external", "--project", "ops")
    assert vlan.returncode == 0, vlan.stderr
    kind, segment = next(iter(rows(vlan.stdout).values()))[4:]
    assert (kind, segment) == ("vxlan", "201")  # network 1; no 8021q on this kernel
    assert networks(database_url) == [
        ("private", False, True, "10.0.0.0/24", "10.0.0.1"),
        ("public", True, False, "172.24.4.0/24", "172.24.4.1")]


def test_a_refused_network_says_why_and_writes_nothing(database_url: str,
                                                       tmp_path: Path) -> None:
    env = env_for(database_url, tmp_path)
    assert nimbus(env, "project", "create", "ops").returncode == 0
    assert nimbus(env, "network", "create", "a", "--fixed-range-v4", "10.0.0.0/16",
                  "--project", "ops").returncode == 0
    before = log_head(database_url)
    overlap = nimbus(env, "network", "create", "b", "--fixed-range-v4", "10.0.5.0/24",
                     "--project", "ops")
    assert overlap.returncode == 1 and "overlaps with another subnet" in overlap.stderr
    bad = nimbus(env, "network", "create", "c", "--fixed-range-v4", "10.0.0.300/24",
                 "--project", "ops")
    assert bad.returncode == 1 and "is not a valid IPv4 subnet" in bad.stderr
    assert "Traceback" not in overlap.stderr + bad.stderr
    assert log_head(database_url) == before
    assert [n[0] for n in networks(database_url)] == ["a"]
