"""The guest devices a server's volumes hold: one aggregate per server.

An attach reserves its device here in the same transaction as the volume's
attach request, so two volumes racing for a server never get the same
device; a detach (or a failed attach) gives it back. Devices are virtio
disks ``/dev/vdb`` to ``/dev/vdz`` (``/dev/vda`` is the root disk), the next
free one when the client names none, as Nova picks them.

A server's delete writes here too (``DisksDetachRequested``), in the same
transaction as the detaches of the volumes listed here: an attach racing the
delete then meets a version conflict and decides again, seeing the server
going, so no volume is left attached to a deleted server.
"""

from __future__ import annotations

import re
import string
import uuid
from datetime import datetime
from typing import ClassVar

import msgspec

from domain.base import Event, UnknownEvent, unknown_event
from domain.errors import InvalidInput

NAMESPACE = uuid.UUID("4d1f3a6b-2c8e-4f70-9b15-7e6a5c4d3b21")
DEVICES = tuple(f"/dev/vd{c}" for c in string.ascii_lowercase[1:])
_DEVICE = re.compile(r"/dev/[a-z]+[a-z]")


def server_disks_id(server_id: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, server_id)


class DiskEvent(Event, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "server_disks"
    server_id: str
    device: str


class DiskReserved(DiskEvent, frozen=True, kw_only=True):
    volume_id: str


class DiskReleased(DiskEvent, frozen=True, kw_only=True):
    volume_id: str


class DisksDetachRequested(DiskEvent, frozen=True, kw_only=True):
    """The server is being deleted and each of these volumes was asked to
    detach; their devices are given back one by one as the detaches end."""

    device: str = ""  # not one device: every one the volumes hold
    volume_ids: list[str] = []


AnyDiskEvent = DiskReserved | DiskReleased | DisksDetachRequested


class ServerDisks(msgspec.Struct, frozen=True, kw_only=True):
    server_id: str
    devices: dict[str, str] = {}  # device -> volume id


def evolve(state: ServerDisks | None, event: DiskEvent, _aggregate_id: str) -> ServerDisks:
    if not isinstance(event, AnyDiskEvent):
        raise UnknownEvent(event, "server_disks")
    disks = state or ServerDisks(server_id=event.server_id)
    match event:
        case DiskReserved():
            return msgspec.structs.replace(disks, devices={**disks.devices,
                                                           event.device: event.volume_id})
        case DiskReleased():
            return msgspec.structs.replace(
                disks, devices={d: v for d, v in disks.devices.items() if d != event.device})
        case DisksDetachRequested():
            return disks
        case _:
            unknown_event(event, "server_disks")


def reserve(state: ServerDisks | None, *, server_id: str, volume_id: str,
            wanted: str | None, at: datetime) -> DiskReserved:
    """The named device, or the next free one; Nova's 400s when it cannot be had."""
    taken = state.devices if state else {}
    if wanted is None:
        device = next((d for d in DEVICES if d not in taken), None)
        if device is None:
            raise InvalidInput("No free disk device names for prefix 'vd'")
    else:
        if not _DEVICE.fullmatch(wanted):
            raise InvalidInput(f"The supplied device path ({wanted}) is invalid.")
        if wanted == "/dev/vda":
            raise InvalidInput("The supplied device path (/dev/vda) is in use.")
        device = wanted
    if device in taken:
        raise InvalidInput(f"The supplied device path ({device}) is in use.")
    return DiskReserved(at=at, server_id=server_id, device=device, volume_id=volume_id)


def release(state: ServerDisks | None, *, volume_id: str, at: datetime) -> DiskReleased | None:
    """Give back the device ``volume_id`` holds; None when it holds none."""
    if state is None:
        return None
    device = next((d for d, v in state.devices.items() if v == volume_id), None)
    if device is None:
        return None
    return DiskReleased(at=at, server_id=state.server_id, device=device, volume_id=volume_id)


def detach_all(state: ServerDisks | None, *, server_id: str,
               at: datetime) -> DisksDetachRequested:
    """What a server's delete records here: the volumes it holds, each to detach."""
    volume_ids = sorted(set(state.devices.values())) if state else []
    return DisksDetachRequested(at=at, server_id=server_id, volume_ids=volume_ids)
