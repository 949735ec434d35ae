"""An image's tags and its deactivation, decided (Glance v2's rules).

A tag added twice, or an image deactivated when it already is, writes
nothing and answers as Glance does (204). Deactivation is its owner's or an
admin's (Glance's default policy, project member or admin): an
active image becomes ``deactivated`` (its bytes are then an admin's only,
domain.image.downloadable) and is reactivated to ``active``; an image in
any other status is refused with 403, Glance's answer.
"""

from __future__ import annotations

from datetime import datetime

from domain.errors import Forbidden, InvalidInput, NotFound, TooLarge
from domain.image import (
    ImageDeactivated,
    ImageReactivated,
    ImageState,
    ImageStatus,
    ImageTagAdded,
    ImageTagRemoved,
    owned,
)
from domain.image_patch import TAG_QUOTA


def add_tag(state: ImageState, tag: str, *, request_id: str, at: datetime, project_id: str,
            is_admin: bool) -> ImageTagAdded | None:
    if not owned(state, project_id, is_admin):
        raise Forbidden("You are not permitted to modify tags on this image.")
    if not tag or len(tag) > 255 or "\x00" in tag:
        raise InvalidInput("Provided object does not match schema 'image': a tag is a string "
                           "of 1 to 255 characters (at 'tags')")
    if tag in state.tags:
        return None
    if len(state.tags) >= TAG_QUOTA:
        raise TooLarge(f"Attempted: {len(state.tags) + 1}, Maximum: {TAG_QUOTA}")
    return ImageTagAdded(at=at, request_id=request_id, tag=tag)


def remove_tag(state: ImageState, tag: str, *, request_id: str, at: datetime, project_id: str,
               is_admin: bool) -> ImageTagRemoved:
    if not owned(state, project_id, is_admin):
        raise Forbidden("You are not permitted to modify tags on this image.")
    if tag not in state.tags:
        raise NotFound(f"Tag {tag} not found")
    return ImageTagRemoved(at=at, request_id=request_id, tag=tag)


def deactivate(state: ImageState, *, request_id: str, at: datetime, project_id: str,
               is_admin: bool) -> ImageDeactivated | None:
    if not owned(state, project_id, is_admin):
        raise Forbidden("You are not authorized to complete deactivate action.")
    if state.status == ImageStatus.DEACTIVATED:
        return None
    if state.status != ImageStatus.ACTIVE:
        raise Forbidden(f"Not allowed to deactivate image in status '{state.status}'")
    return ImageDeactivated(at=at, request_id=request_id)


def reactivate(state: ImageState, *, request_id: str, at: datetime, project_id: str,
               is_admin: bool) -> ImageReactivated | None:
    if not owned(state, project_id, is_admin):
        raise Forbidden("You are not authorized to complete reactivate action.")
    if state.status == ImageStatus.ACTIVE:
        return None
    if state.status != ImageStatus.DEACTIVATED:
        raise Forbidden(f"Not allowed to reactivate image in status '{state.status}'")
    return ImageReactivated(at=at, request_id=request_id)


def downloadable(status: str, is_admin: bool) -> None:
    """A deactivated image's bytes are refused to all but admins."""
    if status == ImageStatus.DEACTIVATED and not is_admin:
        raise Forbidden("The requested image has been deactivated. Image data download is "
                        "forbidden.")
