"""Cinder v3: volumes, snapshots, backups, types and quotas, one module per resource."""

from api.volume import backups, limits, quota_sets, snapshots, types, versions, volumes

RESOURCES = (versions, types, volumes, snapshots, backups, quota_sets, limits)
