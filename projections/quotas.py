"""The quota view: each project's overridden limits and its usage claims
(an instance's, a volume's, a floating IP's or a security group's;
``instance_id`` holds the claimant's id).

In-use counts are sums over the claims, so a released claim simply
disappears. Defaults are not stored: they are configuration, and the query
side fills them in for every resource a project has not overridden.
"""

from __future__ import annotations

from typing import Any

import psycopg

from domain import quota as model
from projections.log import LogEntry
from projections.statements import Statements


def apply(conn: psycopg.Connection[Any], items: list[tuple[LogEntry, model.QuotaEvent]]) -> None:
    """Apply quota events (in log order) inside the caller's transaction."""
    out = Statements()
    for _entry, event in items:
        if isinstance(event, model.QuotaLimitsSet):
            out.add_many(
                "INSERT INTO quota_limits (project_id, resource, hard_limit)"
                " VALUES (%s, %s, %s) ON CONFLICT (project_id, resource)"
                " DO UPDATE SET hard_limit = EXCLUDED.hard_limit",
                [(event.project_id, r, v) for r, v in sorted(event.limits.items())],
            )
        elif isinstance(event, model.QuotaLimitsReset):
            out.add("DELETE FROM quota_limits WHERE project_id = %s",
                    (event.project_id,))
        elif isinstance(event, model.QuotaUsageClaimed):
            out.add(
                "INSERT INTO quota_claims (project_id, instance_id, instances, cores, ram)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (event.project_id, event.instance_id, event.instances, event.cores,
                 event.ram),
            )
        elif isinstance(event, model.QuotaUsageReleased):
            out.add(
                "DELETE FROM quota_claims WHERE project_id = %s AND instance_id = %s",
                (event.project_id, event.instance_id),
            )
        elif isinstance(event, model.QuotaVolumeClaimed):
            out.add(
                "INSERT INTO quota_claims (project_id, instance_id, instances, cores, ram,"
                " volumes, gigabytes) VALUES (%s, %s, 0, 0, 0, 1, %s) ON CONFLICT DO NOTHING",
                (event.project_id, event.volume_id, event.gigabytes),
            )
        elif isinstance(event, model.QuotaSnapshotClaimed):
            out.add(
                "INSERT INTO quota_claims (project_id, instance_id, instances, cores, ram,"
                " snapshots, gigabytes) VALUES (%s, %s, 0, 0, 0, 1, %s)"
                " ON CONFLICT DO NOTHING",
                (event.project_id, event.snapshot_id, event.gigabytes),
            )
        elif isinstance(event, model.QuotaNetworkClaimed):
            out.add(
                "INSERT INTO quota_claims (project_id, instance_id, instances, cores, ram,"
                " floating_ips, security_groups) VALUES (%s, %s, 0, 0, 0, %s, %s)"
                " ON CONFLICT DO NOTHING",
                (event.project_id, event.owner_id, int(event.resource == "floating_ips"),
                 int(event.resource == "security_groups")),
            )
        elif isinstance(event, model.QuotaVolumeReleased | model.QuotaSnapshotReleased
                        | model.QuotaNetworkReleased):
            gone = (event.volume_id if isinstance(event, model.QuotaVolumeReleased)
                    else event.snapshot_id if isinstance(event, model.QuotaSnapshotReleased)
                    else event.owner_id)
            out.add(
                "DELETE FROM quota_claims WHERE project_id = %s AND instance_id = %s",
                (event.project_id, gone),
            )
    out.send(conn)
