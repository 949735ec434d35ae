"""Images as aggregates (the Glance v2 subset): events, state, decisions.

An image is created ``queued``; an upload moves it to ``saving`` and, once
the bytes are on disk with their checksums, to ``active``. An upload that
fails puts it back to ``queued`` (as Glance does), and so does one whose
receiving process is gone (each upload names its ``owner``, the process's
upload lease): only the upload in progress may end it, so a late report of
an upload that was given up, or of one on a deleted image, changes nothing. Public images are an
admin's to publish. Who sees an image, as Glance has it: everyone a
``public`` or ``community`` one, its owner and admins any, and the projects
it was shared with (its members) a ``shared`` one. An admin may deactivate
an active image (its bytes are then an admin's only) and reactivate it.
Changes to an image's attributes, tags and members are events of their own
(``domain.image_patch``, ``domain.image_changes``, ``domain.image_members``
decide them).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

import msgspec

from domain.base import Event, UnknownEvent, unknown_event
from domain.catalog import Image
from domain.errors import Forbidden, InvalidInput, InvalidState, NotFound

NAMESPACE = uuid.UUID("a3c9d4e2-7b1f-4c6a-8e5d-0f9b8a7c6d51")
VISIBILITIES = frozenset({"public", "private", "shared", "community"})
DISK_FORMATS = frozenset({"ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi",
                          "iso", "ploop"})
CONTAINER_FORMATS = frozenset({"ami", "ari", "aki", "bare", "ovf", "ova", "docker",
                               "compressed"})


class ImageStatus:
    QUEUED = "queued"
    SAVING = "saving"
    ACTIVE = "active"
    DELETED = "deleted"
    DEACTIVATED = "deactivated"


MEMBER_STATUSES = frozenset({"pending", "accepted", "rejected"})


class ImageEvent(Event, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "image"
    request_id: str


class ImageCreated(ImageEvent, frozen=True, kw_only=True):
    name: str | None
    owner: str
    visibility: str = "private"
    disk_format: str | None = None
    container_format: str | None = None
    min_disk: int = 0
    min_ram: int = 0
    protected: bool = False
    tags: list[str] = msgspec.field(default_factory=list)
    properties: dict[str, str] = msgspec.field(default_factory=dict)


class ImageUploadStarted(ImageEvent, frozen=True, kw_only=True):
    answers: ClassVar[bool] = False  # the upload's answer comes with its end

    owner: str = ""  # the upload lease of the process receiving the bytes


class ImageUploadFailed(ImageEvent, frozen=True, kw_only=True):
    answers: ClassVar[bool] = False  # the same upload may be sent again

    reason: str


class ImageActivated(ImageEvent, frozen=True, kw_only=True):
    size: int
    checksum: str  # md5 hex, as Glance's "checksum"
    os_hash_algo: str
    os_hash_value: str


class ImageDeleted(ImageEvent, frozen=True, kw_only=True):
    pass


class ImageUpdated(ImageEvent, frozen=True, kw_only=True):
    """A PATCH applied: every attribute a PATCH may change, as it left them."""

    name: str | None
    visibility: str
    disk_format: str | None
    container_format: str | None
    min_disk: int
    min_ram: int
    protected: bool
    tags: list[str]
    properties: dict[str, str]
    owner: str | None = None  # None in a PATCH from before the owner could change


class ImageTagAdded(ImageEvent, frozen=True, kw_only=True):
    tag: str


class ImageTagRemoved(ImageEvent, frozen=True, kw_only=True):
    tag: str


class ImageDeactivated(ImageEvent, frozen=True, kw_only=True):
    pass


class ImageReactivated(ImageEvent, frozen=True, kw_only=True):
    pass


class ImageMemberAdded(ImageEvent, frozen=True, kw_only=True):
    member_id: str  # a project id; its status starts ``pending``


class ImageMemberStatusChanged(ImageEvent, frozen=True, kw_only=True):
    member_id: str
    status: str  # pending, accepted or rejected


class ImageMemberRemoved(ImageEvent, frozen=True, kw_only=True):
    member_id: str


AnyImageEvent = (
    ImageCreated | ImageUploadStarted | ImageUploadFailed | ImageActivated | ImageDeleted
    | ImageUpdated | ImageTagAdded | ImageTagRemoved | ImageDeactivated | ImageReactivated
    | ImageMemberAdded | ImageMemberStatusChanged | ImageMemberRemoved
)


class ImageMember(msgspec.Struct, frozen=True, kw_only=True):
    """A project an image is shared with, and its answer."""

    status: str
    created_at: datetime
    updated_at: datetime


class ImageState(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str | None
    owner: str
    visibility: str
    status: str
    disk_format: str | None
    container_format: str | None
    min_disk: int
    min_ram: int
    protected: bool
    created_at: datetime
    updated_at: datetime
    size: int | None = None
    checksum: str | None = None
    os_hash_algo: str | None = None
    os_hash_value: str | None = None
    # while saving: the upload in progress (its request id) and its owner
    upload_request: str | None = None
    upload_owner: str | None = None
    tags: tuple[str, ...] = ()
    properties: dict[str, str] = msgspec.field(default_factory=dict)
    members: dict[str, ImageMember] = msgspec.field(default_factory=dict)  # by project id

    def as_image(self) -> Image:
        """The value a boot records."""
        return Image(self.id, self.name or "", disk_format=self.disk_format or "raw",
                     container_format=self.container_format or "bare", size=self.size or 0,
                     min_disk=self.min_disk, min_ram=self.min_ram, visibility=self.visibility,
                     status=self.status, created_at=self.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"))


def evolve(state: ImageState | None, event: Event, aggregate_id: str) -> ImageState:
    if not isinstance(event, AnyImageEvent):
        raise UnknownEvent(event, "image")
    if isinstance(event, ImageCreated):
        return ImageState(
            id=aggregate_id, name=event.name, owner=event.owner, visibility=event.visibility,
            status=ImageStatus.QUEUED, disk_format=event.disk_format,
            container_format=event.container_format, min_disk=event.min_disk,
            min_ram=event.min_ram, protected=event.protected, created_at=event.at,
            updated_at=event.at, tags=tuple(dict.fromkeys(event.tags)),
            properties=dict(event.properties),
        )
    assert state is not None, f"{type(event).__name__} before ImageCreated"
    replace = msgspec.structs.replace
    ended = {"upload_request": None, "upload_owner": None}
    match event:
        case ImageUploadStarted():
            return replace(state, status=ImageStatus.SAVING, updated_at=event.at,
                           upload_request=event.request_id, upload_owner=event.owner)
        case ImageUploadFailed():
            return replace(state, status=ImageStatus.QUEUED, updated_at=event.at, **ended)
        case ImageActivated():
            return replace(state, status=ImageStatus.ACTIVE, updated_at=event.at, size=event.size,
                           checksum=event.checksum, os_hash_algo=event.os_hash_algo,
                           os_hash_value=event.os_hash_value, **ended)
        case ImageDeleted():
            return replace(state, status=ImageStatus.DELETED, updated_at=event.at, **ended)
        case ImageUpdated():
            return replace(state, updated_at=event.at, name=event.name,
                           owner=event.owner or state.owner,
                           visibility=event.visibility, disk_format=event.disk_format,
                           container_format=event.container_format, min_disk=event.min_disk,
                           min_ram=event.min_ram, protected=event.protected,
                           tags=tuple(dict.fromkeys(event.tags)),
                           properties=dict(event.properties))
        case ImageTagAdded():
            return replace(state, updated_at=event.at,
                           tags=tuple(dict.fromkeys((*state.tags, event.tag))))
        case ImageTagRemoved():
            return replace(state, updated_at=event.at,
                           tags=tuple(t for t in state.tags if t != event.tag))
        case ImageDeactivated():
            return replace(state, status=ImageStatus.DEACTIVATED, updated_at=event.at)
        case ImageReactivated():
            return replace(state, status=ImageStatus.ACTIVE, updated_at=event.at)
        case ImageMemberAdded():
            added = ImageMember(status="pending", created_at=event.at, updated_at=event.at)
            return replace(state, members={**state.members, event.member_id: added})
        case ImageMemberStatusChanged():
            changed = replace(state.members[event.member_id], status=event.status,
                              updated_at=event.at)
            return replace(state, members={**state.members, event.member_id: changed})
        case ImageMemberRemoved():
            return replace(state, members={m: s for m, s in state.members.items()
                                           if m != event.member_id})
        case _:
            unknown_event(event, "image")


def visible(state: ImageState | None, project_id: str, is_admin: bool) -> bool:
    if state is None or state.status == ImageStatus.DELETED:
        return False
    return (state.visibility in ("public", "community") or is_admin
            or state.owner == project_id
            or (state.visibility == "shared" and project_id in state.members))


def owned(state: ImageState, project_id: str, is_admin: bool) -> bool:
    """Whether the caller may change the image: its owner or an admin."""
    return is_admin or state.owner == project_id


def existing(state: ImageState | None, image_id: str, project_id: str,
             is_admin: bool) -> ImageState:
    if state is None or not visible(state, project_id, is_admin):
        raise NotFound(f"No image found with ID {image_id}")
    return state


def already_exists(image_id: str) -> InvalidState:
    return InvalidState(f"Image with identifier {image_id} already exists!")


def create(state: ImageState | None, *, request_id: str, image_id: str, name: str | None,
           owner: str, visibility: str = "private", disk_format: str | None = None,
           container_format: str | None = None, min_disk: int = 0, min_ram: int = 0,
           protected: bool = False, tags: list[str] | None = None,
           properties: dict[str, str] | None = None, is_admin: bool,
           creator: str | None = None, at: datetime) -> ImageCreated:
    """A new image with Glance's checks on its fields; its id must be free.
    Only an admin creates one for another project than ``creator``'s."""
    if creator is not None and owner != creator and not is_admin:
        raise Forbidden(f"You are not permitted to create images owned by '{owner}'.")
    if name is not None and len(name) > 255:
        raise InvalidInput("Invalid input for field/attribute name: longer than 255 characters")
    if visibility not in VISIBILITIES:
        raise InvalidInput(f"Invalid input for field/attribute visibility: "
                           f"{visibility!r} is not one of {sorted(VISIBILITIES)}")
    if visibility == "public" and not is_admin:
        raise Forbidden('You are not authorized to complete publicize_image action.')
    if disk_format is not None and disk_format not in DISK_FORMATS:
        raise InvalidInput(f"Invalid input for field/attribute disk_format: "
                           f"{disk_format!r} is not one of {sorted(DISK_FORMATS)}")
    if container_format is not None and container_format not in CONTAINER_FORMATS:
        raise InvalidInput(f"Invalid input for field/attribute container_format: "
                           f"{container_format!r} is not one of "
                           f"{sorted(CONTAINER_FORMATS)}")
    for field, value in (("min_disk", min_disk), ("min_ram", min_ram)):
        if not 0 <= value <= 2147483647:
            raise InvalidInput(f"Invalid input for field/attribute {field}: {value} is not "
                               "between 0 and 2147483647")
    if state is not None:
        raise already_exists(image_id)
    return ImageCreated(at=at, request_id=request_id, name=name, owner=owner,
                        visibility=visibility, disk_format=disk_format,
                        container_format=container_format, min_disk=min_disk, min_ram=min_ram,
                        protected=protected, tags=list(tags or []),
                        properties=dict(properties or {}))


def start_upload(state: ImageState, *, request_id: str, at: datetime,
                 project_id: str, is_admin: bool, owner: str = "") -> ImageUploadStarted:
    if state.owner != project_id and not is_admin:
        raise Forbidden("You are not permitted to upload data to this image.")
    if state.status != ImageStatus.QUEUED:
        raise InvalidState(f"Image status transition from {state.status} to saving is not "
                           "allowed")
    if state.disk_format is None or state.container_format is None:
        raise InvalidInput("Properties disk_format, container_format must be set prior to "
                           "saving data.")
    return ImageUploadStarted(at=at, request_id=request_id, owner=owner)


def take_upload(state: ImageState, *, request_id: str, at: datetime, project_id: str,
                is_admin: bool, owner: str, owner_alive: bool) -> list[ImageEvent]:
    """Start an upload under ``owner``'s lease: an earlier upload whose
    process is gone (``owner_alive`` False) is given up first."""
    events: list[ImageEvent] = []
    given_up = abandoned(state, owner_alive=owner_alive, at=at)
    if given_up is not None:
        events.append(given_up)
        state = evolve(state, given_up, state.id)
    events.append(start_upload(state, request_id=request_id, at=at, project_id=project_id,
                               is_admin=is_admin, owner=owner))
    return events


def uploading(state: ImageState | None, request_id: str) -> bool:
    """Whether ``request_id`` is the upload in progress."""
    return (state is not None and state.status == ImageStatus.SAVING
            and state.upload_request == request_id)


def finish_upload(state: ImageState, *, request_id: str, at: datetime, size: int,
                  checksum: str, os_hash_algo: str, os_hash_value: str) -> ImageActivated:
    """The stored bytes make the image active, if this is still the upload in progress."""
    if not uploading(state, request_id):
        raise InvalidState(f"The upload to image {state.id} was given up or the image "
                           f"changed meanwhile (status {state.status}); upload again.")
    return ImageActivated(at=at, request_id=request_id, size=size, checksum=checksum,
                          os_hash_algo=os_hash_algo, os_hash_value=os_hash_value)


def fail_upload(state: ImageState, *, request_id: str, at: datetime,
                reason: str) -> ImageUploadFailed | None:
    """Back to queued, if ``request_id`` is the upload in progress; else None."""
    if not uploading(state, request_id):
        return None
    return ImageUploadFailed(at=at, request_id=request_id, reason=reason)


def abandoned(state: ImageState, *, owner_alive: bool, at: datetime) -> ImageUploadFailed | None:
    """An upload whose receiving process is gone goes back to queued, saying so."""
    if state.status != ImageStatus.SAVING or state.upload_request is None or owner_alive:
        return None
    return ImageUploadFailed(at=at, request_id=state.upload_request,
                             reason="the upload was cut off: the process receiving it "
                                    "stopped before it completed")


def delete(state: ImageState, *, request_id: str, at: datetime, project_id: str,
           is_admin: bool) -> ImageDeleted:
    if state.owner != project_id and not is_admin:
        raise Forbidden("You are not permitted to delete this image.")
    if state.protected:
        raise Forbidden(f"Image {state.id} is protected and cannot be deleted.")
    return ImageDeleted(at=at, request_id=request_id)
