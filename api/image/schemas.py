"""Glance's JSON schemas (``/v2/schemas/...``): what glanceclient reads first.

glanceclient builds a warlock model from ``/v2/schemas/image``: it validates
every image it shows or updates against it and computes a PATCH from the
difference, so the schema must describe exactly the image bodies
api/image/shapes.py writes (custom properties are strings). The member and
metadefs schemas are served for the clients that fetch them; nimbus keeps no
metadefs (their lists are empty).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from domain.errors import NotFound
from domain.image import CONTAINER_FORMATS, DISK_FORMATS, MEMBER_STATUSES, VISIBILITIES

UUID_PATTERN = ("^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}"
                "-([0-9a-fA-F]){12}$")
STATUSES = ["queued", "saving", "active", "killed", "deleted", "uploading", "importing",
            "pending_delete", "deactivated"]


def _read_only(kind: Any, description: str, **more: Any) -> dict[str, Any]:
    return {"type": kind, "readOnly": True, "description": description, **more}


def image_properties() -> dict[str, Any]:
    return {
        "id": {"type": "string", "description": "An identifier for the image",
               "pattern": UUID_PATTERN},
        "name": {"type": ["null", "string"], "description": "Descriptive name for the image",
                 "maxLength": 255},
        "status": _read_only("string", "Status of the image", enum=STATUSES),
        "visibility": {"type": "string", "description": "Scope of image accessibility",
                       "enum": sorted(VISIBILITIES)},
        "protected": {"type": "boolean",
                      "description": "If true, image will not be deletable."},
        "os_hidden": {"type": "boolean",
                      "description": "If true, image will not appear in default image list "
                                     "response."},
        "checksum": _read_only(["null", "string"], "md5 hash of image contents.",
                               maxLength=32),
        "os_hash_algo": _read_only(["null", "string"],
                                   "Algorithm to calculate the os_hash_value", maxLength=64),
        "os_hash_value": _read_only(["null", "string"], "Hexdigest of the image contents "
                                    "using the algorithm specified by the os_hash_algo",
                                    maxLength=128),
        "owner": {"type": ["null", "string"], "description": "Owner of the image",
                  "maxLength": 255},
        "size": _read_only(["null", "integer"], "Size of image file in bytes"),
        "virtual_size": _read_only(["null", "integer"], "Virtual size of image in bytes"),
        "container_format": {"type": ["null", "string"],
                             "description": "Format of the container",
                             "enum": [None, *sorted(CONTAINER_FORMATS)]},
        "disk_format": {"type": ["null", "string"], "description": "Format of the disk",
                        "enum": [None, *sorted(DISK_FORMATS)]},
        "created_at": _read_only("string", "Date and time of image registration"),
        "updated_at": _read_only("string", "Date and time of the last image modification"),
        "tags": {"type": "array", "description": "List of strings related to the image",
                 "items": {"type": "string", "maxLength": 255}},
        "direct_url": _read_only("string", "URL to access the image file kept in external "
                                 "store"),
        "min_ram": {"type": "integer",
                    "description": "Amount of ram (in MB) required to boot image."},
        "min_disk": {"type": "integer",
                     "description": "Amount of disk space (in GB) required to boot image."},
        "self": _read_only("string", "An image self url"),
        "file": _read_only("string", "An image file url"),
        "stores": _read_only("string", "Store in which image data resides."),
        "schema": _read_only("string", "An image schema url"),
        "locations": {"type": "array", "description": "A set of URLs to access the image "
                      "file kept in external store",
                      "items": {"type": "object", "required": ["url", "metadata"],
                                "properties": {"url": {"type": "string", "maxLength": 255},
                                               "metadata": {"type": "object"}}}},
    }


LINKS = [{"rel": "self", "href": "{self}"}, {"rel": "enclosure", "href": "{file}"},
         {"rel": "describedby", "href": "{schema}"}]
COLLECTION_PROPERTIES = {"first": {"type": "string"}, "next": {"type": "string"},
                         "schema": {"type": "string"}}
COLLECTION_LINKS = [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
                    {"rel": "describedby", "href": "{schema}"}]


def image_schema() -> dict[str, Any]:
    return {"name": "image", "properties": image_properties(),
            "additionalProperties": {"type": "string"}, "links": LINKS}


def images_schema() -> dict[str, Any]:
    return {"name": "images", "properties": {
        "images": {"type": "array", "items": image_schema()}, **COLLECTION_PROPERTIES},
        "links": COLLECTION_LINKS}


def member_schema() -> dict[str, Any]:
    return {"name": "member", "properties": {
        "created_at": {"type": "string", "description": "Date and time of image member "
                       "creation"},
        "image_id": {"type": "string", "description": "An identifier for the image",
                     "pattern": UUID_PATTERN},
        "member_id": {"type": "string", "description": "An identifier for the image member "
                      "(tenantId)"},
        "status": {"type": "string", "description": "The status of this image member",
                   "enum": sorted(MEMBER_STATUSES)},
        "updated_at": {"type": "string", "description": "Date and time of last modification "
                       "of image member"},
        "schema": {"readOnly": True, "type": "string"},
    }}


def members_schema() -> dict[str, Any]:
    return {"name": "members", "properties": {
        "members": {"type": "array", "items": member_schema()}, "schema": {"type": "string"}},
        "links": [{"rel": "self", "href": "{self}"}, {"rel": "describedby", "href": "{schema}"}]}


def _metadef(name: str, properties: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "properties": properties, "additionalProperties": False}


def _metadefs(plural: str, one: dict[str, Any]) -> dict[str, Any]:
    return {"name": plural, "properties": {plural: {"type": "array", "items": one},
                                           **COLLECTION_PROPERTIES},
            "links": COLLECTION_LINKS}


def metadef_schemas() -> dict[str, dict[str, Any]]:
    """Glance's metadata definition schemas, in their outline."""
    text = {"type": "string", "maxLength": 255}
    stamp = {"type": "string", "readOnly": True}
    namespace = _metadef("namespace", {
        "namespace": text, "display_name": text, "description": {"type": "string"},
        "visibility": {"type": "string", "enum": ["public", "private"]},
        "protected": {"type": "boolean"}, "owner": text, "created_at": stamp,
        "updated_at": stamp, "schema": stamp, "self": stamp,
        "resource_type_associations": {"type": "array", "items": {"type": "object"}},
        "properties": {"type": "object"}, "objects": {"type": "array"},
        "tags": {"type": "array"}})
    resource_type = _metadef("resource_type_association", {
        "name": text, "prefix": text, "properties_target": text, "created_at": stamp,
        "updated_at": stamp})
    prop = _metadef("property", {
        "name": text, "title": {"type": "string"}, "description": {"type": "string"},
        "type": {"type": "string"}, "enum": {"type": "array"}, "default": {},
        "readonly": {"type": "boolean"}})
    obj = _metadef("object", {
        "name": text, "description": {"type": "string"}, "required": {"type": "array"},
        "properties": {"type": "object"}, "created_at": stamp, "updated_at": stamp,
        "schema": stamp, "self": stamp})
    tag = _metadef("tag", {"name": text, "created_at": stamp, "updated_at": stamp})
    return {
        "namespace": namespace, "namespaces": _metadefs("namespaces", namespace),
        "resource_type": resource_type,
        "resource_types": _metadefs("resource_type_associations", resource_type),
        "property": prop, "properties": _metadefs("properties", prop),
        "object": obj, "objects": _metadefs("objects", obj),
        "tag": tag, "tags": _metadefs("tags", tag),
    }


async def show_schema(request: Request) -> Response:
    name = request.path_params["name"]
    found = {"image": image_schema, "images": images_schema, "member": member_schema,
             "members": members_schema}.get(name)
    if found is None:
        raise NotFound(f"No schema named {name}.")
    return JSONResponse(found())


async def show_metadef_schema(request: Request) -> Response:
    name = request.path_params["name"]
    found = metadef_schemas().get(name)
    if found is None:
        raise NotFound(f"No metadefs schema named {name}.")
    return JSONResponse(found)


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route("/image/v2/schemas/metadefs/{name}", show_metadef_schema, methods=["GET"]),
    Route("/image/v2/schemas/{name}", show_schema, methods=["GET"]),
]
