"""What a boot may refer to (flavors, images, keypairs), and the seeded defaults.

Decisions never read views, so these lookups answer from the flavor, image
and keypair aggregates in the event store, held in memory and brought up to
date from the log with one query per lookup (commands/catalog_cache.py).
``ensure_defaults`` records the built-in catalog (domain/catalog.py) as
ordinary events at start-up, with fixed request ids, so a second start finds
them and writes nothing.
"""

from __future__ import annotations

import uuid
from typing import NamedTuple

from commands.application import NimbusApplication
from commands.catalog_cache import CatalogCache
from commands.flavors import FlavorCommands, NewFlavor
from commands.image_files import placeholder_qcow2
from commands.images import ImageCommands, NewImage
from commands.messages import Caller
from domain import flavor as flavors
from domain import image as images
from domain import keypair as keypairs
from domain.catalog import FLAVORS, IMAGES, Flavor, Image
from domain.errors import InvalidInput, InvalidState
from domain.registry import FLAVOR, FLAVOR_NAME, IMAGE, KEYPAIR

SEEDER = Caller(user_id="nimbus", project_id="", is_admin=True)


def _tail(ref: str) -> str:
    """An id, or the last part of a URL naming one (Nova accepts both)."""
    return ref.rstrip("/").rsplit("/", 1)[-1]


def _image_key(ref: str) -> str:
    """The image id a reference names (the default image's name names it too)."""
    key = _tail(ref)
    return next((i.id for i in IMAGES.values() if i.name == key), key)


class BootRefs(NamedTuple):
    """What a boot refers to, found."""

    flavor: Flavor
    image: Image
    public_key: str | None


class CatalogLookups:
    """The lookups, answered from a cache brought up to date from the log
    (commands/catalog_cache.py): one query for all a boot refers to."""

    def __init__(self, app: NimbusApplication) -> None:
        self.app = app
        self.cache = CatalogCache(app)

    def boot_refs(self, flavor_ref: str, image_ref: str, key_name: str | None,
                  caller: Caller) -> BootRefs:
        """The flavor, image and public key a boot names (the key: None if it names none)."""
        self.cache.refresh([*self._flavor_ids(flavor_ref), *self._image_ids(image_ref),
                            *([keypairs.aggregate_id(caller.user_id, key_name)]
                              if key_name else [])])
        return BootRefs(self._flavor(flavor_ref, caller), self._image(image_ref, caller),
                        self._keypair(key_name, caller) if key_name else None)

    def flavor(self, ref: str, caller: Caller) -> Flavor:
        """A flavor the caller may boot with, by id (or URL, or name)."""
        self.cache.refresh(self._flavor_ids(ref))
        return self._flavor(ref, caller)

    def image(self, ref: str, caller: Caller) -> Image:
        """An active image the caller may see, by id or URL. The default
        image's name is accepted too, for the guides that boot it by name."""
        self.cache.refresh(self._image_ids(ref))
        return self._image(ref, caller)

    def keypair(self, name: str, caller: Caller) -> str:
        """The public key of the caller's keypair ``name``."""
        self.cache.refresh([keypairs.aggregate_id(caller.user_id, name)])
        return self._keypair(name, caller)

    @staticmethod
    def _flavor_ids(ref: str) -> list[uuid.UUID]:
        key = _tail(ref)
        return [flavors.aggregate_id(key), flavors.name_aggregate_id(key)]

    @staticmethod
    def _image_ids(ref: str) -> list[uuid.UUID]:
        try:
            return [uuid.UUID(_image_key(ref))]
        except ValueError:
            return []

    def _flavor(self, ref: str, caller: Caller) -> Flavor:
        key = _tail(ref)
        state = self.cache.get(FLAVOR, flavors.aggregate_id(key))
        if state is None:
            claim = self.cache.get(FLAVOR_NAME, flavors.name_aggregate_id(key))
            if claim is not None and claim.flavor_id is not None:
                state = self.cache.get(FLAVOR, flavors.aggregate_id(claim.flavor_id))
        if state is None or not flavors.visible(state, caller.project_id, caller.is_admin):
            raise InvalidInput(f"Flavor {ref} could not be found.")
        return state.flavor

    def _image(self, ref: str, caller: Caller) -> Image:
        ids = self._image_ids(ref)
        state = self.cache.get(IMAGE, ids[0]) if ids else None
        if state is None or not images.visible(state, caller.project_id, caller.is_admin):
            raise InvalidInput(f"Image {ref} could not be found.")
        if state.status != images.ImageStatus.ACTIVE:
            raise InvalidInput(f"Image {state.id} is not active.")
        return state.as_image()

    def _keypair(self, name: str, caller: Caller) -> str:
        state = self.cache.get(KEYPAIR, keypairs.aggregate_id(caller.user_id, name))
        if state is None or state.deleted:
            raise InvalidInput("Invalid key_name provided.")
        return state.public_key


def ensure_defaults(flavor_commands: FlavorCommands, image_commands: ImageCommands) -> int:
    """Record the default flavors and image unless they were recorded before
    (even if an admin deleted them since). Returns how many events were written."""
    written = 0
    for flavor in FLAVORS.values():
        result = flavor_commands.create(
            NewFlavor(name=flavor.name, vcpus=flavor.vcpus, ram=flavor.ram, disk=flavor.disk,
                      flavor_id=flavor.id, ephemeral=flavor.ephemeral, swap=flavor.swap,
                      is_public=flavor.is_public),
            SEEDER, f"seed:flavor:{flavor.id}")
        written += result.position is not None
    for image in IMAGES.values():
        request = f"seed:image:{image.id}"
        state = image_commands.create(
            NewImage(id=image.id, name=image.name, visibility="public",
                     disk_format=image.disk_format, container_format=image.container_format),
            SEEDER, request).state
        files = image_commands.files
        if state.status == images.ImageStatus.QUEUED:
            try:
                image_commands.start_upload(image.id, SEEDER, f"{request}:upload")
            except InvalidState:
                continue  # another process starting at the same time is uploading it
            state = image_commands.finish_upload(
                image.id, files.put(image.id, placeholder_qcow2()), f"{request}:upload").state
            written += 1
        elif state.status == images.ImageStatus.ACTIVE and not files.path(image.id).exists():
            files.put(image.id, placeholder_qcow2())  # the same bytes, so the same checksum
    return written
