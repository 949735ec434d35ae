"""docs/observability.md names every metric /metrics gives, and the Grafana
dashboard (docs/grafana-dashboard.json) reads only metrics it names."""

from __future__ import annotations

import json
import re
from pathlib import Path

from api import cloud_gauges, metrics
from domain.quota import QuotaDefaults
from projections.cloud_queries import Cloud, ProjectQuota
from projections.progress import Part, Progress

DOCS = Path(__file__).resolve().parents[2] / "docs"
NAME = re.compile(r"\b(?:nimbus|openstack)_[a-z0-9_]+")


def documented() -> set[str]:
    return set(NAME.findall((DOCS / "observability.md").read_text()))


def test_every_gauge_read_at_a_scrape_is_documented() -> None:
    cloud = Cloud(servers=[], servers_by_status={}, volumes=[], volumes_by_status={},
                  quotas=[ProjectQuota(tenant_id="p", tenant="p", overrides={}, instances=0,
                                       cores=0, ram=0)])
    part = Part(name="instances", kind="view", position=1, lag_events=0, lag_seconds=0.0,
                stuck=False, why=None)
    families = [*cloud_gauges.families(cloud, [], QuotaDefaults()),
                *metrics.log_families(Progress(head=1, views=1, stuck=[], parts=[part]),
                                      [part], {})]
    assert {f.name for f in families} - documented() == set()


def test_every_counter_of_the_process_is_documented() -> None:
    from commands import write_counts
    from messaging import consumer

    counters = [metrics.REQUESTS, metrics.LATENCY, write_counts.COMMANDS,
                write_counts.CONFLICTS, consumer.REDELIVERIES, consumer.NAKS]
    names = {sample.name for c in counters for family in c.collect()
             for sample in family.samples}
    # a histogram is documented by its name, its _bucket, _sum and _count with it
    exposed = {re.sub(r"_(bucket|sum|count)$", "", n) for n in names
               if not n.endswith("_created")}
    assert exposed - documented() == set()


def test_the_dashboard_reads_only_documented_metrics() -> None:
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used = {re.sub(r"_(bucket|sum|count)$", "", n) for e in exprs for n in NAME.findall(e)}
    assert used and used - documented() == set()
