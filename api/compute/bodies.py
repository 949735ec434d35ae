"""The request bodies of the server routes, as msgspec types.

Decoding into these (api/bodies.py) gives a 400 naming the field for a
wrong type or a value beyond the rules of api/fields.py. Fields
that OpenStack clients send and nimbus does not implement (a local image
``block_device_mapping_v2``, ``security_groups``) are typed so that nonsense
is refused, then ignored; unknown fields are ignored, as they would be by an
older Nova microversion's client.
"""

from __future__ import annotations

from typing import Any

import msgspec

from api import bodies
from api.fields import (
    Description,
    Digits,
    Metadata,
    Name,
    Password,
    PositiveInt,
    SignedDigits,
    Text255,
    UserData,
)
from commands.messages import NicRequest
from domain.errors import InvalidInput

Count = PositiveInt | Digits


class NetworkRef(msgspec.Struct):
    uuid: Text255 | None = None
    port: Text255 | None = None
    fixed_ip: Text255 | None = None
    tag: Text255 | None = None


class BlockDevice(msgspec.Struct):
    source_type: Text255 | None = None
    destination_type: Text255 | None = None
    uuid: Text255 | None = None
    boot_index: int | Text255 | None = None
    delete_on_termination: bool = False
    volume_size: int | None = None
    device_name: Text255 | None = None


class SecurityGroupRef(msgspec.Struct):
    name: Text255


class ServerCreate(msgspec.Struct):
    name: Name
    flavorRef: Text255 | int
    imageRef: Text255 = ""
    key_name: Name | None = None
    metadata: Metadata = {}
    user_data: UserData | None = None
    availability_zone: Text255 | None = None
    min_count: Count = 1
    max_count: Count | None = None
    return_reservation_id: bool = False
    description: Description | msgspec.UnsetType | None = msgspec.UNSET
    networks: Text255 | list[NetworkRef] | None = None
    block_device_mapping_v2: list[BlockDevice] = []
    security_groups: list[SecurityGroupRef] = []
    adminPass: Password | None = None  # answered back, as Nova does; no guest agent sets it
    accessIPv4: Text255 = ""  # kept and shown, as Nova does; nothing uses them
    accessIPv6: Text255 = ""

    def image(self) -> str:
        """The image to boot: imageRef, or the local image BDM OSC adds to it."""
        for bdm in self.block_device_mapping_v2:
            if bdm.source_type != "image" or bdm.destination_type not in (None, "local"):
                raise InvalidInput(
                    f"Block device mapping with source_type {bdm.source_type} and "
                    f"destination_type {bdm.destination_type} is not supported.")
        if self.networks is not None and isinstance(self.networks, str) \
                and self.networks not in ("auto", "none"):
            raise InvalidInput("Invalid input for field/attribute networks: "
                               f"{self.networks!r} is not 'auto', 'none' or a list")
        if self.imageRef:
            return self.imageRef
        images = [b.uuid for b in self.block_device_mapping_v2 if b.uuid]
        if not images:
            raise InvalidInput("Invalid input for field/attribute imageRef: "
                               "an image is required")
        return images[0]


    def nics(self) -> list[NicRequest]:
        """The interfaces asked for: a network (``uuid``, maybe ``fixed_ip``) or a
        ``port`` each; "auto" and "none" ask for none (nimbus allocates no
        network of its own for "auto")."""
        if not isinstance(self.networks, list):
            return []
        nics = []
        for ref in self.networks:
            if (ref.uuid is None) == (ref.port is None):
                raise InvalidInput("Bad networks format: each network needs either a uuid"
                                   " or a port")
            if ref.port is not None and ref.fixed_ip is not None:
                raise InvalidInput("Bad networks format: a fixed_ip goes with a network"
                                   " uuid, not with a port")
            nics.append(NicRequest(network_id=ref.uuid, port_id=ref.port,
                                   fixed_ip=ref.fixed_ip))
        return nics


class SchedulerHints(msgspec.Struct):
    """Nova's ``os:scheduler_hints``; nimbus acts on ``group`` (a server group's
    id) and accepts the others Nova's filters read, without acting on them."""

    group: Text255 | None = None


class CreateServerBody(msgspec.Struct):
    server: ServerCreate
    scheduler_hints: SchedulerHints | None = msgspec.field(
        default=None, name="os:scheduler_hints")


class ServerUpdate(msgspec.Struct):
    name: Name | None = None
    description: Description | msgspec.UnsetType | None = msgspec.UNSET


class UpdateServerBody(msgspec.Struct):
    server: ServerUpdate


class MetadataBody(msgspec.Struct):
    metadata: Metadata


class MetaBody(msgspec.Struct):
    meta: Metadata


class TagsBody(msgspec.Struct):
    """``PUT /servers/{id}/tags``: each tag is checked by the domain."""

    tags: list[str]


class RebootBody(msgspec.Struct):
    type: Text255


class RebuildBody(msgspec.Struct, forbid_unknown_fields=False):
    """rebuild's argument: the image, and a new name or metadata if given
    (its other fields, adminPass, diskConfig, accessIPv4/6, personality,
    preserve_ephemeral, are taken and change nothing a test-driver host keeps)."""

    imageRef: Text255
    name: Name | None = None
    metadata: Metadata | None = None
    adminPass: Password | None = None


class ResetStateBody(msgspec.Struct):
    state: Text255


class LockBody(msgspec.Struct):
    locked_reason: Text255 | None = None


class ConsoleOutputBody(msgspec.Struct):
    length: int | SignedDigits | None = None


def count(value: int | str | None, field: str) -> int | None:
    if value is None:
        return None
    number = int(value)
    if number < 1:
        raise InvalidInput(f"Invalid input for field/attribute {field}: must be at least 1")
    return number


def argument(value: Any, kind: type[msgspec.Struct], action: str) -> Any:
    """An action's argument object, or 400 naming the field (or the action)."""
    return bodies.convert({} if value is None else value, kind, field=action)
