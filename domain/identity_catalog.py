"""Identity: the regions, services and endpoints an admin registers
(Keystone's ``/v3/regions``, ``/v3/services``, ``/v3/endpoints``), and the
policy blobs Keystone stores for other services (``/v3/policies``).

The services nimbus itself serves are published from its settings and are
no aggregate (``api/identity/auth.py``'s catalog); what an admin adds is an
aggregate of kind ``catalog_entry``, one per region, service, endpoint or
policy. Its events carry the entry's whole attribute set (each write
replaces it), so two event types serve the four resources: a region's id is the one its
creator chose (its aggregate id derives from it), a service's, endpoint's or
policy's is derived from the request that made it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

import msgspec

from domain import identity
from domain.base import Event, UnknownEvent, unknown_event
from domain.errors import InvalidInput, InvalidState, NotFound
from domain.identity import IdentityEvent

REGION, SERVICE, ENDPOINT, POLICY = "region", "service", "endpoint", "policy"
KINDS = (REGION, SERVICE, ENDPOINT, POLICY)
INTERFACES = ("public", "internal", "admin")

Value = str | bool | None
Attributes = dict[str, Value]


class CatalogEvent(IdentityEvent, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "catalog_entry"


class CatalogEntrySaved(CatalogEvent, frozen=True, kw_only=True):
    """The region, service or endpoint ``entry_id`` now has ``attributes``
    (every create and update writes the whole set)."""

    kind: str  # region | service | endpoint | policy
    entry_id: str
    attributes: Attributes


class CatalogEntryDeleted(CatalogEvent, frozen=True, kw_only=True):
    pass


AnyCatalogEvent = CatalogEntrySaved | CatalogEntryDeleted


class CatalogEntry(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    id: str
    attributes: Attributes
    deleted: bool = False


def aggregate_id(kind: str, entry_id: str) -> uuid.UUID:
    """The aggregate of the ``kind`` entry with the id clients see."""
    return identity.aggregate_id(f"catalog-{kind}", entry_id)


def evolve(state: CatalogEntry | None, event: Event, aggregate: str) -> CatalogEntry:
    if not isinstance(event, AnyCatalogEvent):
        raise UnknownEvent(event, "catalog_entry")
    match event:
        case CatalogEntrySaved():
            return CatalogEntry(kind=event.kind, id=event.entry_id,
                                attributes=dict(event.attributes))
        case CatalogEntryDeleted():
            assert state is not None
            return msgspec.structs.replace(state, deleted=True)
        case _:
            unknown_event(event, "catalog_entry")


_FIELDS: dict[str, dict[str, type | tuple[type, ...]]] = {
    REGION: {"description": str, "parent_region_id": (str, type(None))},
    SERVICE: {"type": str, "name": (str, type(None)), "description": (str, type(None)),
              "enabled": bool},
    ENDPOINT: {"service_id": str, "interface": str, "url": str, "region_id": (str, type(None)),
               "enabled": bool},
    POLICY: {"blob": str, "type": str},
}
_REQUIRED = {REGION: (), SERVICE: ("type",), ENDPOINT: ("service_id", "interface", "url"),
             POLICY: ("blob", "type")}
_DEFAULTS: dict[str, Attributes] = {
    REGION: {"description": "", "parent_region_id": None},
    SERVICE: {"enabled": True},
    ENDPOINT: {"enabled": True, "region_id": None},
    POLICY: {},
}


def _valid(kind: str, attributes: Attributes) -> Attributes:
    fields = _FIELDS[kind]
    for key, value in attributes.items():
        if key in fields and not isinstance(value, fields[key]):
            raise InvalidInput(f"Invalid input for field '{key}': {value!r} is not of the "
                               "right type.")
    if kind == ENDPOINT and attributes.get("interface") not in INTERFACES:
        raise InvalidInput(f"Invalid input for field 'interface': "
                           f"{attributes.get('interface')!r} is not one of "
                           f"{', '.join(INTERFACES)}.")
    return attributes


def live(state: CatalogEntry | None, kind: str, ref: str) -> CatalogEntry:
    if state is None or state.deleted or state.kind != kind:
        raise NotFound(f"Could not find {kind}: {ref}.")
    return state


def create(existing: CatalogEntry | None, kind: str, entry_id: str, attributes: Attributes, *,
           request_id: str, at: datetime) -> CatalogEntrySaved:
    """A new region, service or endpoint; Keystone's required fields must be there
    (the known ones are kept, typed; others are kept as given)."""
    if existing is not None and not existing.deleted:
        raise InvalidState(f"Conflict occurred attempting to store {kind} - Duplicate ID, "
                           f"{entry_id}.")
    missing = [f for f in _REQUIRED[kind] if attributes.get(f) is None]
    if missing:
        raise InvalidInput(f"Invalid input for field '{missing[0]}': it is required.")
    whole = {**_DEFAULTS[kind], **attributes}
    return CatalogEntrySaved(request_id=request_id, at=at, kind=kind, entry_id=entry_id,
                             attributes=_valid(kind, whole))


def update(state: CatalogEntry | None, kind: str, ref: str, change: Attributes, *,
           request_id: str, at: datetime) -> CatalogEntrySaved:
    entry = live(state, kind, ref)
    whole = {**entry.attributes, **change}
    return CatalogEntrySaved(request_id=request_id, at=at, kind=kind, entry_id=entry.id,
                             attributes=_valid(kind, whole))


def delete(state: CatalogEntry | None, kind: str, ref: str, *, request_id: str,
           at: datetime) -> CatalogEntryDeleted:
    live(state, kind, ref)
    return CatalogEntryDeleted(request_id=request_id, at=at)
