"""Volume types: names users pick, mapped to the storage hosts that serve them.

As the seed's xensm "flavors" (``gold`` on a fast backend, ...), each type
names its backends in order; a new volume goes to the first (first-fit).
``__DEFAULT__`` (Cinder's default type) is every storage host. Types are
configuration, not events: they come from settings, like flavors' defaults.
"""

from __future__ import annotations

import uuid

import msgspec

from domain.errors import NotFound

DEFAULT = "__DEFAULT__"
NAMESPACE = uuid.UUID("5a7c3e1f-9b2d-4c8e-a6f4-1d3b5c7e9f02")


class VolumeType(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    backends: list[str]  # storage hosts, first-fit


def catalog(storage_hosts: list[str], configured: dict[str, list[str]]) -> list[VolumeType]:
    """The default type on every storage host, then the configured ones."""
    named = {DEFAULT: storage_hosts, **configured}
    return [VolumeType(id=str(uuid.uuid5(NAMESPACE, name)), name=name, backends=hosts)
            for name, hosts in named.items() if hosts]


def find(types: list[VolumeType], ref: str | None) -> VolumeType:
    """A type by name or id (None: the default); Cinder's 404 when there is none."""
    wanted = ref or DEFAULT
    found = next((t for t in types if wanted in (t.name, t.id)), None)
    if found is None:
        raise NotFound(f"Volume type with name {wanted} could not be found.")
    return found
