"""Image commands (the Glance v2 subset): create, upload, delete.

An upload is three steps so the bytes never pass through a transaction:
``start_upload`` records the image as ``saving`` under this process's upload
lease (a second upload now gets 409), the API streams the body into
``files.upload(...)``, and ``finish_upload`` records the size and checksums
(``active``) or, when the stream failed, ``fail_upload`` puts the image back
to ``queued``. An upload whose process died is given up: at start
(``recover_cut_uploads``, which also removes stray half-written files) and
when someone uploads to the image again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import msgspec

from commands.application import Aggregate, NimbusApplication, retrying
from commands.image_files import ImageFiles, Stored
from commands.messages import Caller
from commands.upload_lease import UploadLease
from domain import image as model
from domain.errors import DomainError, InvalidState, NotFound

IMAGE_ID_NAMESPACE = uuid.UUID("e4b5c6d7-8a9b-4c0d-9e1f-2a3b4c5d6e7f")

_Decision = Callable[[model.ImageState], model.ImageEvent | None]


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
    def __init__(self, app: NimbusApplication, files: ImageFiles, lease: UploadLease) -> None:
        self.app = app
        self.files = files
        self.lease = lease

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
        """``saving`` under this process's lease; an earlier upload whose
        process is gone is given up first, in the same commit."""
        key = parse_id(image_id)

        def attempt() -> ImageWritten:
            aggregate = self._image(key, image_id)
            state = model.existing(aggregate.state, image_id, caller.project_id,
                                   caller.is_admin)
            at = self.app.clock()
            given_up = model.abandoned(state, owner_alive=self.lease.alive(state.upload_owner),
                                       at=at)
            if given_up is not None:
                aggregate.record(given_up)
            aggregate.record(model.start_upload(
                aggregate.state, request_id=request_id, at=at, project_id=caller.project_id,
                is_admin=caller.is_admin, owner=self.lease.hold()))
            return ImageWritten(state=aggregate.state, position=self.app.commit(aggregate))

        return retrying(attempt)

    def finish_upload(self, image_id: str, stored: Stored, request_id: str) -> ImageWritten:
        """``active`` with the stored bytes' checksums, if this is still the
        upload in progress; else 409 (and the bytes of a deleted image go)."""
        try:
            return self._decide(image_id, None, lambda state: model.finish_upload(
                state, request_id=request_id, at=self.app.clock(), size=stored.size,
                checksum=stored.checksum, os_hash_algo=stored.os_hash_algo,
                os_hash_value=stored.os_hash_value))
        except DomainError:
            found = self.app.load(parse_id(image_id))
            if found is None or found.state.status == model.ImageStatus.DELETED:
                self.files.remove(image_id)
            raise

    def fail_upload(self, image_id: str, reason: str, request_id: str) -> ImageWritten:
        """Back to ``queued``; nothing is written when this upload is no longer
        the one in progress (given up, or the image deleted)."""
        return self._decide(image_id, None, lambda state: model.fail_upload(
            state, request_id=request_id, at=self.app.clock(), reason=reason))

    def recover_cut_uploads(self) -> list[str]:
        """Give up the uploads whose receiving process is gone (back to
        ``queued``, saying why) and remove half-written files no live upload
        is writing. Returns the ids of the images given up."""
        given_up = []
        for key in self.app.ids_with(model.ImageUploadStarted):
            written = self._decide(str(key), None, lambda state: model.abandoned(
                state, owner_alive=self.lease.alive(state.upload_owner), at=self.app.clock()))
            if written.position is not None:
                self.files.remove(str(key))  # what it left, renamed into place or not
                given_up.append(str(key))
        for image_id in self.files.partial_uploads():
            if not self._receiving(image_id):
                self.files.remove_partial(image_id)
        return given_up

    def _receiving(self, image_id: str) -> bool:
        """Whether a live process is receiving an upload of ``image_id``."""
        try:
            found = self.app.load(uuid.UUID(image_id))
        except ValueError:
            return False
        state = found.state if found else None
        return (isinstance(state, model.ImageState) and state.status == model.ImageStatus.SAVING
                and self.lease.alive(state.upload_owner))

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
            aggregate = self._image(key, image_id)
            if caller is not None:
                model.existing(aggregate.state, image_id, caller.project_id, caller.is_admin)
            event = decide(aggregate.state)
            if event is None:
                return ImageWritten(state=aggregate.state, position=None)
            aggregate.record(event)
            return ImageWritten(state=aggregate.state, position=self.app.commit(aggregate))

        return retrying(attempt)

    def _image(self, key: uuid.UUID, image_id: str) -> Aggregate:
        aggregate = self.app.load(key)
        if aggregate is None or aggregate.kind != model.ImageEvent.aggregate:
            raise NotFound(f"No image found with ID {image_id}")
        return aggregate
