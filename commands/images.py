"""Image commands (the Glance v2 subset): create, upload, delete.

An upload is three steps so the bytes never pass through a transaction:
``start_upload`` records the image as ``saving`` (a second upload now gets
409), the API streams the body into ``files.upload(...)``, and
``finish_upload`` records the size and checksums (``active``) or, when the
stream failed, ``fail_upload`` puts the image back to ``queued``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import msgspec

from commands.application import Aggregate, NimbusApplication, retrying
from commands.image_files import ImageFiles, Stored
from commands.messages import Caller
from domain import image as model
from domain.errors import InvalidState, NotFound

IMAGE_ID_NAMESPACE = uuid.UUID("e4b5c6d7-8a9b-4c0d-9e1f-2a3b4c5d6e7f")

_Decision = Callable[[model.ImageState], model.ImageEvent]


class NewImage(msgspec.Struct, frozen=True, kw_only=True):
    name: str | None = None
    id: str | None = None
    visibility: str = "private"
    disk_format: str | None = None
    container_format: str | None = None
    min_disk: int = 0
    min_ram: int = 0
    protected: bool = False
    tags: list[str] = msgspec.field(default_factory=list)
    properties: dict[str, str] = msgspec.field(default_factory=dict)


class ImageWritten(msgspec.Struct, frozen=True, kw_only=True):
    state: model.ImageState
    position: int | None


def parse_id(image_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(image_id)
    except ValueError:
        raise NotFound(f"No image found with ID {image_id}") from None


class ImageCommands:
    def __init__(self, app: NimbusApplication, files: ImageFiles) -> None:
        self.app = app
        self.files = files

    def create(self, new: NewImage, caller: Caller, request_id: str) -> ImageWritten:
        image_id = parse_id(new.id) if new.id else uuid.uuid5(IMAGE_ID_NAMESPACE, request_id)
        event = model.create(model.ImageCreated(
            at=self.app.clock(), request_id=request_id, name=new.name, owner=caller.project_id,
            visibility=new.visibility, disk_format=new.disk_format,
            container_format=new.container_format, min_disk=new.min_disk, min_ram=new.min_ram,
            protected=new.protected, tags=new.tags, properties=new.properties,
        ), is_admin=caller.is_admin)

        def attempt() -> ImageWritten:
            aggregate = self.app.load(image_id)
            if aggregate is not None:
                if request_id in aggregate.requests:
                    return ImageWritten(state=aggregate.state, position=None)
                raise InvalidState(f"Image with identifier {image_id} already exists!")
            aggregate = Aggregate(image_id, model.ImageEvent.aggregate)
            aggregate.record(event)
            return ImageWritten(state=aggregate.state, position=self.app.commit(aggregate))

        return retrying(attempt)

    def start_upload(self, image_id: str, caller: Caller, request_id: str) -> ImageWritten:
        return self._decide(image_id, caller, lambda state: model.start_upload(
            state, request_id=request_id, at=self.app.clock(), project_id=caller.project_id,
            is_admin=caller.is_admin))

    def finish_upload(self, image_id: str, stored: Stored, request_id: str) -> ImageWritten:
        return self._decide(image_id, None, lambda state: model.ImageActivated(
            at=self.app.clock(), request_id=request_id, size=stored.size,
            checksum=stored.checksum, os_hash_algo=stored.os_hash_algo,
            os_hash_value=stored.os_hash_value))

    def fail_upload(self, image_id: str, reason: str, request_id: str) -> ImageWritten:
        return self._decide(image_id, None, lambda state: model.ImageUploadFailed(
            at=self.app.clock(), request_id=request_id, reason=reason))

    def delete(self, image_id: str, caller: Caller, request_id: str) -> ImageWritten:
        written = self._decide(image_id, caller, lambda state: model.delete(
            state, request_id=request_id, at=self.app.clock(), project_id=caller.project_id,
            is_admin=caller.is_admin))
        self.files.remove(written.state.id)
        return written

    def image(self, image_id: str, caller: Caller) -> model.ImageState:
        aggregate = self.app.load(parse_id(image_id))
        return model.existing(aggregate.state if aggregate else None, image_id,
                              caller.project_id, caller.is_admin)

    def _decide(self, image_id: str, caller: Caller | None,
                decide: _Decision) -> ImageWritten:
        key = parse_id(image_id)

        def attempt() -> ImageWritten:
            aggregate = self.app.load(key)
            if aggregate is None or aggregate.kind != model.ImageEvent.aggregate:
                raise NotFound(f"No image found with ID {image_id}")
            if caller is not None:
                model.existing(aggregate.state, image_id, caller.project_id, caller.is_admin)
            aggregate.record(decide(aggregate.state))
            return ImageWritten(state=aggregate.state, position=self.app.commit(aggregate))

        return retrying(attempt)

