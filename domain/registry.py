"""Every kind of aggregate nimbus stores, declared once.

A ``Kind[S]`` names an aggregate kind (the ``aggregate`` its event classes
declare: what stored events, subjects and views call it), the type of its
state ``S``, the fold of its events into that state, its events (the union
its module declares) and what hosts do for it (``work``: the events a
compute or storage host acts on). Everything that must know every kind
reads it here: the codec (every event type, by name and topic), the write
side (``Aggregate[S]`` loads an aggregate as its kind, with its typed state),
the projector's views, the ingester (which kind a host's report is about)
and the workers (which events they act on).

A new aggregate kind is its module in ``domain/`` (events, their union,
state, ``evolve``, decisions) and one line here.
"""

from __future__ import annotations

import enum
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from domain import (
    backup,
    flavor,
    floating_ip,
    host,
    host_aggregate,
    idempotency,
    identity,
    identity_app_credentials,
    identity_catalog,
    identity_credentials,
    identity_groups,
    identity_roles,
    image,
    instance,
    keypair,
    migration_events,
    network,
    port,
    qos_specs,
    quota,
    router,
    security_group,
    server_disks,
    server_group,
    snapshot,
    volume,
    volume_types,
)
from domain import events as ev
from domain.base import Event

S = TypeVar("S")


class Role(enum.StrEnum):
    """The hosts that act on events: a hypervisor host, a storage host, a network host."""

    COMPUTE = "compute"
    STORAGE = "storage"
    NETWORK = "network"


def event_types(union: object) -> tuple[type[Event], ...]:
    """The event classes of a union of them (or of one class)."""
    members = typing.get_args(union) or (union,)
    assert all(isinstance(t, type) and issubclass(t, Event) for t in members), union
    return tuple(typing.cast("tuple[type[Event], ...]", members))


@dataclass(frozen=True, eq=False)
class Kind(Generic[S]):
    """One aggregate kind: events of ``name`` fold into an ``S`` with ``evolve``."""

    name: str
    state: type[S]
    # (state so far, the event, the aggregate's id) -> the state after it; each
    # fold is typed on its own events, which only ever meet their own kind
    evolve: Callable[[S | None, Any, str], S]
    events: tuple[type[Event], ...]
    work: Mapping[Role, tuple[type[Event], ...]]  # the events each role's hosts act on


def _kind(state: type[S], evolve: Callable[[S | None, Any, str], S], events: object,
          **work: object) -> Kind[S]:
    types = event_types(events)
    (name,) = {t.aggregate for t in types}  # one kind's events all name it
    acted = {Role(role): event_types(union) for role, union in work.items()}
    assert all(set(on) <= set(types) for on in acted.values()), name
    return Kind(name, state, evolve, types, acted)


INSTANCE = _kind(instance.Instance, instance.evolve,
                 ev.AnyInstanceEvent | migration_events.AnyMigrationEvent,
                 compute=ev.AnyInstanceRequest | migration_events.AnyMigrationRequest)
FLAVOR = _kind(flavor.FlavorState, flavor.evolve, flavor.AnyFlavorEvent)
FLAVOR_NAME = _kind(flavor.NameClaim, flavor.evolve_name, flavor.AnyFlavorNameEvent)
IMAGE = _kind(image.ImageState, image.evolve, image.AnyImageEvent)
KEYPAIR = _kind(keypair.KeypairState, keypair.evolve, keypair.AnyKeypairEvent)
DOMAIN = _kind(identity.Domain, identity.evolve_domain, identity.AnyDomainEvent)
PROJECT = _kind(identity.Project, identity.evolve_project, identity.AnyProjectEvent)
USER = _kind(identity.User, identity.evolve_user, identity.AnyUserEvent)
TOKEN = _kind(identity.RevokedToken, identity.evolve_token, identity.AnyTokenEvent)
ROLE = _kind(identity_roles.CustomRole, identity_roles.evolve_role, identity_roles.AnyRoleEvent)
CATALOG_ENTRY = _kind(identity_catalog.CatalogEntry, identity_catalog.evolve,
                      identity_catalog.AnyCatalogEvent)
CREDENTIAL = _kind(identity_credentials.Credential, identity_credentials.evolve,
                   identity_credentials.AnyCredentialEvent)
APP_CREDENTIAL = _kind(identity_app_credentials.AppCredential, identity_app_credentials.evolve,
                       identity_app_credentials.AnyAppCredentialEvent)
GROUP = _kind(identity_groups.Group, identity_groups.evolve_group, identity_groups.AnyGroupEvent)
QUOTA = _kind(quota.Quota, quota.evolve, quota.AnyQuotaEvent)
HOST = _kind(host.Host, host.evolve, host.AnyHostEvent)
FLEET = _kind(host.Fleet, host.evolve_fleet, host.AnyFleetEvent)
SERVER_GROUP = _kind(server_group.ServerGroup, server_group.evolve,
                     server_group.AnyServerGroupEvent)
HOST_AGGREGATE = _kind(host_aggregate.HostAggregates, host_aggregate.evolve,
                       host_aggregate.AnyHostAggregateEvent)
VOLUME = _kind(volume.Volume, volume.evolve, volume.AnyVolumeEvent,
               storage=volume.StorageStep, compute=volume.ComputeStep)
DISKS = _kind(server_disks.ServerDisks, server_disks.evolve, server_disks.AnyDiskEvent)
SNAPSHOT = _kind(snapshot.Snapshot, snapshot.evolve, snapshot.AnySnapshotEvent,
                 storage=snapshot.StorageStep)
BACKUP = _kind(backup.Backup, backup.evolve, backup.AnyBackupEvent, storage=backup.StorageStep)
# a network host renders the whole of what these say should exist, on any change
NETWORK_FABRIC = _kind(network.Fabric, network.evolve_fabric, network.AnyFabricEvent)
NETWORK = _kind(network.Network, network.evolve, network.AnyNetworkEvent,
                network=network.AnyNetworkEvent)
PORT = _kind(port.Port, port.evolve, port.AnyPortEvent, network=port.AnyPortEvent)
FLOATING_IP = _kind(floating_ip.FloatingIp, floating_ip.evolve, floating_ip.AnyFloatingIpEvent,
                    network=floating_ip.AnyFloatingIpEvent)
SECURITY_GROUP = _kind(security_group.SecurityGroup, security_group.evolve,
                       security_group.AnySecurityGroupEvent,
                       network=security_group.AnySecurityGroupEvent)
ROUTER = _kind(router.Router, router.evolve, router.AnyRouterEvent, network=router.AnyRouterEvent)
VOLUME_TYPE = _kind(volume_types.VolumeTypeState, volume_types.evolve,
                    volume_types.AnyVolumeTypeEvent)
VOLUME_TYPE_NAME = _kind(volume_types.TypeNameClaim, volume_types.evolve_name,
                         volume_types.AnyVolumeTypeNameEvent)
QOS_SPECS = _kind(qos_specs.QosSpecs, qos_specs.evolve, qos_specs.AnyQosSpecsEvent)
QOS_SPECS_NAME = _kind(qos_specs.QosNameClaim, qos_specs.evolve_name,
                       qos_specs.AnyQosSpecsNameEvent)
IDEMPOTENCY_KEY = _kind(idempotency.IdempotencyKey, idempotency.evolve,
                        idempotency.AnyIdempotencyEvent)

# (in the order the published schema lists their events: docs/events.schema.json)
KINDS: dict[str, Kind[Any]] = {kind.name: kind for kind in (
    INSTANCE, DOMAIN, PROJECT, USER, TOKEN, FLAVOR, FLAVOR_NAME, IMAGE, KEYPAIR, QUOTA, HOST, FLEET,
    VOLUME, DISKS, SNAPSHOT, BACKUP, IDEMPOTENCY_KEY, NETWORK_FABRIC, NETWORK, PORT,
    FLOATING_IP, SECURITY_GROUP, ROUTER, VOLUME_TYPE, VOLUME_TYPE_NAME,
    QOS_SPECS, QOS_SPECS_NAME, HOST_AGGREGATE, SERVER_GROUP, ROLE, GROUP, CATALOG_ENTRY,
    CREDENTIAL, APP_CREDENTIAL)}

# every stored event class, by class name (names are unique across kinds)
EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls for kind in KINDS.values() for cls in kind.events}
assert len(EVENT_TYPES) == sum(len(kind.events) for kind in KINDS.values())


def kind_of(event_type: str) -> Kind[Any]:
    """The kind whose events include the class named ``event_type``."""
    found = EVENT_TYPES.get(event_type)
    if found is None:
        raise LookupError(f"no aggregate kind has an event {event_type!r}")
    return KINDS[found.aggregate]


def handled(role: Role, *kinds: Kind[Any]) -> frozenset[str]:
    """The names of the events ``role``'s hosts act on, of ``kinds`` (all: none given)."""
    return frozenset(cls.__name__ for kind in kinds or KINDS.values()
                     for cls in kind.work.get(role, ()))
