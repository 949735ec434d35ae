"""Image commands (the Glance v2 subset): create, upload, delete.

An upload is three steps so the bytes never pass through a transaction:
``start_upload`` records the image as ``saving`` under this process's upload
lease (a second upload now gets 409), the API streams the body into
``files.upload(...)``, and ``finish_upload`` records the size and checksums
(``active``) or, when the stream failed, ``fail_upload`` puts the image back
to ``queued``. An upload whose process died is given up: at start
(``recover_cut_uploads``, which also removes stray half-written files) and
when someone uploads to the image again. Only the end of an upload answers
its request: the same upload again, once it completed, is answered as it was
(``start_upload`` writes nothing, and the API takes no bytes); after a
failure it may be sent again.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from commands.application import Aggregate, Change, NimbusApplication, Written
from commands.image_files import ImageFiles, Stored
from commands.messages import Caller
from commands.upload_lease import UploadLease
from domain import image as model
from domain.errors import DomainError, NotFound
from domain.image import ImageState
from domain.registry import IMAGE

IMAGE_ID_NAMESPACE = uuid.UUID("e4b5c6d7-8a9b-4c0d-9e1f-2a3b4c5d6e7f")


class NewImage(msgspec.Struct, frozen=True, kw_only=True):
    name: str | None = None
    id: str | None = None
    owner: str | None = None  # None: the caller's project
    visibility: str = "private"
    disk_format: str | None = None
    container_format: str | None = None
    min_disk: int = 0
    min_ram: int = 0
    protected: bool = False
    tags: list[str] = msgspec.field(default_factory=list)
    properties: dict[str, str] = msgspec.field(default_factory=dict)


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

    def create(self, new: NewImage, caller: Caller, request_id: str) -> Written[ImageState]:
        image_id = parse_id(new.id) if new.id else uuid.uuid5(IMAGE_ID_NAMESPACE, request_id)
        return self.app.execute(
            request_id, lambda: self._new(image_id),
            lambda image, at: [(image, model.create(
                image.current, request_id=request_id, image_id=str(image_id), name=new.name,
                owner=new.owner or caller.project_id, creator=caller.project_id,
                visibility=new.visibility,
                disk_format=new.disk_format, container_format=new.container_format,
                min_disk=new.min_disk, min_ram=new.min_ram, protected=new.protected,
                tags=new.tags, properties=new.properties, is_admin=caller.is_admin, at=at))])

    def start_upload(self, image_id: str, caller: Caller,
                     request_id: str) -> Written[ImageState]:
        """``saving`` under this process's lease; an earlier upload whose
        process is gone is given up first, in the same commit. The position
        is None only for a retry of an upload that completed: its bytes are
        stored, and the answer is the first one's."""

        def decide(image: Aggregate[ImageState], at: datetime) -> list[Change]:
            state = model.existing(image.current, image_id, caller.project_id,
                                   caller.is_admin)
            return [(image, model.take_upload(
                state, request_id=request_id, at=at, project_id=caller.project_id,
                is_admin=caller.is_admin, owner=self.lease.hold(),
                owner_alive=self.lease.alive(state.upload_owner)))]

        return self.app.execute(request_id, lambda: self._load(image_id), decide)

    def finish_upload(self, image_id: str, stored: Stored,
                      request_id: str) -> Written[ImageState]:
        """``active`` with the stored bytes' checksums, if this is still the
        upload in progress; else 409 (and the bytes of a deleted image go)."""

        def decide(image: Aggregate[ImageState], at: datetime) -> list[Change]:
            return [(image, model.finish_upload(
                _found(image, image_id), request_id=request_id, at=at, size=stored.size,
                checksum=stored.checksum, os_hash_algo=stored.os_hash_algo,
                os_hash_value=stored.os_hash_value))]

        try:
            return self.app.execute(request_id, lambda: self._load(image_id), decide)
        except DomainError:
            found = self.app.find(IMAGE, parse_id(image_id))
            if found is None or found.state.status == model.ImageStatus.DELETED:
                self.files.remove(image_id)
            raise

    def fail_upload(self, image_id: str, reason: str, request_id: str) -> Written[ImageState]:
        """Back to ``queued``; nothing is written when this upload is no longer
        the one in progress (given up, or the image deleted)."""
        return self.app.execute(
            request_id, lambda: self._load(image_id),
            lambda image, at: [(image, model.fail_upload(
                _found(image, image_id), request_id=request_id, at=at, reason=reason))])

    def recover_cut_uploads(self) -> list[str]:
        """Give up the uploads whose receiving process is gone (back to
        ``queued``, saying why) and remove half-written files no live upload
        is writing. Returns the ids of the images given up."""
        given_up = []
        for key in self.app.ids_with(model.ImageUploadStarted):
            if self._give_up(str(key)).position is not None:
                self.files.remove(str(key))  # what it left, renamed into place or not
                given_up.append(str(key))
        for image_id in self.files.partial_uploads():
            if not self._receiving(image_id):
                self.files.remove_partial(image_id)
        return given_up

    def _give_up(self, image_id: str) -> Written[ImageState]:
        """Back to ``queued`` if its upload's receiving process is gone."""
        return self.app.execute(
            None, lambda: self._load(image_id),
            lambda image, at: [(image, model.abandoned(
                image.state, at=at, owner_alive=self.lease.alive(image.state.upload_owner)))])

    def _receiving(self, image_id: str) -> bool:
        """Whether a live process is receiving an upload of ``image_id``."""
        try:
            found = self.app.find(IMAGE, uuid.UUID(image_id))
        except ValueError:
            return False
        return (found is not None and found.state.status == model.ImageStatus.SAVING
                and self.lease.alive(found.state.upload_owner))

    def delete(self, image_id: str, caller: Caller, request_id: str) -> Written[ImageState]:
        written = self.app.execute(
            request_id, lambda: self._load(image_id),
            lambda image, at: [(image, model.delete(
                model.existing(image.current, image_id, caller.project_id, caller.is_admin),
                request_id=request_id, at=at, project_id=caller.project_id,
                is_admin=caller.is_admin))])
        self.files.remove(written.state.id)
        return written

    def image(self, image_id: str, caller: Caller) -> ImageState:
        return model.existing(self._load(image_id).current, image_id, caller.project_id,
                              caller.is_admin)

    def _load(self, image_id: str) -> Aggregate[ImageState]:
        return self.app.load_or_new(parse_id(image_id), IMAGE)

    def _new(self, image_id: uuid.UUID) -> Aggregate[ImageState]:
        """Where a new image goes: an id another aggregate holds is taken too."""
        found = self.app.load(image_id)
        if found is None:
            return Aggregate(image_id, IMAGE)
        if found.kind is not IMAGE:
            raise model.already_exists(str(image_id))
        return found


def _found(image: Aggregate[ImageState], image_id: str) -> ImageState:
    if image.current is None:
        raise NotFound(f"No image found with ID {image_id}")
    return image.current
