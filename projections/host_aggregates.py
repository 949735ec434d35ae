"""The host aggregates view (os-aggregates, os-availability-zone) from the
host_aggregate events, in log order inside the projector's transaction. Only
event data is written, so a replay rebuilds the same rows; a creation met
again overwrites its row."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from domain import host_aggregate as model
from projections.log import LogEntry
from projections.statements import Statements

_CREATED = (
    "INSERT INTO host_aggregates (id, uuid, name, metadata, created_at)"
    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET uuid = EXCLUDED.uuid,"
    " name = EXCLUDED.name, hosts = '[]'::jsonb, metadata = EXCLUDED.metadata,"
    " created_at = EXCLUDED.created_at, updated_at = NULL"
)


def apply(conn: psycopg.Connection[Any],
          items: list[tuple[LogEntry, model.HostAggregateEvent]]) -> None:
    out = Statements()
    for _, e in items:
        if isinstance(e, model.HostAggregateCreated):
            zone = {model.AZ_KEY: e.availability_zone} if e.availability_zone else {}
            out.add(_CREATED, (e.aggregate_id, e.uuid, e.name, Jsonb(zone), e.at))
        elif isinstance(e, model.HostAggregateUpdated):
            zone = {model.AZ_KEY: e.availability_zone} if e.availability_zone else {}
            out.add("UPDATE host_aggregates SET name = COALESCE(%s, name),"
                    " metadata = metadata || %s, updated_at = %s WHERE id = %s",
                    (e.name, Jsonb(zone), e.at, e.aggregate_id))
        elif isinstance(e, model.HostAggregateDeleted):
            out.add("DELETE FROM host_aggregates WHERE id = %s", (e.aggregate_id,))
        elif isinstance(e, model.HostAggregateHostAdded):
            out.add("UPDATE host_aggregates SET hosts = (hosts - %s) || %s, updated_at = %s"
                    " WHERE id = %s", (e.host, Jsonb([e.host]), e.at, e.aggregate_id))
        elif isinstance(e, model.HostAggregateHostRemoved):
            out.add("UPDATE host_aggregates SET hosts = hosts - %s, updated_at = %s"
                    " WHERE id = %s", (e.host, e.at, e.aggregate_id))
        elif isinstance(e, model.HostAggregateMetadataSet):
            kept = {k: v for k, v in e.metadata.items() if v is not None}
            gone = [k for k, v in e.metadata.items() if v is None]
            out.add("UPDATE host_aggregates SET metadata = (metadata || %s) - %s::text[],"
                    " updated_at = %s WHERE id = %s",
                    (Jsonb(kept), gone, e.at, e.aggregate_id))
    out.send(conn)
