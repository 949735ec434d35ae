"""Cinder v3: volumes, snapshots, backups, types, quotas and the admin's views
of hosts, services and pools, one module per resource."""

from api.volume import (
    availability_zones,
    backups,
    extensions,
    hosts,
    limits,
    metadata,
    pools,
    qos_specs,
    quota_sets,
    services,
    snapshots,
    transfers,
    types,
    unrouted,
    versions,
    volume_actions,
    volumes,
)

RESOURCES = (versions, types, volumes, snapshots, backups, quota_sets, limits, hosts, services,
             pools, availability_zones, extensions, metadata,
             qos_specs, volume_actions, transfers, unrouted)
