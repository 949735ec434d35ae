"""createImage: a server's root disk becomes a Glance image, as Nova does it.

The request reserves the image ``queued`` (private to the server's project,
with the properties Nova sets) and starts the instance's snapshot
(``image_snapshot``) in one commit. The host copies the disk and says where
the copy is (``image_pending_upload``); the image then takes the bytes
(``saving``, the instance ``image_uploading``), and the image's activation
ends the snapshot in the same commit as the instance's ``InstanceSnapshotted``.
A snapshot that fails, however (the host refused, its copy is lost, the
deadline passed, the server was deleted meanwhile), deletes the reserved
image in the commit that ends it, as Nova deletes it, so no image is left
``queued`` or ``saving`` for a snapshot nobody will finish.

These are the decisions, each over the instance and the image as they are
now; the image's own steps are ``domain.image``'s (start_upload,
finish_upload, delete), so its checksums, size and status stay consistent
with every other upload.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Final

from domain import events as ev
from domain import image as image_model
from domain import instance as model
from domain.catalog import Image
from domain.errors import InvalidInput
from domain.image import ImageEvent, ImageState
from domain.instance_changes import check_metadata

NAMESPACE: Final = uuid.UUID("0b7e3f5a-2c4d-4e6f-8a1b-3c5d7e9f1a2b")
DISK_FORMAT: Final = "qcow2"  # what ``qemu-img convert -O qcow2`` writes
CONTAINER_FORMAT: Final = "bare"
_NAME = re.compile(r"^(?! )[^\x00-\x1f]*(?<! )$")  # Nova's name: no edge spaces, printable


def image_id_for(request_id: str) -> str:
    """The id of the image a createImage request reserves (a retry finds it)."""
    return str(uuid.uuid5(NAMESPACE, request_id))


def check_name(name: object) -> str:
    """Nova's schema for the image name: a string of 1 to 255 characters."""
    if not isinstance(name, str):
        raise InvalidInput("Invalid input for field/attribute name. Value: "
                           f"{name!r}. {name!r} is not of type 'string'")
    if not 1 <= len(name) <= 255:
        raise InvalidInput(f"Invalid input for field/attribute name. Value: {name}. "
                           "It must be 1 to 255 characters long")
    if not _NAME.match(name):
        raise InvalidInput(f"Invalid input for field/attribute name. Value: {name}. "
                           "It has leading or trailing spaces or control characters")
    return name


def properties(state: model.Instance, metadata: dict[str, str]) -> dict[str, str]:
    """The image properties Nova sets on a snapshot, and the user's metadata."""
    made = {"instance_uuid": state.id, "image_type": "snapshot",
            "base_image_ref": state.image_ref, "user_id": state.user_id}
    return {**metadata, **made}


def request(state: model.Instance, image: ImageState | None, *, request_id: str, at: datetime,
            user_id: str, is_admin: bool, name: str, metadata: dict[str, str],
            base: Image | None) -> tuple[ev.InstanceSnapshotRequested, image_model.ImageCreated]:
    """Start a snapshot and reserve its image, or refuse (Nova's 400/409)."""
    check_name(name)
    check_metadata(metadata)
    model.refuse(state, model.OPERATIONS[ev.InstanceSnapshotRequested], is_admin)
    image_id = image_id_for(request_id)
    created = image_model.create(
        image, request_id=request_id, image_id=image_id, name=name, owner=state.project_id,
        visibility="private", disk_format=DISK_FORMAT, container_format=CONTAINER_FORMAT,
        min_disk=state.disk_gb, min_ram=base.min_ram if base is not None else 0,
        properties=properties(state, metadata), is_admin=is_admin, at=at)
    asked = ev.InstanceSnapshotRequested(request_id=request_id, at=at, host=state.host,
                                         user_id=user_id, image_id=image_id, image_name=name)
    return asked, created


def in_flight(state: model.Instance | None, request_id: str | None = None) -> bool:
    """Whether a snapshot (``request_id``'s, when given) is pending on the instance."""
    pending = state.pending if state is not None else None
    return (pending is not None and pending.step is ev.InstanceSnapshotRequested
            and (request_id is None or pending.request_id == request_id))


def taken(state: model.Instance, request_id: str, *, image_file: str,
          at: datetime) -> ev.InstanceSnapshotTaken | None:
    """The host's copy is made; None when this snapshot is not the one
    pending or its copy was already recorded (a report delivered again)."""
    if not in_flight(state, request_id) or state.task_state != model.TaskState.IMAGE_SNAPSHOT:
        return None
    assert state.snapshot_image is not None
    return ev.InstanceSnapshotTaken(request_id=request_id, at=at,
                                    image_id=state.snapshot_image, image_file=image_file)


def upload(state: model.Instance, image: ImageState, *, at: datetime, owner: str,
           owner_alive: bool) -> list[ev.InstanceEvent | ImageEvent]:
    """The image takes the copy's bytes (``saving``) under ``owner``'s upload
    lease; an earlier try whose process is gone is given up first. Nothing
    when the image is already taking them from a live process."""
    assert state.pending is not None and state.snapshot_file is not None
    request_id = state.pending.request_id
    if image.status == image_model.ImageStatus.SAVING and owner_alive:
        return []
    started = image_model.take_upload(image, request_id=request_id, at=at,
                                      project_id=image.owner, is_admin=True, owner=owner,
                                      owner_alive=owner_alive)
    uploading = ev.InstanceSnapshotUploading(request_id=request_id, at=at,
                                             image_id=image.id, image_file=state.snapshot_file)
    return [*started, uploading]


def finish(state: model.Instance, image: ImageState, *, at: datetime, size: int,
           checksum: str, os_hash_algo: str,
           os_hash_value: str) -> tuple[image_model.ImageActivated, ev.InstanceSnapshotted]:
    """The stored bytes make the image active and end the snapshot."""
    assert state.pending is not None
    request_id = state.pending.request_id
    activated = image_model.finish_upload(image, request_id=request_id, at=at, size=size,
                                          checksum=checksum, os_hash_algo=os_hash_algo,
                                          os_hash_value=os_hash_value)
    return activated, ev.InstanceSnapshotted(request_id=request_id, at=at, image_id=image.id)


def fail(state: model.Instance, request_id: str, *, at: datetime,
         reason: str) -> ev.InstanceOperationFailed | None:
    """The snapshot ends failed (its action records ``reason``); None when it
    is not the one pending."""
    if not in_flight(state, request_id):
        return None
    return ev.InstanceOperationFailed(request_id=request_id, at=at, reason=reason)


def discard(image: ImageState | None, *, request_id: str,
            at: datetime) -> image_model.ImageDeleted | None:
    """The reserved image of a snapshot that will not finish goes, as Nova
    deletes it; None when it is gone already (or was never made)."""
    if image is None or image.status == image_model.ImageStatus.DELETED:
        return None
    return image_model.ImageDeleted(request_id=request_id, at=at)
