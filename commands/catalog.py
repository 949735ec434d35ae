"""What a boot may refer to (flavors, images, keypairs), and the seeded defaults.

Decisions never read views, so these lookups answer from the flavor, image
and keypair aggregates in the event store. ``ensure_defaults`` records the
built-in catalog (domain/catalog.py) as ordinary events at start-up, with
fixed request ids, so a second start finds them and writes nothing.
"""

from __future__ import annotations

import uuid

from commands.application import NimbusApplication
from commands.flavors import FlavorCommands, NewFlavor
from commands.image_files import placeholder_qcow2
from commands.images import ImageCommands, NewImage
from commands.keypairs import KeypairCommands
from commands.messages import Caller
from domain import flavor as flavors
from domain import image as images
from domain.catalog import FLAVORS, IMAGES, Flavor, Image
from domain.errors import InvalidInput, InvalidState
from domain.registry import FLAVOR, FLAVOR_NAME, IMAGE

SEEDER = Caller(user_id="nimbus", project_id="", is_admin=True)


def _tail(ref: str) -> str:
    """An id, or the last part of a URL naming one (Nova accepts both)."""
    return ref.rstrip("/").rsplit("/", 1)[-1]


class CatalogLookups:
    def __init__(self, app: NimbusApplication) -> None:
        self.app = app

    def flavor(self, ref: str, caller: Caller) -> Flavor:
        """A flavor the caller may boot with, by id (or URL, or name)."""
        key = _tail(ref)
        found = self.app.find(FLAVOR, flavors.aggregate_id(key))
        if found is None:
            claim = self.app.find(FLAVOR_NAME, flavors.name_aggregate_id(key))
            if claim is not None and claim.state.flavor_id is not None:
                found = self.app.find(FLAVOR, flavors.aggregate_id(claim.state.flavor_id))
        state = found.state if found else None
        if state is None or not flavors.visible(state, caller.project_id, caller.is_admin):
            raise InvalidInput(f"Flavor {ref} could not be found.")
        return state.flavor

    def image(self, ref: str, caller: Caller) -> Image:
        """An active image the caller may see, by id or URL. The default
        image's name is accepted too, for the guides that boot it by name."""
        key = _tail(ref)
        key = next((i.id for i in IMAGES.values() if i.name == key), key)
        try:
            found = self.app.find(IMAGE, uuid.UUID(key))
        except ValueError:
            found = None
        state = found.state if found else None
        if state is None or not images.visible(state, caller.project_id, caller.is_admin):
            raise InvalidInput(f"Image {ref} could not be found.")
        if state.status != images.ImageStatus.ACTIVE:
            raise InvalidInput(f"Image {state.id} is not active.")
        return state.as_image()

    def keypair(self, name: str, caller: Caller) -> str:
        """The public key of the caller's keypair ``name``."""
        public_key = KeypairCommands(self.app).public_key(name, caller.user_id)
        if public_key is None:
            raise InvalidInput("Invalid key_name provided.")
        return public_key


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
