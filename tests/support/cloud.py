"""The command side opened directly, seeded like a started cloud, for tests
that drive the services without the HTTP stack."""

from __future__ import annotations

from uuid import UUID

import psycopg

from commands.catalog import ensure_defaults
from commands.services import CloudLimits, Commands
from commands.volume_types import ensure_types
from domain.host import Capacity
from domain.quota import QuotaDefaults
from projections.log import LogEntry, read_after

IMAGE = "cirros-0.6.2-x86_64-disk"

# limits no test that is about something else runs into
ROOMY = CloudLimits(
    quotas=QuotaDefaults(instances=100_000, cores=100_000, ram=100_000_000),
    host_capacity=Capacity(vcpus=100_000, memory_mb=100_000_000, local_gb=10_000_000),
)


def open_cloud(
    database_url: str, hosts: list[str], *, limits: CloudLimits | None = None,
) -> Commands:
    """The command services with the default flavors, image and volume type recorded."""
    cloud = Commands.open(database_url, hosts, limits=limits)
    ensure_defaults(cloud.flavors, cloud.images)
    ensure_types(cloud.volume_types, {})
    return cloud


def events_of(database_url: str, aggregate_id: str) -> list[LogEntry]:
    """Every event of one aggregate, in log order."""
    with psycopg.connect(database_url) as conn:
        entries = read_after(conn, 0, 1_000_000)
    return [e for e in entries if e.aggregate_id == UUID(aggregate_id)]
