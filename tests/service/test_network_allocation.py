"""Addresses on one network, taken by writers racing in two write sides (as two
API processes): every port gets its own address and MAC, none is handed out
twice, and once the subnet is full the rest are refused, not over-allocated."""

from __future__ import annotations

import re
import threading
from collections import Counter

import pytest

from commands.messages import Caller
from commands.services import Commands
from domain.errors import Conflict, InvalidInput
from domain.quota import QuotaDefaults

OWNER = Caller(user_id="u1", project_id="p1")
ADMIN = Caller(user_id="admin", project_id="admin", is_admin=True)


def test_ports_created_at_once_from_two_write_sides_never_share_an_address(
        database_url: str) -> None:
    one, two = Commands.open(database_url, []), Commands.open(database_url, [])
    try:
        net = one.networks.create_network(OWNER, "net", name="private").state.id
        one.networks.create_subnet(OWNER, "sub", net, name="s", cidr="10.0.0.0/28")  # 13 free
        start = threading.Barrier(6)
        made: list[str] = []
        refused: list[str] = []

        def create(cloud: Commands, t: int) -> None:
            start.wait()
            for n in range(4):
                try:
                    port = cloud.networks.create_port(OWNER, f"port-{t}-{n}", net).state
                    made.append(f"{port.fixed_ips[0].ip_address} {port.mac_address}")
                except Conflict as error:
                    refused.append(str(error))

        threads = [threading.Thread(target=create, args=(cloud, t))
                   for t, cloud in enumerate([one, two] * 3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(made) == 13 and len(refused) == 11
        assert all("No more IP addresses available" in r for r in refused)
        ips = Counter(m.split()[0] for m in made)
        assert max(ips.values()) == 1 and len({m.split()[1] for m in made}) == 13
        network = one.networks.network(net, OWNER)
        assert sorted(a.ip for a in network.allocations.values()) == sorted(ips)
    finally:
        one.close()
        two.close()


def test_a_floating_ip_needs_an_external_network_and_counts_against_the_quota(
        database_url: str) -> None:
    cloud = Commands.open(database_url, [])
    cloud.placement.quotas = QuotaDefaults(floating_ips=2)
    try:
        nets = cloud.networks
        private = nets.create_network(OWNER, "private", name="private").state.id
        nets.create_subnet(OWNER, "private-sub", private, name="", cidr="10.0.0.0/24")
        public = nets.create_network(ADMIN, "public", name="public", external=True).state.id
        nets.create_subnet(ADMIN, "public-sub", public, name="", cidr="172.24.4.0/24")
        with pytest.raises(InvalidInput, match="is not a valid external network"):
            nets.create_floating_ip(OWNER, "fip-private", private)
        first = nets.create_floating_ip(OWNER, "fip-1", public).state
        again = nets.create_floating_ip(OWNER, "fip-1", public)  # a retry: the same answer
        assert again.state.id == first.id and again.position is None
        nets.create_floating_ip(OWNER, "fip-2", public)
        with pytest.raises(Conflict, match=re.escape("Quota exceeded for resources:"
                                                     " ['floating_ip']")):
            nets.create_floating_ip(OWNER, "fip-3", public)
        nets.delete_floating_ip(OWNER, "fip-1-delete", first.id)
        third = nets.create_floating_ip(OWNER, "fip-3-again", public).state
        assert third.floating_ip_address == first.floating_ip_address  # given back, reused
    finally:
        cloud.close()
