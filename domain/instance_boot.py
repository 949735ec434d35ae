"""What a boot request may ask for: user data, availability zone, count,
names, and a flavor big enough for the image's minimums.

Pure checks with Nova's limits and words, made before anything is written.
"""

from __future__ import annotations

import base64
import binascii
from typing import Final

from domain.catalog import Flavor, Image
from domain.errors import InvalidInput

USER_DATA_LIMIT: Final = 65535  # bytes, once decoded
AVAILABILITY_ZONES: Final = frozenset({"nova"})
MAX_COUNT: Final = 1000  # a guard; the instances quota is the real limit


def check_user_data(user_data: str | None) -> None:
    if user_data is None:
        return
    try:
        decoded = base64.b64decode(user_data, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("Invalid input for field/attribute user_data: "
                           "Userdata content cannot be decoded.") from None
    if len(decoded) > USER_DATA_LIMIT:
        raise InvalidInput(f"User data too large. User data must be no larger than "
                           f"{USER_DATA_LIMIT} bytes once decoded (it is {len(decoded)}).")


def check_availability_zone(zone: str | None,
                            known: frozenset[str] = AVAILABILITY_ZONES) -> str:
    """The zone to boot in: Nova's default zone, or one of ``known`` (the
    zones host aggregates name)."""
    if zone is None or zone == "":
        return "nova"
    if zone not in AVAILABILITY_ZONES | known:
        raise InvalidInput("The requested availability zone is not available")
    return zone


def check_image_fits(flavor: Flavor, image: Image) -> None:
    """Nova's refusals of a flavor smaller than the image's ``min_ram`` or
    ``min_disk`` (a flavor with no root disk boots any image, as Nova's)."""
    if flavor.ram < image.min_ram:
        raise InvalidInput("Flavor's memory is too small for requested image.")
    if flavor.disk and flavor.disk < image.min_disk:
        raise InvalidInput("Flavor's disk is smaller than the minimum size specified in image "
                           f"metadata. Flavor disk is {flavor.disk * 1024 ** 3} bytes, "
                           f"minimum size is {image.min_disk * 1024 ** 3} bytes.")


def instance_count(min_count: int, max_count: int | None) -> int:
    """How many instances one request starts (max_count; quota may refuse)."""
    top = min_count if max_count is None else max_count
    if min_count < 1:
        raise InvalidInput("Invalid input for field/attribute min_count: must be at least 1")
    if top < 1:
        raise InvalidInput("Invalid input for field/attribute max_count: must be at least 1")
    if min_count > top:
        raise InvalidInput("min_count must be <= max_count")
    if top > MAX_COUNT:
        raise InvalidInput(f"Invalid input for field/attribute max_count: "
                           f"at most {MAX_COUNT} instances per request")
    return top


def display_names(name: str, count: int) -> list[str]:
    """Nova's multi_instance_display_name_template, '%(name)s-%(count)d'."""
    if count == 1:
        return [name]
    return [f"{name}-{i}" for i in range(1, count + 1)]
