"""How an image looks on the wire (Glance v2's shape)."""

from __future__ import annotations

from typing import Any

from api.http import iso
from projections.catalog_queries import ImageView

# Glance's own top-level image attributes; anything else is a custom property
IMAGE_ATTRIBUTES = frozenset({
    "id", "name", "status", "visibility", "protected", "os_hidden", "checksum", "os_hash_algo",
    "os_hash_value", "owner", "size", "virtual_size", "min_ram", "min_disk", "disk_format",
    "container_format", "created_at", "updated_at", "tags", "self", "file", "schema",
    "direct_url", "locations",
})


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
