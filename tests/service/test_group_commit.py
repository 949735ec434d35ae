"""Group commit on real PostgreSQL: requests that arrive together are decided
in order and committed in one transaction, each answered on its own; a batch
another writer overtook is decided again and never over-commits."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from functools import partial
from typing import Any

import psycopg
import pytest

from commands.application import Aggregate, Change, nothing
from commands.messages import Accepted, BootInstance, Caller
from commands.quotas import quota_of
from commands.services import CloudLimits, Commands
from domain import quota as quota_model
from domain.host import Capacity
from domain.quota import QuotaDefaults, QuotaExceeded
from domain.registry import QUOTA
from projections.log import EVENTS_TABLE
from tests.support.cloud import IMAGE, events_of, open_cloud
from tests.support.polling import eventually_sync

THREE_INSTANCES = CloudLimits(
    quotas=QuotaDefaults(instances=3, cores=100, ram=100_000),
    host_capacity=Capacity(vcpus=100, memory_mb=100_000, local_gb=10_000))


@pytest.fixture
def cloud(database_url: str) -> Iterator[Commands]:
    opened = open_cloud(database_url, ["h1"], limits=THREE_INSTANCES)
    yield opened
    opened.close()


def boot(cloud: Commands, request_id: str, project: str = "p") -> Accepted:
    return cloud.instances.boot(BootInstance(
        request_id=request_id, caller=Caller(user_id="u", project_id=project), name="vm",
        flavor_ref="1", image_ref=IMAGE))


def decided_together(cloud: Commands, calls: list[Callable[[], Any]]) -> list[Any]:
    """Each call's result (or exception), the calls made while a batch is
    being decided, so that all of them wait and are decided in the next batch."""
    inside, release = threading.Event(), threading.Event()

    def hold(aggregate: Aggregate[Any], at: datetime) -> list[Change]:
        inside.set()
        release.wait()
        return []

    holder = threading.Thread(target=cloud.app.execute, args=(
        None, lambda: Aggregate(uuid.uuid4(), QUOTA), hold), kwargs={"answer": nothing})
    holder.start()
    inside.wait()
    results: list[Any] = [None] * len(calls)

    def run(n: int) -> None:
        try:
            results[n] = calls[n]()
        except Exception as error:
            results[n] = error

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for t in threads:
        t.start()
    eventually_sync(lambda: cloud.app.waiting == len(calls), what="every call waiting")
    release.set()
    for t in [holder, *threads]:
        t.join()
    return results


def transactions_of(database_url: str, positions: list[int]) -> int:
    """How many transactions wrote the events at ``positions``."""
    with psycopg.connect(database_url) as conn:
        row = conn.execute(f"SELECT count(DISTINCT xmin::text) FROM {EVENTS_TABLE}"
                           " WHERE notification_id = ANY(%s)", (positions,)).fetchone()
    assert row is not None
    return int(row[0])


def test_boots_arriving_together_claim_the_quota_in_turn_and_commit_in_one_transaction(
        cloud: Commands, database_url: str) -> None:
    results = decided_together(cloud, [partial(boot, cloud, f"r{n}") for n in range(5)])
    accepted = [r for r in results if isinstance(r, Accepted)]
    assert len(accepted) == 3
    assert [type(r) for r in results if not isinstance(r, Accepted)] == [QuotaExceeded] * 2
    positions = [a.position for a in accepted]
    assert None not in positions and len(set(positions)) == 3  # each its own position
    assert transactions_of(database_url, [p for p in positions if p is not None]) == 1
    quota = cloud.quotas.quota("p")
    assert sorted(quota.claims) == sorted(a.instance_id for a in accepted)


def test_a_refused_boot_in_a_batch_leaves_the_others_of_its_batch_written(
        cloud: Commands, database_url: str) -> None:
    results = decided_together(cloud, [
        lambda: boot(cloud, "ok-1"),
        lambda: cloud.instances.boot(BootInstance(
            request_id="bad", caller=Caller(user_id="u", project_id="p"), name="vm",
            flavor_ref="1", image_ref=IMAGE, max_count=5, min_count=5)),
        lambda: boot(cloud, "ok-2")])
    assert isinstance(results[0], Accepted) and isinstance(results[2], Accepted)
    assert isinstance(results[1], QuotaExceeded)
    assert cloud.quotas.quota("p").in_use().instances == 2


def test_the_same_request_twice_in_one_batch_is_written_once(
        cloud: Commands, database_url: str) -> None:
    first, second = decided_together(cloud, [lambda: boot(cloud, "twice")] * 2)
    assert isinstance(first, Accepted) and isinstance(second, Accepted)
    assert first.instance_id == second.instance_id
    assert len(events_of(database_url, first.instance_id)) == 1
    assert cloud.quotas.quota("p").in_use().instances == 1


def test_a_batch_another_writer_overtook_is_decided_again_and_refused_when_full(
        database_url: str) -> None:
    one = CloudLimits(quotas=QuotaDefaults(instances=1, cores=100, ram=100_000),
                      host_capacity=THREE_INSTANCES.host_capacity)
    mine, theirs = (open_cloud(database_url, ["h1"], limits=one) for _ in range(2))
    decisions = 0
    try:
        def claim(quota: Aggregate[quota_model.Quota], at: datetime) -> list[Change]:
            nonlocal decisions
            decisions += 1
            boot(theirs, "theirs")  # commits after this decision loaded the quota
            return [(quota, quota_model.claim(
                quota.current, one.quotas, project_id="p", instance_ids=["mine"],
                vcpus=1, ram=512, at=at))]

        with pytest.raises(QuotaExceeded):
            mine.app.execute("r-mine", lambda: quota_of(mine.app, "p"), claim)
        assert decisions == 2 and mine.app.retries.conflicts == 1
        assert list(mine.quotas.quota("p").claims) != ["mine"]
        assert mine.quotas.quota("p").in_use().instances == 1
    finally:
        mine.close()
        theirs.close()
