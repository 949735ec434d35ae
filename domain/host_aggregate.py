"""Host aggregates (Nova's os-aggregates): named groups of compute hosts with
metadata, whose ``availability_zone`` key makes them an availability zone.

All of a cloud's host aggregates are one aggregate (``DIRECTORY``), as
Nova's are one table: aggregates get the small integer ids Nova shows in
order of creation, a name is never held twice, and a host's zone is decided
against every aggregate it is in, each in one decision on one state, so two
racing admins meet a version conflict rather than a broken rule. Admins
change aggregates seldom, so one hot aggregate costs nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

import msgspec

from domain.base import Event, UnknownEvent, unknown_event
from domain.errors import InvalidInput, InvalidState, NotFound

NAMESPACE = uuid.UUID("8c4a51d2-7e0b-4f6a-a3c9-1d2e3f405162")
DIRECTORY = uuid.uuid5(NAMESPACE, "host-aggregates")  # the one aggregate of them all
AZ_KEY = "availability_zone"
DEFAULT_ZONE = "nova"  # Nova's default_availability_zone: hosts in no zone's aggregate
INTERNAL_ZONE = "internal"  # Nova's internal_service_availability_zone


class HostAggregateEvent(Event, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "host_aggregate"
    request_id: str
    aggregate_id: int  # Nova's integer id, not the store's aggregate id


class HostAggregateCreated(HostAggregateEvent, frozen=True, kw_only=True):
    name: str
    uuid: str
    availability_zone: str | None = None


class HostAggregateUpdated(HostAggregateEvent, frozen=True, kw_only=True):
    """A new name, zone or both (None: unchanged)."""

    name: str | None = None
    availability_zone: str | None = None


class HostAggregateDeleted(HostAggregateEvent, frozen=True, kw_only=True):
    pass


class HostAggregateHostAdded(HostAggregateEvent, frozen=True, kw_only=True):
    host: str


class HostAggregateHostRemoved(HostAggregateEvent, frozen=True, kw_only=True):
    host: str


class HostAggregateMetadataSet(HostAggregateEvent, frozen=True, kw_only=True):
    """Keys set to a value, keys with None removed."""

    metadata: dict[str, str | None]


AnyHostAggregateEvent = (HostAggregateCreated | HostAggregateUpdated | HostAggregateDeleted
                         | HostAggregateHostAdded | HostAggregateHostRemoved
                         | HostAggregateMetadataSet)


class HostAggregate(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    uuid: str
    name: str
    hosts: tuple[str, ...] = ()
    metadata: dict[str, str] = {}
    created_at: datetime
    updated_at: datetime | None = None

    @property
    def availability_zone(self) -> str | None:
        return self.metadata.get(AZ_KEY)


class HostAggregates(msgspec.Struct, frozen=True):
    aggregates: dict[int, HostAggregate] = {}
    last_id: int = 0  # ids are never given twice, even after a delete


def _replaced(state: HostAggregates, agg: HostAggregate | None, agg_id: int) -> HostAggregates:
    aggregates = dict(state.aggregates)
    if agg is None:
        aggregates.pop(agg_id, None)
    else:
        aggregates[agg_id] = agg
    return HostAggregates(aggregates, max(state.last_id, agg_id))


def evolve(state: HostAggregates | None, event: Event, _id: str) -> HostAggregates:
    if not isinstance(event, AnyHostAggregateEvent):
        raise UnknownEvent(event, "host_aggregate")
    state = state or HostAggregates()
    if isinstance(event, HostAggregateCreated):
        metadata = {AZ_KEY: event.availability_zone} if event.availability_zone else {}
        return _replaced(state, HostAggregate(
            id=event.aggregate_id, uuid=event.uuid, name=event.name, metadata=metadata,
            created_at=event.at), event.aggregate_id)
    agg = state.aggregates[event.aggregate_id]
    replace = msgspec.structs.replace
    match event:
        case HostAggregateUpdated():
            metadata = dict(agg.metadata)
            if event.availability_zone is not None:
                metadata[AZ_KEY] = event.availability_zone
            return _replaced(state, replace(agg, name=event.name or agg.name,
                                            metadata=metadata, updated_at=event.at), agg.id)
        case HostAggregateDeleted():
            return _replaced(state, None, agg.id)
        case HostAggregateHostAdded():
            return _replaced(state, replace(agg, hosts=(*agg.hosts, event.host),
                                            updated_at=event.at), agg.id)
        case HostAggregateHostRemoved():
            return _replaced(state, replace(
                agg, hosts=tuple(h for h in agg.hosts if h != event.host),
                updated_at=event.at), agg.id)
        case HostAggregateMetadataSet():
            metadata = {**agg.metadata, **{k: v for k, v in event.metadata.items()
                                           if v is not None}}
            for key in (k for k, v in event.metadata.items() if v is None):
                metadata.pop(key, None)
            return _replaced(state, replace(agg, metadata=metadata, updated_at=event.at),
                             agg.id)
        case _:
            unknown_event(event, "host_aggregate")


def existing(state: HostAggregates | None, aggregate_id: int) -> HostAggregate:
    found = (state or HostAggregates()).aggregates.get(aggregate_id)
    if found is None:
        raise NotFound(f"Aggregate {aggregate_id} could not be found.")
    return found


def zone_of(state: HostAggregates | None, host: str) -> str | None:
    """The zone a host is in by its aggregates' metadata (None: the default one)."""
    for agg in (state or HostAggregates()).aggregates.values():
        if host in agg.hosts and agg.availability_zone:
            return agg.availability_zone
    return None


def zones(state: HostAggregates | None) -> dict[str, frozenset[str]]:
    """Each zone the aggregates name, and the hosts in it."""
    found: dict[str, set[str]] = {}
    for agg in (state or HostAggregates()).aggregates.values():
        if agg.availability_zone:
            found.setdefault(agg.availability_zone, set()).update(agg.hosts)
    return {zone: frozenset(hosts) for zone, hosts in found.items()}


def hosts_in_zone(state: HostAggregates | None, zone: str,
                  hosts: list[str]) -> frozenset[str]:
    """Of ``hosts``, those in ``zone``: the default zone holds the hosts that
    no zone's aggregate names."""
    named = zones(state)
    if zone == DEFAULT_ZONE and zone not in named:
        return frozenset(hosts) - frozenset().union(*named.values())
    return frozenset(hosts) & named.get(zone, frozenset())


def _name(name: str, field: str = "name") -> str:
    if not 1 <= len(name) <= 255 or not name.strip():
        raise InvalidInput(f"Invalid input for field/attribute {field}. Value: {name}. "
                           f"'{name}' must be 1-255 characters, not only spaces")
    return name


def _zone(zone: str | None) -> str | None:
    if zone is None:
        return None
    _name(zone, "availability_zone")
    if ":" in zone:
        raise InvalidInput(f"Invalid input for field/attribute availability_zone. Value: "
                           f"{zone}. The availability zone may not contain ':'")
    return zone


def _name_free(state: HostAggregates, name: str, but: int | None = None) -> None:
    if any(a.name == name and a.id != but for a in state.aggregates.values()):
        raise InvalidState(f"Aggregate {name} already exists.")


def _zone_fits(state: HostAggregates, agg: HostAggregate, zone: str | None,
               hosts: tuple[str, ...]) -> None:
    """Nova's rule: a host is in one zone at most, whichever aggregates say so."""
    if zone is None:
        return
    for host in hosts:
        for other in state.aggregates.values():
            if (other.id != agg.id and host in other.hosts and other.availability_zone
                    and other.availability_zone != zone):
                raise InvalidInput(
                    f"Cannot update aggregate {agg.id}. Reason: One or more hosts already "
                    f"in availability zone(s) ['{other.availability_zone}'].")


def create(state: HostAggregates | None, *, request_id: str, name: str,
           availability_zone: str | None, at: datetime) -> HostAggregateCreated:
    current = state or HostAggregates()
    _name(name)
    _name_free(current, name)
    agg_id = current.last_id + 1
    return HostAggregateCreated(
        at=at, request_id=request_id, aggregate_id=agg_id, name=name,
        uuid=str(uuid.uuid5(NAMESPACE, f"{request_id}:{agg_id}")),
        availability_zone=_zone(availability_zone))


def update(state: HostAggregates | None, aggregate_id: int, *, request_id: str,
           name: str | None, availability_zone: str | None,
           at: datetime) -> HostAggregateUpdated:
    agg = existing(state, aggregate_id)
    assert state is not None
    if name is None and availability_zone is None:
        raise InvalidInput("Invalid input for field/attribute aggregate. Value: {}. "
                           "At least one of name or availability_zone is required")
    if name is not None:
        _name_free(state, _name(name), but=agg.id)
    _zone_fits(state, agg, _zone(availability_zone), agg.hosts)
    return HostAggregateUpdated(at=at, request_id=request_id, aggregate_id=agg.id, name=name,
                                availability_zone=availability_zone)


def delete(state: HostAggregates | None, aggregate_id: int, *, request_id: str,
           at: datetime) -> HostAggregateDeleted:
    agg = existing(state, aggregate_id)
    if agg.hosts:
        raise InvalidInput(f"Cannot remove host from aggregate {agg.id}. Reason: "
                           "Host aggregate is not empty.")
    return HostAggregateDeleted(at=at, request_id=request_id, aggregate_id=agg.id)


def add_host(state: HostAggregates | None, aggregate_id: int, host: str, *,
             known_hosts: set[str], request_id: str, at: datetime) -> HostAggregateHostAdded:
    agg = existing(state, aggregate_id)
    assert state is not None
    if host not in known_hosts:
        raise NotFound(f"Compute host {host} could not be found.")
    if host in agg.hosts:
        raise InvalidState(f"Aggregate {agg.id} already has host {host}.")
    _zone_fits(state, agg, agg.availability_zone, (host,))
    return HostAggregateHostAdded(at=at, request_id=request_id, aggregate_id=agg.id,
                                  host=host)


def remove_host(state: HostAggregates | None, aggregate_id: int, host: str, *,
                known_hosts: set[str], request_id: str,
                at: datetime) -> HostAggregateHostRemoved:
    agg = existing(state, aggregate_id)
    if host not in known_hosts:
        raise NotFound(f"Compute host {host} could not be found.")
    if host not in agg.hosts:
        raise NotFound(f"Aggregate {agg.id} has no host {host}.")
    return HostAggregateHostRemoved(at=at, request_id=request_id, aggregate_id=agg.id,
                                    host=host)


def set_metadata(state: HostAggregates | None, aggregate_id: int,
                 metadata: dict[str, str | None], *, request_id: str,
                 at: datetime) -> HostAggregateMetadataSet:
    agg = existing(state, aggregate_id)
    assert state is not None
    if not metadata:
        raise InvalidInput("Invalid input for field/attribute metadata. Value: {}. "
                           "At least one key is required")
    for key, value in metadata.items():
        if not 1 <= len(key) <= 255:
            raise InvalidInput(f"Invalid input for field/attribute metadata. Value: {key}. "
                               "Keys must be 1-255 characters")
        if value is not None and len(value) > 255:
            raise InvalidInput(f"Invalid input for field/attribute metadata. Value: {value}."
                               " Values must be at most 255 characters")
    if AZ_KEY in metadata:
        _zone_fits(state, agg, _zone(metadata[AZ_KEY]), agg.hosts)
    return HostAggregateMetadataSet(at=at, request_id=request_id, aggregate_id=agg.id,
                                    metadata=metadata)
