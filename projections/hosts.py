"""The hosts view: registered hypervisor hosts, enabled or not, and the
capacity claims of the instances placed on them (os-services, os-hypervisors
and ``nimbus host describe`` read it). Liveness is not here: heartbeats are
not events (see migrations/events/0004_heartbeats.sql).
"""

from __future__ import annotations

from typing import Any

import psycopg

from domain import host as model
from projections.log import LogEntry
from projections.statements import Statements


def apply(conn: psycopg.Connection[Any], items: list[tuple[LogEntry, model.HostEvent]]) -> None:
    """Apply host events (in log order) inside the caller's transaction."""
    out = Statements()
    for _entry, event in items:
        if isinstance(event, model.HostRegistered):
            out.add(
                "INSERT INTO hosts (host, number, vcpus, memory_mb, local_gb,"
                " hypervisor_type, hypervisor_version, host_ip, registered_at, updated_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (host) DO UPDATE SET number = EXCLUDED.number,"
                " vcpus = EXCLUDED.vcpus, memory_mb = EXCLUDED.memory_mb,"
                " local_gb = EXCLUDED.local_gb, hypervisor_type = EXCLUDED.hypervisor_type,"
                " hypervisor_version = EXCLUDED.hypervisor_version,"
                " host_ip = EXCLUDED.host_ip, updated_at = EXCLUDED.updated_at",
                (event.host, event.number, event.vcpus, event.memory_mb, event.local_gb,
                 event.hypervisor_type, event.hypervisor_version, event.host_ip,
                 event.at, event.at),
            )
        elif isinstance(event, model.HostDisabled):
            out.add(
                "UPDATE hosts SET disabled = true, disabled_reason = %s, updated_at = %s"
                " WHERE host = %s", (event.reason, event.at, event.host))
        elif isinstance(event, model.HostEnabled):
            out.add(
                "UPDATE hosts SET disabled = false, disabled_reason = NULL, updated_at = %s"
                " WHERE host = %s", (event.at, event.host))
        elif isinstance(event, model.HostForcedDown):
            out.add("UPDATE hosts SET forced_down = %s, updated_at = %s WHERE host = %s",
                    (event.forced_down, event.at, event.host))
        elif isinstance(event, model.HostCapacityClaimed):
            out.add(
                "INSERT INTO host_claims (host, instance_id, project_id, vcpus, memory_mb,"
                " disk_gb) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (event.host, event.instance_id, event.project_id, event.vcpus,
                 event.memory_mb, event.disk_gb),
            )
        elif isinstance(event, model.HostCapacityReleased):
            out.add("DELETE FROM host_claims WHERE host = %s AND instance_id = %s",
                    (event.host, event.instance_id))
    out.send(conn)
