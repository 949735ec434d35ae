"""The request bodies of the server routes, as msgspec types.

Decoding into these gives a 400 naming the field for a wrong type. Fields
that OpenStack clients send and nimbus does not implement (``networks``, a
local image ``block_device_mapping_v2``, ``security_groups``) are typed so
that nonsense is refused, then ignored; unknown fields are ignored, as they
would be by an older Nova microversion's client.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from domain.errors import InvalidInput

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
Description = Annotated[str, msgspec.Meta(max_length=255)]
Count = int | Annotated[str, msgspec.Meta(pattern=r"^[0-9]+$")]


class NetworkRef(msgspec.Struct):
    uuid: str | None = None
    port: str | None = None
    fixed_ip: str | None = None
    tag: str | None = None


class BlockDevice(msgspec.Struct):
    source_type: str | None = None
    destination_type: str | None = None
    uuid: str | None = None
    boot_index: int | str | None = None
    delete_on_termination: bool = False
    volume_size: int | None = None
    device_name: str | None = None


class SecurityGroupRef(msgspec.Struct):
    name: str


class ServerCreate(msgspec.Struct):
    name: Name
    flavorRef: str | int
    imageRef: str = ""
    key_name: Name | None = None
    metadata: dict[str, str] = {}
    user_data: str | None = None
    availability_zone: str | None = None
    min_count: Count = 1
    max_count: Count | None = None
    return_reservation_id: bool = False
    description: Description | None = None
    networks: str | list[NetworkRef] | None = None
    block_device_mapping_v2: list[BlockDevice] = []
    security_groups: list[SecurityGroupRef] = []

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


class CreateServerBody(msgspec.Struct):
    server: ServerCreate


class ServerUpdate(msgspec.Struct):
    name: Name | None = None
    description: Description | msgspec.UnsetType | None = msgspec.UNSET


class UpdateServerBody(msgspec.Struct):
    server: ServerUpdate


class MetadataBody(msgspec.Struct):
    metadata: dict[str, str]


class MetaBody(msgspec.Struct):
    meta: dict[str, str]


class RebootBody(msgspec.Struct):
    type: str


class LockBody(msgspec.Struct):
    locked_reason: Description | None = None


class ConsoleOutputBody(msgspec.Struct):
    length: int | Annotated[str, msgspec.Meta(pattern=r"^-?[0-9]+$")] | None = None


def count(value: int | str | None, field: str) -> int | None:
    if value is None:
        return None
    number = int(value)
    if number < 1:
        raise InvalidInput(f"Invalid input for field/attribute {field}: must be at least 1")
    return number


def argument(value: Any, kind: type[msgspec.Struct], action: str) -> Any:
    """An action's argument object, or 400 naming the action."""
    try:
        return msgspec.convert({} if value is None else value, kind)
    except msgspec.ValidationError as exc:
        raise InvalidInput(f"Invalid input for field/attribute {action}: {exc}") from None
