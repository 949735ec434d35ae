"""A Glance v2.1 JSON patch (``PATCH /v2/images/{id}``) decided as one event.

Glance takes a list of operations (``add``, ``replace``, ``remove``), each on
one top-level attribute named by a JSON pointer (``/name``, ``/tags``,
``/os_distro``). Here they are checked and applied in order to the image's
changeable attributes; any refusal refuses the whole patch, so nothing is
half-applied. The result is one ``ImageUpdated`` holding what the attributes
became, or None when the patch changes nothing. Glance's answers: 403 for a
read-only or reserved attribute, for giving the image to another project
(an admin's), for removing one of the image's own
attributes and for a format change once the image has data; 409 for replacing
or removing a property the image does not have; 400 for a malformed
operation or a value its schema refuses; 413 past the property or tag quota.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import msgspec

from domain.errors import Forbidden, InvalidInput, InvalidState, TooLarge
from domain.image import (
    CONTAINER_FORMATS,
    DISK_FORMATS,
    VISIBILITIES,
    ImageState,
    ImageStatus,
    ImageUpdated,
    owned,
)

OPERATIONS = ("add", "remove", "replace")
READ_ONLY = frozenset({"created_at", "updated_at", "status", "checksum", "os_hash_algo",
                       "os_hash_value", "size", "virtual_size", "direct_url", "self", "file",
                       "schema", "id", "locations", "os_hidden", "stores"})
RESERVED = frozenset({"location", "deleted", "deleted_at", "is_public"})
# the image's own attributes a patch may set; every other name is a custom property
ATTRIBUTES = frozenset({"name", "visibility", "disk_format", "container_format", "min_disk",
                        "min_ram", "protected", "tags", "owner"})
FORMATS = frozenset({"disk_format", "container_format"})
PROPERTY_QUOTA = 128  # Glance's image_property_quota
TAG_QUOTA = 128  # Glance's image_tag_quota
MAX_INT = 2147483647
_ADJACENT = re.compile(r"/\s*?/")


class Operation(msgspec.Struct, frozen=True, kw_only=True):
    """One operation of a patch, as sent: its pointer not yet decoded."""

    op: str
    path: str
    value: Any = msgspec.UNSET


def schema_refusal(reason: str) -> InvalidInput:
    return InvalidInput(f"Provided object does not match schema 'image': {reason}")


def decode_pointer(pointer: str) -> str:
    """The one attribute a pointer names (Glance's limited JSON pointers)."""
    if not pointer.startswith("/"):
        raise InvalidInput(f'Pointer `{pointer}` does not start with "/".')
    if _ADJACENT.search(pointer[1:]):
        raise InvalidInput(f'Pointer `{pointer}` contains adjacent "/".')
    if len(pointer) > 1 and pointer.endswith("/"):
        raise InvalidInput(f'Pointer `{pointer}` end with "/".')
    if pointer[1:].strip() in ("", "/"):
        raise InvalidInput(f"Pointer `{pointer}` does not contains valid token.")
    if re.search("~[^01]", pointer) or pointer.endswith("~"):
        raise InvalidInput(f'Pointer `{pointer}` contains "~" not part of a recognized '
                           "escape sequence.")
    parts = [p.replace("~1", "/").replace("~0", "~").strip()
             for p in pointer[1:].split("/")]
    if len(parts) > 1:
        raise InvalidInput(f"Invalid JSON pointer for this resource: '{pointer}'")
    return parts[0]


def _checked(name: str, value: Any) -> Any:
    """``value`` for attribute ``name`` as Glance's image schema allows it."""
    if name == "name":
        if value is not None and not isinstance(value, str):
            raise schema_refusal(f"{value!r} is not of type 'null', 'string' (at 'name')")
        if isinstance(value, str) and len(value) > 255:
            raise schema_refusal("the name is longer than 255 characters (at 'name')")
        return value
    if name == "visibility":
        if value not in VISIBILITIES:
            raise schema_refusal(f"{value!r} is not one of {sorted(VISIBILITIES)} "
                                 "(at 'visibility')")
        return value
    if name == "owner":
        if not isinstance(value, str) or not 0 < len(value) <= 255:
            raise schema_refusal(f"{value!r} is not a project id (at 'owner')")
        return value
    if name in FORMATS:
        allowed = DISK_FORMATS if name == "disk_format" else CONTAINER_FORMATS
        if value is not None and value not in allowed:
            raise schema_refusal(f"{value!r} is not one of {sorted(allowed)} (at '{name}')")
        return value
    if name in ("min_disk", "min_ram"):
        if type(value) is not int:
            raise schema_refusal(f"{value!r} is not of type 'integer' (at '{name}')")
        if not 0 <= value <= MAX_INT:
            raise schema_refusal(f"{value} is not between 0 and {MAX_INT} (at '{name}')")
        return value
    if name == "protected":
        if type(value) is not bool:
            raise schema_refusal(f"{value!r} is not of type 'boolean' (at 'protected')")
        return value
    if name == "tags":
        if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
            raise schema_refusal(f"{value!r} is not an array of strings (at 'tags')")
        if any(len(t) > 255 for t in value):
            raise schema_refusal("a tag is longer than 255 characters (at 'tags')")
        tags = list(dict.fromkeys(value))
        if len(tags) > TAG_QUOTA:
            raise TooLarge(f"Attempted: {len(tags)}, Maximum: {TAG_QUOTA}")
        return tags
    if not isinstance(value, str):
        raise schema_refusal(f"{value!r} is not of type 'string' (at '{name}')")
    if len(value) > 65535 or "\x00" in value:
        raise schema_refusal(f"the value of {name} is too long or holds a NUL (at '{name}')")
    return value


def _name_checked(name: str) -> str:
    if name in READ_ONLY:
        raise Forbidden(f"Attribute '{name}' is read-only.")
    if name in RESERVED:
        raise Forbidden(f"Attribute '{name}' is reserved.")
    if len(name) > 255 or "\x00" in name:
        raise schema_refusal(f"the property name {name[:40]!r} is not allowed")
    return name


def update(state: ImageState, operations: list[Operation], *, request_id: str, at: datetime,
           project_id: str, is_admin: bool) -> ImageUpdated | None:
    """The patch applied to ``state``'s attributes, all or nothing."""
    if not owned(state, project_id, is_admin):
        raise Forbidden("You are not permitted to modify this image.")
    attributes: dict[str, Any] = {
        "name": state.name, "visibility": state.visibility, "disk_format": state.disk_format,
        "container_format": state.container_format, "min_disk": state.min_disk,
        "min_ram": state.min_ram, "protected": state.protected, "tags": list(state.tags),
        "owner": state.owner}
    properties = dict(state.properties)
    for operation in operations:
        if operation.op not in OPERATIONS:
            raise InvalidInput(f"Invalid operation: `{operation.op}`. It must be one of the "
                               f"following: {', '.join(OPERATIONS)}.")
        name = _name_checked(decode_pointer(operation.path))
        if operation.op == "remove":
            if name in ATTRIBUTES:
                raise Forbidden(f"Property {name} may not be removed.")
            if name not in properties:
                raise InvalidState(f"Property {name} does not exist.")
            del properties[name]
            continue
        if operation.value is msgspec.UNSET:
            raise InvalidInput(f'Operation "{operation.op}" requires a member named "value".')
        value = _checked(name, operation.value)
        if name in ATTRIBUTES:
            if name in FORMATS and value != attributes[name] and state.status != ImageStatus.QUEUED:
                raise Forbidden(f"Attribute {name} can be only replaced for a queued image.")
            if name == "visibility" and value == "public" and value != state.visibility \
                    and not is_admin:
                raise Forbidden("You are not authorized to complete publicize_image action.")
            if name == "owner" and value != state.owner and not is_admin:
                raise Forbidden("You are not permitted to change this image's owner.")
            attributes[name] = value
        elif operation.op == "replace" and name not in properties:
            raise InvalidState(f"Property {name} does not exist.")
        else:
            properties[name] = value
    if len(properties) > PROPERTY_QUOTA:
        raise TooLarge(f"Attempted: {len(properties)}, Maximum: {PROPERTY_QUOTA}")
    unchanged = (attributes["name"] == state.name and attributes["visibility"] == state.visibility
                 and attributes["disk_format"] == state.disk_format
                 and attributes["container_format"] == state.container_format
                 and attributes["min_disk"] == state.min_disk
                 and attributes["min_ram"] == state.min_ram
                 and attributes["protected"] == state.protected
                 and attributes["owner"] == state.owner
                 and tuple(attributes["tags"]) == state.tags and properties == state.properties)
    if unchanged:
        return None
    return ImageUpdated(at=at, request_id=request_id, properties=properties, **attributes)
