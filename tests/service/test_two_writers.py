"""Two OS processes, each with its own write side and group commit, racing on
one project's quota and one host: nothing over-committed, no boot lost (a
boot the host has no room for is accepted, in ERROR on no host)."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter

import psycopg

from api.errors import error_response
from commands.messages import BootInstance, Caller
from commands.services import CloudLimits, Commands
from domain.errors import DomainError
from domain.host import Capacity
from domain.quota import QuotaDefaults
from projections.log import read_after
from tests.support.cloud import IMAGE, open_cloud

SHARED = "p-shared"
QUOTA = 5  # instances of any one project
HOST_SLOTS = 8  # m1.tiny instances the one host has room for
LIMITS = CloudLimits(
    quotas=QuotaDefaults(instances=QUOTA, cores=100, ram=100_000),
    host_capacity=Capacity(vcpus=HOST_SLOTS, memory_mb=HOST_SLOTS * 512, local_gb=1000))
THREADS, BOOTS = 6, 3  # per process


def boot_from_threads(database_url: str, name: str) -> list[str]:
    """In a process of its own: boot from several threads at once, half of
    the boots in the shared project; each boot's outcome ("accepted <id>" or
    the HTTP status the API would answer)."""
    cloud = Commands.open(database_url, ["h1"], limits=LIMITS)
    outcomes: list[str] = []
    start = threading.Barrier(THREADS)

    def boots(t: int) -> None:
        start.wait()
        for n in range(BOOTS):
            project = SHARED if n % 2 == 0 else f"p-{name}-{t}-{n}"
            try:
                accepted = cloud.instances.boot(BootInstance(
                    request_id=f"{name}-{t}-{n}", caller=Caller(user_id="u", project_id=project),
                    name="vm", flavor_ref="1", image_ref=IMAGE))
                outcomes.append(f"accepted {accepted.instance_id} {project}"
                                f" {accepted.state.host or '-'}")
            except DomainError as refused:
                outcomes.append(str(error_response(refused).status_code))

    threads = [threading.Thread(target=boots, args=(t,)) for t in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    cloud.close()
    return outcomes


def test_two_processes_racing_on_one_quota_and_one_host_never_over_commit_or_lose_a_boot(
        database_url: str) -> None:
    open_cloud(database_url, ["h1"], limits=LIMITS).close()
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        results = pool.starmap(boot_from_threads, [(database_url, "a"), (database_url, "b")])
    outcomes = [o for result in results for o in result]
    assert len(outcomes) == 2 * THREADS * BOOTS  # every boot was answered
    accepted = [o.split()[1:] for o in outcomes if o.startswith("accepted")]
    placed = [(i, p) for i, p, host in accepted if host != "-"]
    refusals = Counter(o for o in outcomes if not o.startswith("accepted"))
    assert len(placed) == HOST_SLOTS  # the host filled, and no further
    assert set(refusals) <= {"403"}  # over quota (no room: accepted, in ERROR)
    assert sum(1 for _, project, _ in accepted if project == SHARED) <= QUOTA

    cloud = Commands.open(database_url, ["h1"], limits=LIMITS)
    try:
        host = cloud.hosts.host("h1")
        assert host is not None and sorted(host.claims) == sorted(i for i, _ in placed)
        shared = cloud.quotas.quota(SHARED)  # the ERROR ones count too, as in Nova
        assert sorted(shared.claims) == sorted(i for i, p, _ in accepted if p == SHARED)
    finally:
        cloud.close()
    with psycopg.connect(database_url) as conn:
        created = {str(e.aggregate_id) for e in read_after(conn, 0, 1_000_000)
                   if e.topic.endswith(":InstanceCreateRequested")}
    assert created == {i for i, _, _ in accepted}  # every accepted boot is in the log, only those
