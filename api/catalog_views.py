"""How flavors, images and keypairs look on the wire (Nova 2.1 and Glance v2 shapes)."""

from __future__ import annotations

from typing import Any

from api.views import iso, links
from projections.catalog_queries import FlavorView, ImageView, KeypairView

# Glance's own top-level image attributes; anything else is a custom property
IMAGE_ATTRIBUTES = frozenset({
    "id", "name", "status", "visibility", "protected", "os_hidden", "checksum", "os_hash_algo",
    "os_hash_value", "owner", "size", "virtual_size", "min_ram", "min_disk", "disk_format",
    "container_format", "created_at", "updated_at", "tags", "self", "file", "schema",
    "direct_url", "locations",
})


def flavor_brief(base: str, f: FlavorView) -> dict[str, Any]:
    return {"id": f.id, "name": f.name, "links": links(base, "flavors", f.id)}


def flavor(base: str, f: FlavorView) -> dict[str, Any]:
    return {
        **flavor_brief(base, f), "vcpus": f.vcpus, "ram": f.ram, "disk": f.disk,
        "OS-FLV-EXT-DATA:ephemeral": f.ephemeral, "swap": f.swap or "",
        "rxtx_factor": f.rxtx_factor, "os-flavor-access:is_public": f.is_public,
        "OS-FLV-DISABLED:disabled": False,
    }


def image(i: ImageView) -> dict[str, Any]:
    ident = str(i.id)
    body: dict[str, Any] = {
        key: value for key, value in i.properties.items() if key not in IMAGE_ATTRIBUTES
    }
    body.update({
        "id": ident, "name": i.name, "status": i.status, "visibility": i.visibility,
        "protected": i.protected, "os_hidden": False, "checksum": i.checksum,
        "os_hash_algo": i.os_hash_algo, "os_hash_value": i.os_hash_value,
        "owner": i.owner or None, "size": i.size, "virtual_size": None,
        "min_ram": i.min_ram, "min_disk": i.min_disk, "disk_format": i.disk_format,
        "container_format": i.container_format, "created_at": iso(i.created_at),
        "updated_at": iso(i.updated_at), "tags": i.tags, "self": f"/v2/images/{ident}",
        "file": f"/v2/images/{ident}/file", "schema": "/v2/schemas/image",
    })
    return body


def keypair_brief(k: KeypairView, version: tuple[int, int]) -> dict[str, Any]:
    body = {"name": k.name, "public_key": k.public_key, "fingerprint": k.fingerprint}
    if version >= (2, 2):
        body["type"] = k.type
    return body


def keypair_id(k: KeypairView) -> int:
    """Nova's keypair ids are integers: a stable 31-bit number from the aggregate id."""
    return k.id.int >> 97


def keypair(k: KeypairView, version: tuple[int, int]) -> dict[str, Any]:
    return {
        **keypair_brief(k, version), "user_id": k.user_id, "id": keypair_id(k),
        "created_at": iso(k.created_at), "updated_at": None, "deleted": False,
        "deleted_at": None,
    }
