"""Every kind of aggregate the write side folds: its name and its fold.

A ``Kind[S]`` ties the name an event's class declares (``aggregate``, the
name stored topics and subjects use) to the domain function that folds that
kind's events into its state ``S``, so an aggregate loaded as one kind has a
state mypy knows the type of (``Aggregate[S]``, commands/application.py).
A new aggregate kind is one line here (and its events in ``domain.codec``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from domain import (
    backup,
    flavor,
    host,
    idempotency,
    identity,
    image,
    keypair,
    quota,
    server_disks,
    snapshot,
    volume,
)
from domain import events as ev
from domain import instance as instance_model

S = TypeVar("S")


@dataclass(frozen=True, eq=False)
class Kind(Generic[S]):
    """One aggregate kind: events of ``name`` fold into an ``S`` with ``evolve``."""

    name: str
    # (state so far, the event, the aggregate's id) -> the state after it; each
    # fold is typed on its own events, which only ever meet their own kind
    evolve: Callable[[S | None, Any, str], S]


INSTANCE = Kind(ev.InstanceEvent.aggregate, instance_model.evolve)
FLAVOR = Kind(flavor.FlavorEvent.aggregate, flavor.evolve)
FLAVOR_NAME = Kind(flavor.FlavorNameEvent.aggregate, flavor.evolve_name)
IMAGE = Kind(image.ImageEvent.aggregate, image.evolve)
KEYPAIR = Kind(keypair.KeypairEvent.aggregate, keypair.evolve)
PROJECT = Kind(identity.ProjectEvent.aggregate, identity.evolve_project)
USER = Kind(identity.UserEvent.aggregate, identity.evolve_user)
TOKEN = Kind(identity.TokenEvent.aggregate, identity.evolve_token)
QUOTA = Kind(quota.QuotaEvent.aggregate, quota.evolve)
HOST = Kind(host.HostEvent.aggregate, host.evolve)
FLEET = Kind(host.HostJoinedFleet.aggregate, host.evolve_fleet)
VOLUME = Kind(volume.VolumeEvent.aggregate, volume.evolve)
DISKS = Kind(server_disks.DiskEvent.aggregate, server_disks.evolve)
SNAPSHOT = Kind(snapshot.SnapshotEvent.aggregate, snapshot.evolve)
BACKUP = Kind(backup.BackupEvent.aggregate, backup.evolve)
IDEMPOTENCY_KEY = Kind(idempotency.IdempotencyEvent.aggregate, idempotency.evolve)

KINDS: dict[str, Kind[Any]] = {kind.name: kind for kind in (
    INSTANCE, FLAVOR, FLAVOR_NAME, IMAGE, KEYPAIR, PROJECT, USER, TOKEN, QUOTA, HOST, FLEET,
    VOLUME, DISKS, SNAPSHOT, BACKUP, IDEMPOTENCY_KEY)}
