"""Who an image is shared with: its members, decided (Glance v2's rules).

Only a ``shared`` image has members; its owner (or an admin) adds and
removes them, each a project id that starts ``pending``. The member itself
(or an admin) accepts or rejects it; the owner cannot answer for it. A
member sees the shared image whatever its status; image lists show it to
accepted members (domain.image.visible, projections.catalog_queries).
"""

from __future__ import annotations

from datetime import datetime

from domain.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLarge
from domain.image import (
    MEMBER_STATUSES,
    ImageMemberAdded,
    ImageMemberRemoved,
    ImageMemberStatusChanged,
    ImageState,
    owned,
)

MEMBER_QUOTA = 128  # Glance's image_member_quota


def not_a_member(state: ImageState, member_id: str) -> NotFound:
    return NotFound(f"{member_id} is not a member of image {state.id}")


def add_member(state: ImageState, member_id: str, *, request_id: str, at: datetime,
               project_id: str, is_admin: bool) -> ImageMemberAdded:
    if not owned(state, project_id, is_admin):
        raise Forbidden("You are not permitted to add members to this image.")
    if state.visibility != "shared":
        raise Forbidden(f"Image {state.id} is not shared: only shared images have members.")
    if not member_id or len(member_id) > 255 or "\x00" in member_id:
        raise InvalidInput("Provided object does not match schema 'member': member is a "
                           "string of 1 to 255 characters (at 'member')")
    if member_id in state.members:
        raise Conflict(f"Member {member_id} is already a member of image {state.id}.")
    if len(state.members) >= MEMBER_QUOTA:
        raise TooLarge(f"Attempted: {len(state.members) + 1}, Maximum: {MEMBER_QUOTA}")
    return ImageMemberAdded(at=at, request_id=request_id, member_id=member_id)


def change_status(state: ImageState, member_id: str, status: str, *, request_id: str,
                  at: datetime, project_id: str, is_admin: bool) -> ImageMemberStatusChanged | None:
    if member_id not in state.members:
        raise not_a_member(state, member_id)
    if member_id != project_id and not is_admin:
        raise Forbidden("You are not permitted to modify the status of this member: only the "
                        "member itself may accept or reject an image.")
    if status not in MEMBER_STATUSES:
        raise InvalidInput(f"Provided object does not match schema 'member': {status!r} is "
                           f"not one of {sorted(MEMBER_STATUSES)} (at 'status')")
    if state.members[member_id].status == status:
        return None
    return ImageMemberStatusChanged(at=at, request_id=request_id, member_id=member_id,
                                    status=status)


def remove_member(state: ImageState, member_id: str, *, request_id: str, at: datetime,
                  project_id: str, is_admin: bool) -> ImageMemberRemoved:
    if member_id not in state.members:
        raise not_a_member(state, member_id)
    if not owned(state, project_id, is_admin):
        raise Forbidden("You are not permitted to remove members from this image.")
    return ImageMemberRemoved(at=at, request_id=request_id, member_id=member_id)


def member_visible(state: ImageState, member_id: str, project_id: str, is_admin: bool) -> None:
    """A member's entry is its own and the owner's to see; 404 otherwise."""
    if member_id not in state.members or not (
            owned(state, project_id, is_admin) or member_id == project_id):
        raise not_a_member(state, member_id)
