"""QoS specs as aggregates: named sets of limits (``read_iops_sec``, ...) an
admin associates with volume types, as Cinder's qos-specs.

Who enforces them is the ``consumer``: ``front-end`` (the hypervisor, on the
guest's disk), ``back-end`` (the storage host) or ``both``. nimbus records
them and their associations; neither its hypervisor nor its storage hosts
apply the limits yet. A spec's aggregate id is derived from its id, and a
name claim is committed beside it, so names stay unique (as volume types').
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

import msgspec

from domain.base import Event, UnknownEvent, unknown_event
from domain.errors import InvalidInput, InvalidState, NotFound

NAMESPACE = uuid.UUID("6c2d8e4f-1a3b-4c5d-8e7f-9a0b1c2d3e4f")
CONSUMERS = ("front-end", "back-end", "both")


def aggregate_id(qos_id: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"qos-specs-id:{qos_id}")


def name_aggregate_id(name: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"qos-specs-name:{name}")


class QosSpecsEvent(Event, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "qos_specs"
    request_id: str
    qos_id: str


class QosSpecsCreated(QosSpecsEvent, frozen=True, kw_only=True):
    name: str
    consumer: str
    specs: dict[str, str] = {}


class QosSpecsKeysSet(QosSpecsEvent, frozen=True, kw_only=True):
    specs: dict[str, str]  # added or replaced; the others stay


class QosSpecsKeysUnset(QosSpecsEvent, frozen=True, kw_only=True):
    keys: list[str]


class QosSpecsAssociated(QosSpecsEvent, frozen=True, kw_only=True):
    type_id: str  # a volume type


class QosSpecsDisassociated(QosSpecsEvent, frozen=True, kw_only=True):
    type_ids: list[str]


class QosSpecsDeleted(QosSpecsEvent, frozen=True, kw_only=True):
    pass


class QosSpecsNameEvent(Event, frozen=True, kw_only=True):
    """The claim on a QoS spec's name, so that two never share one."""

    aggregate: ClassVar[str] = "qos_specs_name"
    request_id: str
    name: str
    qos_id: str


class QosSpecsNameClaimed(QosSpecsNameEvent, frozen=True, kw_only=True):
    pass


class QosSpecsNameReleased(QosSpecsNameEvent, frozen=True, kw_only=True):
    pass


AnyQosSpecsEvent = (QosSpecsCreated | QosSpecsKeysSet | QosSpecsKeysUnset | QosSpecsAssociated
                    | QosSpecsDisassociated | QosSpecsDeleted)
AnyQosSpecsNameEvent = QosSpecsNameClaimed | QosSpecsNameReleased


class QosSpecs(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    consumer: str
    specs: dict[str, str] = {}
    types: frozenset[str] = frozenset()  # the volume types it is associated with
    deleted: bool = False
    created_at: datetime | None = None


class QosNameClaim(msgspec.Struct, frozen=True):
    qos_id: str | None  # None: released, free to claim again


def evolve(state: QosSpecs | None, event: Event, _id: str) -> QosSpecs:
    if not isinstance(event, AnyQosSpecsEvent):
        raise UnknownEvent(event, "qos_specs")
    if isinstance(event, QosSpecsCreated):
        return QosSpecs(id=event.qos_id, name=event.name, consumer=event.consumer,
                        specs=dict(event.specs), created_at=event.at)
    assert state is not None, f"{type(event).__name__} before QosSpecsCreated"
    replace = msgspec.structs.replace
    match event:
        case QosSpecsKeysSet():
            return replace(state, specs={**state.specs, **event.specs})
        case QosSpecsKeysUnset():
            return replace(state, specs={k: v for k, v in state.specs.items()
                                         if k not in event.keys})
        case QosSpecsAssociated():
            return replace(state, types=state.types | {event.type_id})
        case QosSpecsDisassociated():
            return replace(state, types=state.types - set(event.type_ids))
        case QosSpecsDeleted():
            return replace(state, deleted=True, types=frozenset())
        case _:
            unknown_event(event, "qos_specs")


def evolve_name(state: QosNameClaim | None, event: Event, _id: str) -> QosNameClaim:
    if not isinstance(event, AnyQosSpecsNameEvent):
        raise UnknownEvent(event, "qos_specs_name")
    match event:
        case QosSpecsNameClaimed():
            return QosNameClaim(event.qos_id)
        case QosSpecsNameReleased():
            return QosNameClaim(None)
        case _:
            unknown_event(event, "qos_specs_name")


def _check_specs(specs: dict[str, str]) -> None:
    for key, value in specs.items():
        if not key.strip() or len(key) > 255 or len(value) > 255:
            raise InvalidInput(f"Invalid input for field/attribute qos_specs. Key {key!r} "
                               "and its value must be 1-255 characters.")


def existing(state: QosSpecs | None, ref: str) -> QosSpecs:
    if state is None or state.deleted:
        raise NotFound(f"No such QoS spec {ref}.")
    return state


def create(state: QosSpecs | None, claim: QosNameClaim | None, *, request_id: str,
           qos_id: str, name: str, consumer: str, specs: dict[str, str],
           at: datetime) -> QosSpecsCreated:
    """Decide a spec's creation: a name, a known consumer, its name free."""
    if not name.strip() or len(name) > 255:
        raise InvalidInput(f"Invalid input for field/attribute name. Value: {name}. "
                           "'name' must be 1-255 characters and not only blanks.")
    if consumer not in CONSUMERS:
        raise InvalidInput(f"Invalid input for field/attribute consumer. Value: {consumer}. "
                           f"It must be one of {', '.join(CONSUMERS)}.")
    _check_specs(specs)
    if (claim is not None and claim.qos_id is not None) or (
            state is not None and not state.deleted):
        raise InvalidState(f"QoS Specs {name} already exists.")
    return QosSpecsCreated(at=at, request_id=request_id, qos_id=qos_id, name=name,
                           consumer=consumer, specs=specs)


def claim_name(created: QosSpecsCreated) -> QosSpecsNameClaimed:
    return QosSpecsNameClaimed(at=created.at, request_id=created.request_id,
                               name=created.name, qos_id=created.qos_id)


def set_keys(state: QosSpecs | None, ref: str, specs: dict[str, str], *, request_id: str,
             at: datetime) -> QosSpecsKeysSet:
    current = existing(state, ref)
    if not specs:
        raise InvalidInput("Invalid input for field/attribute qos_specs: no keys were given.")
    _check_specs(specs)
    return QosSpecsKeysSet(at=at, request_id=request_id, qos_id=current.id, specs=specs)


def unset_keys(state: QosSpecs | None, ref: str, keys: list[str], *, request_id: str,
               at: datetime) -> QosSpecsKeysUnset:
    current = existing(state, ref)
    missing = [k for k in keys if k not in current.specs]
    if missing:
        raise NotFound(f"QoS spec {current.id} has no key {missing[0]}.")
    return QosSpecsKeysUnset(at=at, request_id=request_id, qos_id=current.id, keys=keys)


def associate(state: QosSpecs | None, ref: str, type_id: str, *, request_id: str,
              at: datetime) -> QosSpecsAssociated | None:
    """Associate a volume type (the caller found it); None when it already is."""
    current = existing(state, ref)
    if type_id in current.types:
        return None
    return QosSpecsAssociated(at=at, request_id=request_id, qos_id=current.id,
                              type_id=type_id)


def disassociate(state: QosSpecs | None, ref: str, type_ids: list[str] | None, *,
                 request_id: str, at: datetime) -> QosSpecsDisassociated | None:
    """Disassociate those types (None: every one); None when there is nothing to do."""
    current = existing(state, ref)
    gone = sorted(current.types if type_ids is None else set(type_ids) & current.types)
    if not gone:
        return None
    return QosSpecsDisassociated(at=at, request_id=request_id, qos_id=current.id,
                                 type_ids=gone)


def delete(state: QosSpecs | None, ref: str, *, force: bool, request_id: str,
           at: datetime) -> QosSpecsDeleted:
    """Delete a spec; one still associated only with ``force`` (Cinder's 400)."""
    current = existing(state, ref)
    if current.types and not force:
        raise InvalidInput(f"QoS Specs {current.id} is still associated with entities.")
    return QosSpecsDeleted(at=at, request_id=request_id, qos_id=current.id)


def release_name(claim: QosNameClaim | None, state: QosSpecs, *, request_id: str,
                 at: datetime) -> QosSpecsNameReleased | None:
    if claim is None or claim.qos_id != state.id:
        return None
    return QosSpecsNameReleased(at=at, request_id=request_id, name=state.name, qos_id=state.id)
