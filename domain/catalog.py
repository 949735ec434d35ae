"""The value types a boot refers to, and the catalog a fresh cloud starts with.

``Flavor`` and ``Image`` are what the write side hands a boot decision (built
from the flavor and image aggregates). ``FLAVORS`` and ``IMAGES`` are only
the *defaults*: Nova's classic flavors (m1.tiny ... m1.xlarge) and one small
placeholder image. They are not read at run time: the composition root seeds
them as events once (commands/catalog.py ``ensure_defaults``), and from then
on flavors and images live in the event store like everything else.
"""

from __future__ import annotations

import msgspec


class Flavor(msgspec.Struct, frozen=True):
    id: str
    name: str
    vcpus: int
    ram: int  # MB
    disk: int  # GB
    ephemeral: int = 0
    swap: int = 0
    is_public: bool = True
    rxtx_factor: float = 1.0


class Image(msgspec.Struct, frozen=True):
    id: str
    name: str
    disk_format: str = "qcow2"
    container_format: str = "bare"
    size: int = 0
    min_disk: int = 0
    min_ram: int = 0
    visibility: str = "public"
    status: str = "active"
    created_at: str = "2026-01-01T00:00:00Z"


FLAVORS: dict[str, Flavor] = {
    f.id: f
    for f in (
        Flavor("1", "m1.tiny", vcpus=1, ram=512, disk=1),
        Flavor("2", "m1.small", vcpus=1, ram=2048, disk=20),
        Flavor("3", "m1.medium", vcpus=2, ram=4096, disk=40),
        Flavor("4", "m1.large", vcpus=4, ram=8192, disk=80),
        Flavor("5", "m1.xlarge", vcpus=8, ram=16384, disk=160),
    )
}

# The default image: a placeholder named like CirrOS so that guides and tests
# work unchanged. Its bytes are an empty qcow2 (``placeholder_qcow2`` in
# commands/image_files.py): nimbus has no internet access to fetch the real
# CirrOS.
IMAGES: dict[str, Image] = {
    i.id: i
    for i in (
        Image("2a9b8f3e-1c4d-4e5f-8a6b-7c8d9e0f1a2b", "cirros-0.6.2-x86_64-disk"),
    )
}
