"""``GET /metrics``: the Prometheus text exposition, served beside the health routes.

Like /healthz and /readyz it needs no token, as a Prometheus exporter does
on a port of its own, so it says no more than an operator's dashboard
needs: counts, positions and lags, and the cloud gauges of api/cloud_gauges.py.
Those carry the ids and names openstack-exporter's carry (servers', volumes',
projects', hosts'); the log's own metrics carry only view, part and host
names and states. A deployment that must not show them keeps /metrics
behind its proxy, as it would the exporter.

Two sorts of series:

* This process's own counters (prometheus_client's default registry): HTTP
  requests by route template, method and status, and their latency
  (``count_request``, from api/request_log.py); writes accepted and rejected and
  version conflicts (commands/write_counts.py); consumer redeliveries and
  naks (messaging/consumer.py). With ``api_processes`` > 1 every process
  has its own registry and the processes share one port, so a scrape reads
  whichever process answers it: these counters are that process's alone
  (one may seem to go back between scrapes; ``rate()`` takes it for a
  reset). A process counts only what runs in it: the write path in a
  command process, a worker's consumer where the worker runs.
* Read at each scrape, the same for every process: the log's head, each
  part's position and lag (projections/progress.py: the views, the relay,
  the ingester's and the hosts' JetStream consumers), the hosts' heartbeat
  ages, and the cloud gauges, all stamped by ``nimbus_view_position``.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Scope

from api import cloud_gauges
from api.cloud_gauges import gauge
from api.context import context
from api.health import parts_of
from projections.cloud_queries import cloud
from projections.hosts_queries import list_hosts
from projections.progress import Part, Progress, heartbeats

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED = "unmatched"  # the route label of a request no route matched (bounded)
# the method label: any other a client sends is "other", so no client makes series
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# no ``*_created`` series beside every counter: they double the series for no
# dashboard's use (prometheus_client reads this when it collects)
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in prometheus_client

REQUESTS = Counter("nimbus_http_requests", "HTTP requests answered, by route template,"
                   " method and status", ["route", "method", "status"])
LATENCY = Histogram("nimbus_http_request_duration_seconds", "Time to the response's"
                    " last byte, by route template and method", ["route", "method"])


def route_template(route: BaseRoute | None) -> str:
    """The path format of the route that served a request (``/compute/v2.1/
    servers/{server_id}``), never the raw path: one series per route."""
    return route.path if isinstance(route, Route) else UNMATCHED


def count_request(scope: Scope, status: int, seconds: float) -> None:
    """Count one answered request and its time, by the route it was served by:
    api/request_log.py calls this once the answer is sent, by when the router
    has recorded the route it matched in the request's scope."""
    route = route_template(scope.get("route"))
    method = scope["method"] if scope["method"] in METHODS else "other"
    REQUESTS.labels(route, method, str(status)).inc()
    LATENCY.labels(route, method).observe(seconds)


def log_families(progress: Progress | None, parts: list[Part],
                 beats: dict[str, float]) -> Iterable[Metric]:
    if progress is not None:
        head = gauge("nimbus_log_head_position", "The event log's last position")
        head.add_metric([], progress.head)
        yield head
        views = gauge("nimbus_view_position", "The log position the views reflect (the"
                       " cloud gauges are as of this position)")
        views.add_metric([], progress.views)
        yield views
    labels = ["kind", "name"]
    position = gauge("nimbus_part_position", "The last position a follower of the log"
                      " applied: a log position (view, relay), a stream sequence (ingester,"
                      " host)", labels)
    lag_events = gauge("nimbus_part_lag_events", "Events waiting for the part", labels)
    lag_seconds = gauge("nimbus_part_lag_seconds", "How long the oldest event waiting for"
                         " the part has waited (0 when none waits)", labels)
    stuck = gauge("nimbus_part_stuck", "1 when the part cannot apply an event or its oldest"
                   " waiting event is older than stuck_after_seconds", labels)
    for part in parts:
        key = [part.kind, part.name]
        if part.position is not None:
            position.add_metric(key, part.position)
        if part.lag_events is not None:
            lag_events.add_metric(key, part.lag_events)
        if part.lag_seconds is not None:
            lag_seconds.add_metric(key, part.lag_seconds)
        stuck.add_metric(key, 1 if part.stuck else 0)
    yield from (position, lag_events, lag_seconds, stuck)
    heartbeat = gauge("nimbus_host_heartbeat_age_seconds", "Seconds since the hypervisor"
                       " host last reported (its heartbeat)", ["host"])
    for host, age in sorted(beats.items()):
        heartbeat.add_metric([host], age)
    yield heartbeat


class _Families(Collector):
    """Metric families read for one scrape, as a collector of a throwaway registry."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


async def metrics(request: Request) -> Response:
    ctx = context(request)
    progress, parts = await parts_of(ctx)
    families: list[Metric] = []
    if ctx.pool is not None:
        beats = {b.host: b.seconds_since_seen for b in await heartbeats(ctx.pool)}
        families += log_families(progress, parts, beats)
        # without resource series no server or volume row is read: only their counts
        series = ctx.settings.metrics_series_limit if ctx.settings.metrics_resource_series else 0
        families += cloud_gauges.families(
            await cloud(ctx.pool, series),
            await list_hosts(ctx.pool), ctx.settings.quota_defaults)
    else:
        families += log_families(progress, parts, {})
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(_Families(families))
    return Response(generate_latest(REGISTRY) + generate_latest(scraped),
                    media_type=CONTENT_TYPE)


routes = [Route("/metrics", metrics, methods=["GET"])]
