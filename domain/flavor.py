"""Flavors as aggregates: their events, their state, and the decisions on them.

A flavor's aggregate id is derived from its flavor id, and a second small
aggregate per name ("the name is taken") is committed in the same
transaction, so neither an id nor a name can be created twice even by racing
admins: the loser meets a version conflict and decides again. Private flavors
list the projects that may use them (Nova's flavor access).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import ClassVar

import msgspec

from domain.base import Event, UnknownEvent, unknown_event
from domain.catalog import Flavor
from domain.errors import InvalidInput, InvalidState, NotFound

NAMESPACE = uuid.UUID("5d0e2f6a-0c1b-4b8e-9d7e-2f3a4b5c6d70")

_ID_RE = re.compile(r"^(?! )[a-zA-Z0-9. _-]+(?<! )$")


def aggregate_id(flavor_id: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"flavor-id:{flavor_id}")


def name_aggregate_id(name: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"flavor-name:{name}")


class FlavorEvent(Event, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "flavor"
    request_id: str
    flavor_id: str


class FlavorCreated(FlavorEvent, frozen=True, kw_only=True):
    name: str
    vcpus: int
    ram: int
    disk: int
    ephemeral: int = 0
    swap: int = 0
    rxtx_factor: float = 1.0
    is_public: bool = True
    description: str | None = None


class FlavorDeleted(FlavorEvent, frozen=True, kw_only=True):
    pass


class FlavorAccessAdded(FlavorEvent, frozen=True, kw_only=True):
    project_id: str


class FlavorAccessRemoved(FlavorEvent, frozen=True, kw_only=True):
    project_id: str


class FlavorExtraSpecsSet(FlavorEvent, frozen=True, kw_only=True):
    """Extra specs (Nova's os-extra_specs) set or replaced, key by key."""

    extra_specs: dict[str, str]


class FlavorExtraSpecDeleted(FlavorEvent, frozen=True, kw_only=True):
    key: str


class FlavorNameEvent(Event, frozen=True, kw_only=True):
    """The claim on a flavor name, so that two flavors never share one."""

    aggregate: ClassVar[str] = "flavor_name"
    request_id: str
    name: str
    flavor_id: str


class FlavorNameClaimed(FlavorNameEvent, frozen=True, kw_only=True):
    pass


class FlavorNameReleased(FlavorNameEvent, frozen=True, kw_only=True):
    pass


AnyFlavorEvent = (FlavorCreated | FlavorDeleted | FlavorAccessAdded | FlavorAccessRemoved
                  | FlavorExtraSpecsSet | FlavorExtraSpecDeleted)
AnyFlavorNameEvent = FlavorNameClaimed | FlavorNameReleased


class FlavorState(msgspec.Struct, frozen=True):
    flavor: Flavor
    description: str | None = None
    projects: frozenset[str] = frozenset()
    deleted: bool = False
    created_at: datetime | None = None
    extra_specs: dict[str, str] = {}


class NameClaim(msgspec.Struct, frozen=True):
    flavor_id: str | None  # None: released, free to claim again


def evolve(state: FlavorState | None, event: Event, _id: str) -> FlavorState:
    if not isinstance(event, AnyFlavorEvent):
        raise UnknownEvent(event, "flavor")
    if isinstance(event, FlavorCreated):
        return FlavorState(
            Flavor(event.flavor_id, event.name, vcpus=event.vcpus, ram=event.ram,
                   disk=event.disk, ephemeral=event.ephemeral, swap=event.swap,
                   is_public=event.is_public, rxtx_factor=event.rxtx_factor),
            description=event.description, created_at=event.at,
        )
    assert state is not None, f"{type(event).__name__} before FlavorCreated"
    match event:
        case FlavorDeleted():
            return msgspec.structs.replace(state, deleted=True, projects=frozenset(),
                                           extra_specs={})
        case FlavorAccessAdded():
            return msgspec.structs.replace(state, projects=state.projects | {event.project_id})
        case FlavorAccessRemoved():
            return msgspec.structs.replace(state, projects=state.projects - {event.project_id})
        case FlavorExtraSpecsSet():
            return msgspec.structs.replace(
                state, extra_specs={**state.extra_specs, **event.extra_specs})
        case FlavorExtraSpecDeleted():
            specs = dict(state.extra_specs)
            specs.pop(event.key, None)
            return msgspec.structs.replace(state, extra_specs=specs)
        case _:
            unknown_event(event, "flavor")


def evolve_name(state: NameClaim | None, event: Event, _id: str) -> NameClaim:
    if not isinstance(event, AnyFlavorNameEvent):
        raise UnknownEvent(event, "flavor_name")
    match event:
        case FlavorNameClaimed():
            return NameClaim(event.flavor_id)
        case FlavorNameReleased():
            return NameClaim(None)
        case _:
            unknown_event(event, "flavor_name")


def validate(event: FlavorCreated) -> None:
    """Nova's rules for a new flavor's fields (400 naming the field)."""
    if not 1 <= len(event.name) <= 255 or event.name != event.name.strip():
        raise InvalidInput("Invalid input for field/attribute name. Value: "
                           f"{event.name}. 'name' must be 1-255 characters without "
                           "leading or trailing whitespace")
    if not 1 <= len(event.flavor_id) <= 255 or not _ID_RE.match(event.flavor_id):
        raise InvalidInput(f"Invalid input for field/attribute id. Value: {event.flavor_id}. "
                           "Only letters, digits, '.', '_', '-' and inner spaces are allowed")
    limits = {"ram": (event.ram, 1), "vcpus": (event.vcpus, 1), "disk": (event.disk, 0),
              "OS-FLV-EXT-DATA:ephemeral": (event.ephemeral, 0), "swap": (event.swap, 0)}
    for field, (value, least) in limits.items():
        if not least <= value <= 2147483647:
            raise InvalidInput(f"Invalid input for field/attribute {field}. Value: {value}. "
                               f"{value} is not between {least} and 2147483647")
    if not 0 < event.rxtx_factor <= 3.40282e38:
        raise InvalidInput(f"Invalid input for field/attribute rxtx_factor. Value: "
                           f"{event.rxtx_factor}. It must be greater than 0")


def create(state: FlavorState | None, claim: NameClaim | None, *, request_id: str,
           flavor_id: str, name: str, vcpus: int, ram: int, disk: int, ephemeral: int = 0,
           swap: int = 0, rxtx_factor: float = 1.0, is_public: bool = True,
           description: str | None = None, at: datetime) -> FlavorCreated:
    """Decide a flavor creation: fields valid, id and name both free."""
    event = FlavorCreated(at=at, request_id=request_id, flavor_id=flavor_id, name=name,
                          vcpus=vcpus, ram=ram, disk=disk, ephemeral=ephemeral, swap=swap,
                          rxtx_factor=rxtx_factor, is_public=is_public,
                          description=description)
    validate(event)
    if claim is not None and claim.flavor_id is not None:
        raise InvalidState(f"Flavor with name {name} already exists.")
    if state is not None and not state.deleted:
        raise InvalidState(f"Flavor with ID {flavor_id} already exists.")
    return event


def claim_name(created: FlavorCreated) -> FlavorNameClaimed:
    """The name claim committed with a creation (``create`` found the name free)."""
    return FlavorNameClaimed(at=created.at, request_id=created.request_id, name=created.name,
                             flavor_id=created.flavor_id)


def delete(state: FlavorState | None, flavor_id: str, *, request_id: str,
           at: datetime) -> FlavorDeleted:
    existing(state, flavor_id)
    return FlavorDeleted(at=at, request_id=request_id, flavor_id=flavor_id)


def release_name(claim: NameClaim | None, deleted: FlavorState, *, request_id: str,
                 at: datetime) -> FlavorNameReleased | None:
    """The deleted flavor's name is free again; None when it was never claimed."""
    if claim is None:
        return None
    return FlavorNameReleased(at=at, request_id=request_id, name=deleted.flavor.name,
                              flavor_id=deleted.flavor.id)


def visible(state: FlavorState | None, project_id: str, is_admin: bool) -> bool:
    """Whether a caller may see (and boot with) the flavor."""
    if state is None or state.deleted:
        return False
    return state.flavor.is_public or is_admin or project_id in state.projects


def existing(state: FlavorState | None, flavor_id: str) -> FlavorState:
    if state is None or state.deleted:
        raise NotFound(f"Flavor {flavor_id} could not be found.")
    return state


def add_access(state: FlavorState | None, flavor_id: str, project_id: str, *,
               request_id: str, at: datetime) -> FlavorAccessAdded:
    current = existing(state, flavor_id)
    if current.flavor.is_public:
        raise InvalidState("Can not add access to a public flavor.")
    if project_id in current.projects:
        raise InvalidState(f"Flavor access already exists for flavor {flavor_id} "
                           f"and project {project_id} combination.")
    return FlavorAccessAdded(at=at, request_id=request_id, flavor_id=flavor_id,
                             project_id=project_id)


def remove_access(state: FlavorState | None, flavor_id: str, project_id: str, *,
                  request_id: str, at: datetime) -> FlavorAccessRemoved:
    current = existing(state, flavor_id)
    if project_id not in current.projects:
        raise NotFound(f"Flavor access not found for {flavor_id} / {project_id} combination.")
    return FlavorAccessRemoved(at=at, request_id=request_id, flavor_id=flavor_id,
                               project_id=project_id)


_SPEC_KEY_RE = re.compile(r"^[a-zA-Z0-9-_:. ]{1,255}$")


def set_extra_specs(state: FlavorState | None, flavor_id: str, specs: dict[str, str], *,
                    request_id: str, at: datetime) -> FlavorExtraSpecsSet:
    """Nova's rules for extra specs: keys of letters, digits and ``-_:. ``, values
    up to 255 characters, at least one of them."""
    existing(state, flavor_id)
    if not specs:
        raise InvalidInput("Invalid input for field/attribute extra_specs. Value: {}. "
                           "At least one extra spec is required")
    for key, value in specs.items():
        if not _SPEC_KEY_RE.match(key):
            raise InvalidInput(f"Invalid input for field/attribute extra_specs. Value: {key}. "
                               "Keys are 1-255 letters, digits or '-_:. '")
        if len(value) > 255:
            raise InvalidInput(f"Invalid input for field/attribute {key}. Value: {value}. "
                               "It is longer than 255 characters")
    return FlavorExtraSpecsSet(at=at, request_id=request_id, flavor_id=flavor_id,
                               extra_specs=dict(specs))


def delete_extra_spec(state: FlavorState | None, flavor_id: str, key: str, *,
                      request_id: str, at: datetime) -> FlavorExtraSpecDeleted:
    current = existing(state, flavor_id)
    if key not in current.extra_specs:
        raise NotFound(f"Flavor {flavor_id} has no extra specs with key {key}.")
    return FlavorExtraSpecDeleted(at=at, request_id=request_id, flavor_id=flavor_id, key=key)
