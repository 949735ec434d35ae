"""Volume types as aggregates: names users pick, mapped to the storage hosts
that serve them.

As the seed's xensm "flavors" (``gold`` on a fast backend, ...), a type names
its storage hosts, in order, in its ``volume_backend_name`` extra spec (comma
separated); a new volume goes to the first of them that is a storage host
(first-fit). A type without that spec, as Cinder's default ``__DEFAULT__``,
is served by every storage host. Admins create, rename, re-specify and
delete types and grant projects access to private ones (Cinder's volume
type API); the configured types are seeded at start as ordinary events
(commands/volume_types.py ``ensure_types``), as the catalog's defaults are.

A type's aggregate id is derived from its id, and a second small aggregate
per name ("the name is taken") is committed in the same transaction, so two
types never share a name even when admins race (as flavors do).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import ClassVar

import msgspec

from domain.base import Event, UnknownEvent, unknown_event
from domain.errors import InvalidInput, InvalidState, NotFound

DEFAULT = "__DEFAULT__"
NAMESPACE = uuid.UUID("5a7c3e1f-9b2d-4c8e-a6f4-1d3b5c7e9f02")  # seeded types' ids, by name
BACKENDS = "volume_backend_name"  # the extra spec naming a type's storage hosts

_SPEC_KEY = re.compile(r"^[a-zA-Z0-9-_:. /]{1,255}$")


def seeded_id(name: str) -> str:
    """The id of a type seeded from settings (stable across starts)."""
    return str(uuid.uuid5(NAMESPACE, name))


def aggregate_id(type_id: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"volume-type-id:{type_id}")


def name_aggregate_id(name: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"volume-type-name:{name}")


class VolumeType(msgspec.Struct, frozen=True, kw_only=True):
    """What a volume's creation is handed: the type and where it may go."""

    id: str
    name: str
    backends: list[str]  # storage hosts, first-fit


class VolumeTypeEvent(Event, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "volume_type"
    request_id: str
    type_id: str


class VolumeTypeCreated(VolumeTypeEvent, frozen=True, kw_only=True):
    name: str
    description: str | None = None
    is_public: bool = True
    extra_specs: dict[str, str] = {}


class VolumeTypeUpdated(VolumeTypeEvent, frozen=True, kw_only=True):
    """The type's name, description and visibility after the change."""

    name: str
    description: str | None = None
    is_public: bool = True


class VolumeTypeSpecsSet(VolumeTypeEvent, frozen=True, kw_only=True):
    extra_specs: dict[str, str]  # added or replaced; the others stay


class VolumeTypeSpecUnset(VolumeTypeEvent, frozen=True, kw_only=True):
    key: str


class VolumeTypeAccessAdded(VolumeTypeEvent, frozen=True, kw_only=True):
    project_id: str


class VolumeTypeAccessRemoved(VolumeTypeEvent, frozen=True, kw_only=True):
    project_id: str


class VolumeTypeDeleted(VolumeTypeEvent, frozen=True, kw_only=True):
    pass


class VolumeTypeNameEvent(Event, frozen=True, kw_only=True):
    """The claim on a type's name, so that two types never share one."""

    aggregate: ClassVar[str] = "volume_type_name"
    request_id: str
    name: str
    type_id: str


class VolumeTypeNameClaimed(VolumeTypeNameEvent, frozen=True, kw_only=True):
    pass


class VolumeTypeNameReleased(VolumeTypeNameEvent, frozen=True, kw_only=True):
    pass


AnyVolumeTypeEvent = (VolumeTypeCreated | VolumeTypeUpdated | VolumeTypeSpecsSet
                      | VolumeTypeSpecUnset | VolumeTypeAccessAdded | VolumeTypeAccessRemoved
                      | VolumeTypeDeleted)
AnyVolumeTypeNameEvent = VolumeTypeNameClaimed | VolumeTypeNameReleased


class VolumeTypeState(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    description: str | None = None
    is_public: bool = True
    extra_specs: dict[str, str] = {}
    projects: frozenset[str] = frozenset()  # may use it while it is private
    deleted: bool = False
    created_at: datetime | None = None


class TypeNameClaim(msgspec.Struct, frozen=True):
    type_id: str | None  # None: released, free to claim again


def evolve(state: VolumeTypeState | None, event: Event, _id: str) -> VolumeTypeState:
    if not isinstance(event, AnyVolumeTypeEvent):
        raise UnknownEvent(event, "volume_type")
    if isinstance(event, VolumeTypeCreated):
        return VolumeTypeState(id=event.type_id, name=event.name, description=event.description,
                               is_public=event.is_public, extra_specs=dict(event.extra_specs),
                               created_at=event.at)
    assert state is not None, f"{type(event).__name__} before VolumeTypeCreated"
    replace = msgspec.structs.replace
    match event:
        case VolumeTypeUpdated():
            return replace(state, name=event.name, description=event.description,
                           is_public=event.is_public)
        case VolumeTypeSpecsSet():
            return replace(state, extra_specs={**state.extra_specs, **event.extra_specs})
        case VolumeTypeSpecUnset():
            return replace(state, extra_specs={k: v for k, v in state.extra_specs.items()
                                               if k != event.key})
        case VolumeTypeAccessAdded():
            return replace(state, projects=state.projects | {event.project_id})
        case VolumeTypeAccessRemoved():
            return replace(state, projects=state.projects - {event.project_id})
        case VolumeTypeDeleted():
            return replace(state, deleted=True, projects=frozenset())
        case _:
            unknown_event(event, "volume_type")


def evolve_name(state: TypeNameClaim | None, event: Event, _id: str) -> TypeNameClaim:
    if not isinstance(event, AnyVolumeTypeNameEvent):
        raise UnknownEvent(event, "volume_type_name")
    match event:
        case VolumeTypeNameClaimed():
            return TypeNameClaim(event.type_id)
        case VolumeTypeNameReleased():
            return TypeNameClaim(None)
        case _:
            unknown_event(event, "volume_type_name")


def _name(name: str) -> None:
    if not name.strip() or len(name) > 255:
        raise InvalidInput(f"Invalid input for field/attribute name. Value: {name}. "
                           "'name' must be 1-255 characters and not only blanks.")


def _description(description: str | None) -> None:
    if description is not None and len(description) > 255:
        raise InvalidInput("Invalid input for field/attribute description. "
                           f"Value: {description}. It is longer than 255 characters.")


def check_specs(specs: dict[str, str]) -> None:
    """Cinder's rules for extra specs: keys of letters, digits and ``-_:. /``,
    keys and values at most 255 characters."""
    for key, value in specs.items():
        if not _SPEC_KEY.match(key):
            raise InvalidInput(f"Invalid input for field/attribute extra_specs. Key {key!r} "
                               "must be 1-255 letters, digits or '-_:. /'.")
        if len(value) > 255:
            raise InvalidInput(f"Invalid input for field/attribute extra_specs. The value of "
                               f"{key} is longer than 255 characters.")


def existing(state: VolumeTypeState | None, ref: str) -> VolumeTypeState:
    if state is None or state.deleted:
        raise NotFound(f"Volume type {ref} could not be found.")
    return state


def visible(state: VolumeTypeState | None, project_id: str, is_admin: bool) -> bool:
    """Whether a caller may see (and make volumes of) the type."""
    if state is None or state.deleted:
        return False
    return state.is_public or is_admin or project_id in state.projects


def create(state: VolumeTypeState | None, claim: TypeNameClaim | None, *, request_id: str,
           type_id: str, name: str, description: str | None, is_public: bool,
           extra_specs: dict[str, str], at: datetime) -> VolumeTypeCreated:
    """Decide a type's creation: fields valid, its name free."""
    _name(name)
    _description(description)
    check_specs(extra_specs)
    if (claim is not None and claim.type_id is not None) or (
            state is not None and not state.deleted):
        raise InvalidState(f"Volume Type {name} already exists.")
    return VolumeTypeCreated(at=at, request_id=request_id, type_id=type_id, name=name,
                             description=description, is_public=is_public,
                             extra_specs=extra_specs)


def claim_name(name: str, type_id: str, request_id: str, at: datetime) -> VolumeTypeNameClaimed:
    return VolumeTypeNameClaimed(at=at, request_id=request_id, name=name, type_id=type_id)


def release_name(claim: TypeNameClaim | None, state: VolumeTypeState, *, request_id: str,
                 at: datetime) -> VolumeTypeNameReleased | None:
    """The type's old name is free again; None when it was never claimed."""
    if claim is None or claim.type_id != state.id:
        return None
    return VolumeTypeNameReleased(at=at, request_id=request_id, name=state.name,
                                  type_id=state.id)


def update(state: VolumeTypeState | None, claim: TypeNameClaim | None, ref: str, *,
           request_id: str, name: str | None, description: str | None,
           is_public: bool | None, at: datetime) -> VolumeTypeUpdated:
    """A new name, description or visibility; a new name must be free (``claim``
    is the new name's)."""
    current = existing(state, ref)
    if name is None and description is None and is_public is None:
        raise InvalidInput("Specify volume type name, description, is_public or a "
                           "combination thereof.")
    if name is not None:
        _name(name)
        if current.name == DEFAULT and name != DEFAULT:
            raise InvalidInput("The default volume type can not be renamed.")
        if name != current.name and claim is not None and claim.type_id is not None:
            raise InvalidState(f"Volume Type {name} already exists.")
    _description(description)
    return VolumeTypeUpdated(
        at=at, request_id=request_id, type_id=current.id, name=current.name if name is None
        else name, description=current.description if description is None else description,
        is_public=current.is_public if is_public is None else is_public)


def delete(state: VolumeTypeState | None, ref: str, *, request_id: str,
           at: datetime) -> VolumeTypeDeleted:
    current = existing(state, ref)
    if current.name == DEFAULT:
        raise InvalidInput("The default volume type can not be deleted.")
    return VolumeTypeDeleted(at=at, request_id=request_id, type_id=current.id)


def set_specs(state: VolumeTypeState | None, ref: str, specs: dict[str, str], *,
              request_id: str, at: datetime) -> VolumeTypeSpecsSet:
    current = existing(state, ref)
    if not specs:
        raise InvalidInput("Invalid input for field/attribute extra_specs: no extra specs "
                           "were given.")
    check_specs(specs)
    return VolumeTypeSpecsSet(at=at, request_id=request_id, type_id=current.id,
                              extra_specs=specs)


def unset_spec(state: VolumeTypeState | None, ref: str, key: str, *, request_id: str,
               at: datetime) -> VolumeTypeSpecUnset:
    current = existing(state, ref)
    if key not in current.extra_specs:
        raise NotFound(f"Volume Type {current.id} has no extra specs with key {key}.")
    return VolumeTypeSpecUnset(at=at, request_id=request_id, type_id=current.id, key=key)


def add_access(state: VolumeTypeState | None, ref: str, project_id: str, *, request_id: str,
               at: datetime) -> VolumeTypeAccessAdded:
    current = existing(state, ref)
    if current.is_public:
        raise InvalidInput("Invalid volume type: Type access modification is not "
                           "applicable to public volume type.")
    if project_id in current.projects:
        raise InvalidState(f"Volume type access for {current.id} / {project_id} "
                           "combination already exists.")
    return VolumeTypeAccessAdded(at=at, request_id=request_id, type_id=current.id,
                                 project_id=project_id)


def remove_access(state: VolumeTypeState | None, ref: str, project_id: str, *,
                  request_id: str, at: datetime) -> VolumeTypeAccessRemoved:
    current = existing(state, ref)
    if current.is_public:
        raise InvalidInput("Invalid volume type: Type access modification is not "
                           "applicable to public volume type.")
    if project_id not in current.projects:
        raise NotFound(f"Volume type access not found for {current.id} / {project_id} "
                       "combination.")
    return VolumeTypeAccessRemoved(at=at, request_id=request_id, type_id=current.id,
                                   project_id=project_id)


def placement(state: VolumeTypeState, storage_hosts: list[str]) -> VolumeType:
    """Where volumes of the type go: the storage hosts its ``volume_backend_name``
    names (every one when it names none), first-fit. A type naming no storage
    host nimbus has cannot hold a volume (400, nothing written)."""
    named = state.extra_specs.get(BACKENDS)
    hosts = storage_hosts if named is None else [
        h for h in (part.strip() for part in named.split(",")) if h in storage_hosts]
    if not hosts:
        raise InvalidInput(f"No valid backend was found for volume type {state.name}: "
                           f"{BACKENDS} {named!r} names no storage host.")
    return VolumeType(id=state.id, name=state.name, backends=list(hosts))


def seeds(storage_hosts: list[str], configured: dict[str, list[str]]
          ) -> list[tuple[str, dict[str, str]]]:
    """The types a fresh cloud starts with, as (name, extra specs): the default
    type on every storage host, then the configured ones on theirs."""
    found: list[tuple[str, dict[str, str]]] = [(DEFAULT, {})] if storage_hosts else []
    return found + [(name, {BACKENDS: ",".join(hosts)})
                    for name, hosts in configured.items() if hosts and name != DEFAULT]
