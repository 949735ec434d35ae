"""/metrics and /readyz follow the cloud: a server booted shows in the gauges,
requests are counted by route template, a stack whose views do not move
reports every view as behind, by name, with its lag growing as the log does,
a host whose worker is away is named with what waits for it, and a
deployment can leave the per-server and per-volume series out."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from commands.application import Aggregate, Change
from commands.quotas import SetQuotaLimits, quota_of
from commands.services import Commands
from domain import quota as quota_model
from domain.quota import QuotaDefaults
from messaging.consumer import ConsumerSpec, Delivery, TransientError, consume
from messaging.nats import connect, publish
from messaging.subjects import Subjects
from runtime.stack import PARTS
from tests.e2e.test_hosts_api import member
from tests.e2e.test_volumes_api import volumes_of, wait_for_volume
from tests.support.polling import eventually
from tests.support.stack import RunningStack, stack_running

S = "/compute/v2.1/servers"
Labels = frozenset[tuple[str, str]]


async def scrape(base_url: str) -> dict[str, dict[Labels, float]]:
    """Every sample of /metrics, asked without a token: name -> labels -> value."""
    async with httpx.AsyncClient(base_url=base_url, timeout=20) as anonymous:
        r = await anonymous.get("/metrics")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    samples: dict[str, dict[Labels, float]] = {}
    for family in text_string_to_metric_families(r.text):
        for sample in family.samples:
            samples.setdefault(sample.name, {})[frozenset(sample.labels.items())] = sample.value
    return samples


def where(series: dict[Labels, float], **labels: str) -> dict[Labels, float]:
    """The samples whose labels include ``labels``."""
    wanted = set(labels.items())
    return {k: v for k, v in series.items() if wanted <= k}


def total(samples: dict[str, dict[Labels, float]], metric: str, /, **labels: str) -> float:
    return sum(where(samples.get(metric, {}), **labels).values())


async def test_a_booted_server_shows_in_the_gauges_and_its_requests_by_route(
        running_stack: RunningStack) -> None:
    stack = running_stack
    base = stack.settings.base_url
    before = await scrape(base)
    vcpus_used = total(before, "openstack_nova_vcpus_used")
    accepted = total(before, "nimbus_commands_total", outcome="accepted", source="request")
    rejected = total(before, "nimbus_commands_total", outcome="rejected", source="request")

    r = await stack.http.post(S, json={"server": {
        "name": "counted", "imageRef": "cirros-0.6.2-x86_64-disk", "flavorRef": "1"}})
    assert r.status_code == 202, r.text
    server_id = r.json()["server"]["id"]
    await stack.wait_for_status(server_id, "ACTIVE")
    refused = await stack.http.post(f"{S}/{server_id}/action", json={"unpause": None})
    assert refused.status_code == 409, refused.text  # decided and refused by the write path

    async def shown() -> dict[str, dict[Labels, float]] | None:
        now = await scrape(base)
        active = where(now.get("openstack_nova_server_status", {}), id=server_id,
                       status="ACTIVE")
        return now if active else None
    after = await eventually(shown, what="the server's status series")

    [(labels, value)] = where(after["openstack_nova_server_status"], id=server_id).items()
    assert value == 0  # ACTIVE's index in openstack-exporter's table
    assert dict(labels)["name"] == "counted"
    assert dict(labels)["hypervisor_hostname"] in stack.settings.hosts
    assert total(after, "openstack_nova_vcpus_used") == vcpus_used + 1  # flavor 1: one vCPU
    assert total(after, "openstack_nova_total_vms") >= 1
    assert total(after, "openstack_nova_limits_instances_used", tenant="admin") >= 1
    assert total(after, "nimbus_commands_total", outcome="accepted",
                 source="request") > accepted
    assert total(after, "nimbus_commands_total", outcome="rejected",
                 source="request") == rejected + 1

    requests = after["nimbus_http_requests_total"]
    assert where(requests, route=S, method="POST", status="202")
    assert where(requests, route=S + "/{server_id}", method="GET", status="200")
    assert not [k for k in requests if server_id in dict(k)["route"]]  # templates, not paths
    assert where(after["nimbus_http_request_duration_seconds_count"], route=S, method="POST")

    head = total(after, "nimbus_log_head_position")
    assert 0 < total(after, "nimbus_view_position") <= head
    parts = after["nimbus_part_position"]
    assert where(parts, kind="view", name="instances")
    assert where(parts, kind="relay", name="relay")
    assert where(parts, kind="ingester", name="ingester")
    assert where(parts, kind="host", name="hypervisor-compute1")
    assert set(dict(k)["host"] for k in after["nimbus_host_heartbeat_age_seconds"]) == set(
        stack.settings.hosts)

    async def caught_up() -> dict[str, Any] | None:
        ready = (await stack.http.get("/readyz")).json()
        views = [p for p in ready["parts"] if p["kind"] == "view"]
        return ready if all(p["lag_events"] == 0 for p in views) else None
    ready = await eventually(caught_up, what="the views catching up")
    assert ready["status"] == "ready"
    instances = next(p for p in ready["parts"] if p["name"] == "instances")
    assert instances == {"name": "instances", "kind": "view", "position": ready["position"],
                         "lag_events": 0, "lag_seconds": 0.0, "stuck": False, "why": None}
    assert {p["kind"] for p in ready["parts"]} == {"view", "relay", "ingester", "host"}


async def test_views_that_do_not_move_are_named_with_their_lag_growing(
        database_url: str, nats_url: str, subject_prefix: str, tmp_path: Path) -> None:
    # No projector: the views stay where they are while the API writes.
    async with (
        stack_running(database_url, nats_url, subject_prefix, tmp_path,
                      parts=frozenset({"api"}), stuck_after_seconds=0) as stack,
        httpx.AsyncClient(base_url=stack.settings.base_url, timeout=20) as anonymous,
    ):
        before = await scrape(stack.settings.base_url)
        lag = total(before, "nimbus_part_lag_events", kind="view", name="flavors")
        assert lag > 0  # the catalog and the first admin, written at start

        created = await stack.http.post("/compute/v2.1/flavors", json={"flavor": {
            "name": "unseen", "ram": 64, "vcpus": 1, "disk": 1, "id": "unseen"}})
        assert created.status_code == 200, created.text

        after = await scrape(stack.settings.base_url)
        assert total(after, "nimbus_part_lag_events", kind="view", name="flavors") > lag
        assert total(after, "nimbus_part_lag_seconds", kind="view", name="flavors") > 0
        assert total(after, "nimbus_part_stuck", kind="view", name="flavors") == 1
        assert total(after, "nimbus_log_head_position") > total(before,
                                                                "nimbus_log_head_position")

        ready = await anonymous.get("/readyz")
        assert ready.status_code == 503, ready.text
        body = ready.json()
        assert body["status"] == "not ready" and body["stuck"] == []  # behind, not faulted
        flavors = next(p for p in body["parts"] if p["name"] == "flavors")
        assert flavors["kind"] == "view" and flavors["stuck"] is True
        assert flavors["position"] == 0 and flavors["lag_events"] == body["head"]
        assert flavors["why"].startswith(f"{body['head']} events wait, the oldest for")
        relay = next(p for p in body["parts"] if p["kind"] == "relay")
        assert relay["stuck"] is True  # no relay runs either


async def test_a_host_whose_worker_is_away_is_named_with_what_waits_for_it(
        database_url: str, nats_url: str, subject_prefix: str, tmp_path: Path) -> None:
    # The first stack registers the hosts and their workers' consumers; the
    # second runs everything but the hypervisor workers, on the same streams.
    async with stack_running(database_url, nats_url, subject_prefix, tmp_path,
                             keep_streams=True):
        pass
    async with stack_running(database_url, nats_url, subject_prefix, tmp_path,
                             parts=PARTS - {"hypervisor", "metadata"},
                             stuck_after_seconds=0) as running:
        r = await running.http.post(S, json={"server": {
            "name": "waiting", "imageRef": "cirros-0.6.2-x86_64-disk", "flavorRef": "1"}})
        assert r.status_code == 202, r.text
        shown = await running.http.get(f"{S}/{r.json()['server']['id']}",
                                       headers={"Nimbus-Log-Position":
                                                r.headers["Nimbus-Log-Position"]})
        host = shown.json()["server"]["OS-EXT-SRV-ATTR:host"]
        consumer = f"hypervisor-{host}"

        async def waiting() -> dict[str, Any] | None:
            ready = (await running.http.get("/readyz")).json()
            [part] = [p for p in ready["parts"] if p["name"] == consumer]
            views_caught_up = all(p["lag_events"] == 0 for p in ready["parts"]
                                  if p["kind"] in ("view", "relay"))
            return ready if part["lag_events"] >= 1 and views_caught_up else None
        ready = await eventually(waiting, what=f"the boot request waiting for {consumer}")

        [part] = [p for p in ready["parts"] if p["name"] == consumer]
        assert part["kind"] == "host" and part["stuck"] is True
        assert part["lag_seconds"] > 0 and part["why"].startswith("1 events wait")
        assert part["position"] < ready["head"]  # the boot request is after it
        assert ready["status"] == "ready"  # a host away does not make the API unready

        scraped = await scrape(running.settings.base_url)
        assert total(scraped, "nimbus_part_lag_events", kind="host", name=consumer) == 1
        assert total(scraped, "nimbus_part_stuck", kind="host", name=consumer) == 1


async def a_volume(stack: RunningStack, project: str, name: str) -> str:
    """A new volume of ``project``, once available."""
    base = volumes_of(project)
    headers = member(stack, project)
    r = await stack.http.post(base, headers=headers, json={"volume": {"size": 1, "name": name}})
    assert r.status_code == 202, r.text
    volume_id: str = r.json()["volume"]["id"]
    await wait_for_volume(stack.http, f"{base}/{volume_id}", "available", headers)
    return volume_id


async def test_a_created_volume_shows_in_the_volume_gauges(running_stack: RunningStack) -> None:
    base = running_stack.settings.base_url
    volume_id = await a_volume(running_stack, "p-gauged", "gauged")

    async def shown() -> dict[str, dict[Labels, float]] | None:
        now = await scrape(base)
        return now if where(now.get("openstack_cinder_volume_status", {}), id=volume_id,
                            status="available") else None
    after = await eventually(shown, what="the volume's status series")

    [(labels, value)] = where(after["openstack_cinder_volume_status"], id=volume_id).items()
    assert value == 1  # available's index in openstack-exporter's table
    assert (dict(labels)["name"], dict(labels)["tenant_id"], dict(labels)["size"]) == (
        "gauged", "p-gauged", "1")
    assert total(after, "openstack_cinder_volumes") >= 1
    assert total(after, "openstack_cinder_volume_status_counter", status="available") >= 1


async def test_without_resource_series_metrics_names_no_server_or_volume_but_counts_them(
        database_url: str, nats_url: str, subject_prefix: str, tmp_path: Path) -> None:
    async with stack_running(database_url, nats_url, subject_prefix, tmp_path,
                             metrics_resource_series=False) as stack:
        volume_id = await a_volume(stack, "p-unnamed", "unnamed")
        r = await stack.http.post(S, json={"server": {
            "name": "unnamed", "imageRef": "cirros-0.6.2-x86_64-disk", "flavorRef": "1"}})
        assert r.status_code == 202, r.text
        server_id = r.json()["server"]["id"]
        await stack.wait_for_status(server_id, "ACTIVE")

        async def counted() -> dict[str, dict[Labels, float]] | None:
            now = await scrape(stack.settings.base_url)
            both = (total(now, "openstack_nova_total_vms") == 1
                    and total(now, "openstack_cinder_volumes") == 1)
            return now if both else None
        scraped = await eventually(counted, what="the server and the volume counted")

        assert "openstack_nova_server_status" not in scraped
        assert "openstack_cinder_volume_status" not in scraped
        assert total(scraped, "nimbus_servers", status="ACTIVE") == 1
        assert total(scraped, "openstack_cinder_volume_status_counter", status="available") == 1
        async with httpx.AsyncClient(base_url=stack.settings.base_url, timeout=20) as anonymous:
            text = (await anonymous.get("/metrics")).text
        assert server_id not in text and volume_id not in text


async def test_a_write_that_met_a_version_conflict_is_counted(
        running_stack: RunningStack) -> None:
    # Two writers on the stack's store, as two command processes would be: the
    # second commits to the quota after the first loaded it, so the first meets
    # a version conflict and decides again. The counter is this process's, and
    # so the stack's /metrics (served here) shows it.
    base = running_stack.settings.base_url
    before = total(await scrape(base), "nimbus_command_conflicts_total")
    decisions = 0

    def raced() -> None:
        mine, theirs = (Commands.open(running_stack.database_url, ["compute1"])
                        for _ in range(2))

        def claim(quota: Aggregate[quota_model.Quota], at: datetime) -> list[Change]:
            nonlocal decisions
            decisions += 1
            if decisions == 1:  # the other writer gets there first, once
                theirs.quotas.set_limits(SetQuotaLimits(
                    request_id="r-theirs", project_id="p-raced", limits={"instances": 3}))
            return [(quota, quota_model.claim(
                quota.current, QuotaDefaults(), project_id="p-raced",
                instance_ids=["mine"], vcpus=1, ram=512, at=at))]
        try:
            mine.app.execute("r-mine", lambda: quota_of(mine.app, "p-raced"), claim)
        finally:
            mine.close()
            theirs.close()

    await asyncio.to_thread(raced)
    assert decisions == 2
    assert total(await scrape(base), "nimbus_command_conflicts_total") == before + 1


async def test_a_failed_delivery_is_counted_as_naked_and_then_redelivered(
        running_stack: RunningStack) -> None:
    base = running_stack.settings.base_url
    subjects = Subjects(running_stack.settings.subject_prefix)
    spec = ConsumerSpec(stream=subjects.events_stream, durable="metrics-h9",
                        filter_subject=subjects.host_events("instance", "h9"), nak_delay=0.1)
    attempts: list[int] = []

    async def fails_once(delivery: Delivery) -> None:
        attempts.append(delivery.attempt)
        if delivery.attempt == 1:
            raise TransientError("not yet")

    nc = await connect(running_stack.nats_url)
    stop = asyncio.Event()
    js = nc.jetstream()
    worker = asyncio.create_task(consume(js, spec, fails_once, lambda _s, _d: "k", stop))
    try:
        await publish(js, subjects.event("instance", "h9", "Work"), b"{}", msg_id="metrics-1")

        async def handled() -> dict[str, dict[Labels, float]] | None:
            now = await scrape(base)
            done = total(now, "nimbus_consumer_redeliveries_total", consumer="metrics-h9") == 1
            return now if done and attempts == [1, 2] else None
        scraped = await eventually(handled, what="the message handled on its second delivery")
    finally:
        stop.set()
        await asyncio.wait_for(worker, 5)
        await nc.close()
    assert total(scraped, "nimbus_consumer_naks_total", consumer="metrics-h9",
                 reason="failed") == 1
    assert total(scraped, "nimbus_consumer_naks_total", consumer="metrics-h9",
                 reason="ordered") == 0
