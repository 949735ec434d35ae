"""Quota and host claims on real PostgreSQL: racing boots never over-commit,
and a deletion gives back what the instance held."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from commands.catalog import ensure_defaults
from commands.messages import BootInstance, Caller, DeleteInstance
from commands.services import CloudLimits, Commands
from domain.host import Capacity
from messaging.wire import HostOutcome
from projections.projector import catch_up

IMAGE = "cirros-0.6.2-x86_64-disk"


def open_cloud(database_url: str, hosts: list[str], capacity: Capacity) -> Commands:
    cloud = Commands.open(database_url, hosts, limits=CloudLimits(host_capacity=capacity))
    ensure_defaults(cloud.flavors, cloud.images)
    return cloud


@pytest.fixture
def cloud(database_url: str) -> Iterator[Commands]:
    opened = open_cloud(database_url, ["h1", "h2"],
                        Capacity(vcpus=64, memory_mb=262144, local_gb=5000))
    yield opened
    opened.close()


def race(boot: object, count: int) -> list[str]:
    """Run ``boot(n)`` in ``count`` threads at once; what each ended with."""
    outcomes: list[str] = [""] * count
    start = threading.Barrier(count)

    def one(n: int) -> None:
        start.wait()
        try:
            boot(n)  # type: ignore[operator]
            outcomes[n] = "accepted"
        except Exception as exc:
            outcomes[n] = type(exc).__name__

    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_thirty_racing_boots_against_a_quota_of_ten_instances_accept_exactly_ten(
        cloud: Commands) -> None:
    caller = Caller(user_id="u", project_id="p-race")

    def boot(n: int) -> None:
        cloud.instances.boot(BootInstance(request_id=f"r{n}", caller=caller, name=f"vm{n}",
                                          flavor_ref="1", image_ref=IMAGE))

    outcomes = race(boot, 30)
    assert outcomes.count("accepted") == 10
    assert set(outcomes) == {"accepted", "QuotaExceeded"}
    quota = cloud.quotas.quota("p-race")
    assert quota.in_use().instances == 10 and len(quota.claims) == 10
    hosts = [cloud.hosts.host(h) for h in ("h1", "h2")]
    assert sum(len(h.claims) for h in hosts if h) == 10


def test_racing_boots_on_one_small_host_never_over_commit_it(database_url: str) -> None:
    small = open_cloud(database_url, ["tiny-host"],
                       Capacity(vcpus=4, memory_mb=2048, local_gb=100))
    try:
        hosts: list[str] = [""] * 12

        def boot(n: int) -> None:
            caller = Caller(user_id="u", project_id=f"p{n}")  # quotas do not bind here
            accepted = small.instances.boot(BootInstance(
                request_id=f"s{n}", caller=caller, name=f"vm{n}", flavor_ref="1",
                image_ref=IMAGE))
            state = small.instances.instance(accepted.instance_id, caller)
            hosts[n] = state.host or state.vm_state

        outcomes = race(boot, 12)
        assert set(outcomes) == {"accepted"}  # those no host has room for end in ERROR
        assert sorted(set(hosts)) == ["error", "tiny-host"]
        assert hosts.count("tiny-host") == 4  # 2048 MB / 512 MB per m1.tiny
        host = small.hosts.host("tiny-host")
        assert host is not None and len(host.claims) == 4
        used = host.used()
        assert used.memory_mb == 2048 and used.vcpus == 4
    finally:
        small.close()


def test_deleting_an_instance_frees_its_quota_and_its_host_capacity(
        cloud: Commands, database_url: str) -> None:
    caller = Caller(user_id="u", project_id="p-del")
    accepted = cloud.instances.boot(BootInstance(request_id="b", caller=caller, name="vm",
                                                 flavor_ref="3", image_ref=IMAGE))
    instance = cloud.instances.instance(accepted.instance_id, caller)
    assert cloud.quotas.quota("p-del").in_use().cores == 2
    host = cloud.hosts.host(instance.host)
    assert host is not None and accepted.instance_id in host.claims
    cloud.instances.act(DeleteInstance(request_id="d", caller=caller,
                                       instance_id=accepted.instance_id))
    cloud.instances.record_outcome(HostOutcome(
        instance_id=accepted.instance_id, request_id="d", host=instance.host, ok=True,
        at=datetime.now(UTC)))
    assert cloud.quotas.quota("p-del").in_use().instances == 0
    host = cloud.hosts.host(instance.host)
    assert host is not None and host.claims == {}
    with psycopg.connect(database_url, autocommit=True) as conn:
        while catch_up(conn):
            pass
        claims = conn.execute("SELECT count(*) FROM views.quota_claims").fetchone()
        host_claims = conn.execute("SELECT count(*) FROM views.host_claims").fetchone()
    assert claims == (0,) and host_claims == (0,)


def test_a_boot_no_host_has_room_for_holds_its_quota_until_deleted_and_no_host(
        database_url: str) -> None:
    full = open_cloud(database_url, ["tiny-host"],
                      Capacity(vcpus=1, memory_mb=256, local_gb=1))
    try:
        caller = Caller(user_id="u", project_id="p-full")
        accepted = full.instances.boot(BootInstance(request_id="b", caller=caller, name="vm",
                                                    flavor_ref="1", image_ref=IMAGE))
        instance = full.instances.instance(accepted.instance_id, caller)
        assert (instance.vm_state, instance.host) == ("error", "")
        assert instance.fault is not None and instance.fault.startswith("No valid host")
        assert full.quotas.quota("p-full").in_use().instances == 1
        host = full.hosts.host("tiny-host")
        assert host is not None and host.claims == {}
        full.instances.act(DeleteInstance(request_id="d", caller=caller,
                                          instance_id=accepted.instance_id))  # no host: done
        assert full.quotas.quota("p-full").in_use().instances == 0
    finally:
        full.close()
