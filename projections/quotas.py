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
from projections.upsert import Upsert

_CLAIM_COLUMNS = ("project_id", "instance_id", "instances", "cores", "ram", "volumes",
                  "gigabytes", "snapshots", "floating_ips", "security_groups")
_CLAIMS = Upsert("quota_claims", _CLAIM_COLUMNS, key=None)  # a claim met again stays as it was
_RELEASE = ("DELETE FROM quota_claims AS c USING unnest(%b::text[], %b::text[]) AS r(p, i)"
            " WHERE c.project_id = r.p AND c.instance_id = r.i")

Claim = tuple[str, str]  # project id, claimant id


def _claim(event: model.QuotaEvent) -> tuple[Any, ...] | None:
    """The claim row an event adds (None: it adds none)."""
    match event:
        case model.QuotaUsageClaimed():
            return (event.project_id, event.instance_id, event.instances, event.cores,
                    event.ram, 0, 0, 0, 0, 0)
        case model.QuotaVolumeClaimed():
            return (event.project_id, event.volume_id, 0, 0, 0, 1, event.gigabytes, 0, 0, 0)
        case model.QuotaSnapshotClaimed():
            return (event.project_id, event.snapshot_id, 0, 0, 0, 0, event.gigabytes, 1, 0, 0)
        case model.QuotaNetworkClaimed():
            return (event.project_id, event.owner_id, 0, 0, 0, 0, 0, 0,
                    int(event.resource == "floating_ips"),
                    int(event.resource == "security_groups"))
    return None


def _released(event: model.QuotaEvent) -> str | None:
    """The claimant whose claim an event releases (None: it releases none)."""
    match event:
        case model.QuotaUsageReleased():
            return event.instance_id
        case model.QuotaVolumeReleased():
            return event.volume_id
        case model.QuotaSnapshotReleased():
            return event.snapshot_id
        case model.QuotaNetworkReleased():
            return event.owner_id
    return None


def apply(conn: psycopg.Connection[Any], items: list[tuple[LogEntry, model.QuotaEvent]]) -> None:
    """Apply quota events (in log order) inside the caller's transaction.

    A batch's claims and releases are folded per claimant first, and sent as
    one DELETE and one INSERT: the same rows as applying them one by one (a
    claim met again keeps the first, unless it ``replaces`` it, as a resize's
    does; a release drops the claim, and a claim after it adds one anew)."""
    limits = Statements()
    released: set[Claim] = set()
    claimed: dict[Claim, tuple[Any, ...]] = {}
    for _entry, event in items:
        if isinstance(event, model.QuotaLimitsSet):
            limits.add_many(
                "INSERT INTO quota_limits (project_id, resource, hard_limit)"
                " VALUES (%s, %s, %s) ON CONFLICT (project_id, resource)"
                " DO UPDATE SET hard_limit = EXCLUDED.hard_limit",
                [(event.project_id, r, v) for r, v in sorted(event.limits.items())],
            )
        elif isinstance(event, model.QuotaLimitsReset):
            limits.add("DELETE FROM quota_limits WHERE project_id = %s", (event.project_id,))
        elif (row := _claim(event)) is not None:
            if isinstance(event, model.QuotaUsageClaimed) and event.replaces:
                released.add((row[0], row[1]))  # the row it had goes, this one comes
                claimed[row[0], row[1]] = row
            else:
                claimed.setdefault((row[0], row[1]), row)
        elif (claimant := _released(event)) is not None:
            released.add((event.project_id, claimant))
            claimed.pop((event.project_id, claimant), None)
    limits.send(conn)
    if released:
        conn.execute(_RELEASE, [list(c) for c in zip(*released, strict=True)])
    _CLAIMS.send(conn, list(claimed.values()))
