"""How volumes, snapshots and backups look in Cinder's v3 API (what clients parse)."""

from __future__ import annotations

from typing import Any

from api.http import iso
from domain.backup import Backup
from domain.snapshot import Snapshot
from domain.volume import Volume

BACKEND = "lvm"  # the one backend each storage host runs (Cinder's host@backend)
POOL = "nova-volumes"  # the seed's volume group: each storage host's one pool


def volume_brief(base: str, v: Volume) -> dict[str, Any]:
    return {"id": v.id, "name": v.name, "links": _links(base, "volumes", v.project_id, v.id)}


def volume(base: str, v: Volume, *, admin: bool, shown: bool = True) -> dict[str, Any]:
    """A volume's detail. ``shown``: a show or a detailed list, which carry
    the owning project (and, to an admin, the host as Cinder's
    ``host@backend#pool``); a create's or an update's answer does not."""
    body: dict[str, Any] = {
        "id": v.id, "name": v.name, "description": v.description, "size": v.size_gb,
        "status": str(v.status), "availability_zone": v.availability_zone,
        "volume_type": v.volume_type, "snapshot_id": v.snapshot_id, "source_volid": None,
        "created_at": iso(v.created_at), "updated_at": iso(v.updated_at),
        "user_id": v.user_id,
        "attachments": [attachment(v)] if v.server_id else [], "metadata": v.metadata,
        "bootable": "false", "encrypted": False,
        "multiattach": False, "replication_status": "disabled", "consistencygroup_id": None,
        # no group_id: Cinder shows it from 3.13, past nimbus's 3.0 (a client seeing it
        # asks for the volume groups, which need 3.13 too)
        "links": _links(base, "volumes", v.project_id, v.id),
    }
    if shown:
        body["os-vol-tenant-attr:tenant_id"] = v.project_id
    if shown and admin:  # nimbus migrates no volume between hosts: no migration status
        body.update({"os-vol-host-attr:host": f"{v.host}@{BACKEND}#{POOL}",
                     "os-vol-mig-status-attr:migstat": None,
                     "os-vol-mig-status-attr:name_id": None, "migration_status": None})
    return body


def snapshot(s: Snapshot, *, shown: bool = True) -> dict[str, Any]:
    """A snapshot; ``shown`` (a show or a detailed list) adds Cinder's
    extended attributes, which a create's answer and a brief list leave out."""
    body: dict[str, Any] = {
        "id": s.id, "name": s.name, "description": s.description, "status": str(s.status),
        "size": s.size_gb, "volume_id": s.volume_id, "created_at": iso(s.created_at),
        "updated_at": iso(s.updated_at), "metadata": s.metadata,
    }
    if shown:
        body["os-extended-snapshot-attributes:project_id"] = s.project_id
        body["os-extended-snapshot-attributes:progress"] = s.progress or (
            "100%" if s.status == "available" else "0%")
    return body


def backup_brief(base: str, b: Backup) -> dict[str, Any]:
    return {"id": b.id, "name": b.name, "links": _links(base, "backups", b.project_id, b.id)}


def backup(base: str, b: Backup) -> dict[str, Any]:
    return {
        "id": b.id, "name": b.name, "description": b.description, "status": str(b.status),
        "size": b.size_gb, "volume_id": b.volume_id, "created_at": iso(b.created_at),
        "updated_at": iso(b.updated_at), "availability_zone": "nova",
        "container": f"backups/{b.host}", "object_count": 1 if b.stored_bytes else 0,
        "fail_reason": b.fault, "is_incremental": False, "has_dependent_backups": False,
        "snapshot_id": None, "data_timestamp": iso(b.created_at),
        "links": _links(base, "backups", b.project_id, b.id),
        # what the seed's procedure keeps beside the archive, as the backup's metadata
        "metadata": {"sha256": b.checksum, "stored_bytes": str(b.stored_bytes)}
        if b.checksum else {},
    }


def attachment(v: Volume) -> dict[str, Any]:
    """Cinder's view of the attachment (one at a time, so its id is the volume's)."""
    return {"id": v.id, "attachment_id": v.id, "volume_id": v.id, "server_id": v.server_id,
            "host_name": v.compute_host, "device": v.device,
            "attached_at": iso(v.updated_at) if v.status == "in-use" else None}


def _links(base: str, kind: str, project_id: str, ident: str) -> list[dict[str, str]]:
    href = f"{base}/volume/v3/{project_id}/{kind}/{ident}"
    return [{"rel": "self", "href": href}, {"rel": "bookmark", "href": href}]
