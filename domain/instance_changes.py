"""Changes to an instance that need no host: lock, unlock, rename, metadata, tags,
an admin's reset of its state.

Each decision checks the instance and returns the event that records the
change, or refuses in Nova's words. They are folded by ``domain.instance``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Final

from domain import events as ev
from domain.errors import Forbidden, InvalidInput, InvalidState, NotFound
from domain.instance import Instance, VmState, refuse_if_locked

METADATA_ITEMS: Final = 128  # Nova's quota_metadata_items default
_KEY = re.compile(r"^[a-zA-Z0-9-_:. ]{1,255}$")
_METADATA_STATES: Final = frozenset({VmState.ACTIVE, VmState.PAUSED, VmState.SUSPENDED,
                                     VmState.STOPPED})


def check_metadata(items: dict[str, str], limit: int = METADATA_ITEMS) -> None:
    """Keys and values as Nova's schema allows them, and no more items than the quota."""
    for key, value in items.items():
        if not _KEY.match(key):
            raise InvalidInput(
                f"Invalid input for field/attribute metadata: key {key!r} must be 1 to 255 "
                "letters, digits, spaces or '-_:.'")
        if len(value) > 255:
            raise InvalidInput(
                f"Invalid input for field/attribute metadata: the value of {key!r} is longer "
                "than 255 characters")
    if len(items) > limit:
        raise Forbidden(f"Maximum number of metadata items exceeds {limit}")


def lock(state: Instance, *, request_id: str, at: datetime, user_id: str, is_admin: bool,
         reason: str | None = None) -> ev.InstanceLocked:
    return ev.InstanceLocked(request_id=request_id, at=at, user_id=user_id,
                             by_admin=is_admin, reason=reason)


def unlock(state: Instance, *, request_id: str, at: datetime, user_id: str,
           is_admin: bool) -> ev.InstanceUnlocked:
    """An owner may lift their own lock; only an admin may lift an admin's."""
    if state.locked and state.locked_by_admin and not is_admin:
        raise Forbidden("Policy doesn't allow os_compute_api:os-lock-server:unlock:"
                        "unlock_override to be performed.")
    return ev.InstanceUnlocked(request_id=request_id, at=at, user_id=user_id)


def update(state: Instance, *, request_id: str, at: datetime, user_id: str,
           name: str | None, description: str | None,
           description_set: bool) -> ev.InstanceUpdated:
    """Rename and/or describe; Nova allows it in any state."""
    return ev.InstanceUpdated(request_id=request_id, at=at, user_id=user_id, name=name,
                              description=description, description_set=description_set)


def set_metadata(state: Instance, items: dict[str, str], *, replace: bool, request_id: str,
                 at: datetime, user_id: str, is_admin: bool,
                 limit: int = METADATA_ITEMS) -> ev.InstanceMetadataUpdated:
    """Set (merge) or replace metadata items, within the metadata_items quota."""
    _may_change_metadata(state, "update_metadata", is_admin)
    merged = dict(items) if replace else {**state.metadata, **items}
    check_metadata(items, limit)
    check_metadata(merged, limit)
    return ev.InstanceMetadataUpdated(request_id=request_id, at=at, user_id=user_id,
                                      items=dict(items), replace=replace)


def delete_metadata_item(state: Instance, key: str, *, request_id: str, at: datetime,
                         user_id: str, is_admin: bool) -> ev.InstanceMetadataItemDeleted:
    _may_change_metadata(state, "delete_metadata", is_admin)
    if key not in state.metadata:
        raise NotFound("Metadata item was not found")
    return ev.InstanceMetadataItemDeleted(request_id=request_id, at=at, user_id=user_id,
                                          key=key)


def _may_change_metadata(state: Instance, action: str, is_admin: bool) -> None:
    refuse_if_locked(state, is_admin)
    if state.vm_state not in _METADATA_STATES:
        raise InvalidState(f"Cannot '{action}' instance {state.id} while it is in "
                           f"vm_state {state.vm_state}")


MAX_TAGS: Final = 50  # Nova's per-server limit
_TAG_LENGTH: Final = 60


def check_tag(tag: str) -> None:
    """A tag as Nova's schema allows it: 1 to 60 characters, no '/' or ','."""
    if not 1 <= len(tag) <= _TAG_LENGTH or "/" in tag or "," in tag:
        raise InvalidInput(f"Tag '{tag}' is invalid. It must be a non empty string without "
                           f"characters '/' and ',', of at most {_TAG_LENGTH} characters.")


def set_tags(state: Instance, tags: list[str], *, request_id: str, at: datetime,
             user_id: str) -> ev.InstanceTagsSet:
    """Replace every tag (an empty list removes them all)."""
    _may_change_tags(state, "update tags")
    for tag in tags:
        check_tag(tag)
    unique = list(dict.fromkeys(tags))
    if len(unique) > MAX_TAGS:
        raise InvalidInput(f"The number of tags exceeded the per-server limit {MAX_TAGS}")
    return ev.InstanceTagsSet(request_id=request_id, at=at, user_id=user_id, tags=unique)


def add_tag(state: Instance, tag: str, *, request_id: str, at: datetime,
            user_id: str) -> ev.InstanceTagsSet | None:
    """Add one tag; None when the server has it already."""
    _may_change_tags(state, "update tag")
    check_tag(tag)
    if tag in state.tags:
        return None
    if len(state.tags) >= MAX_TAGS:
        raise InvalidInput(f"The number of tags exceeded the per-server limit {MAX_TAGS}")
    return ev.InstanceTagsSet(request_id=request_id, at=at, user_id=user_id,
                              tags=[*state.tags, tag])


def delete_tag(state: Instance, tag: str, *, request_id: str, at: datetime,
               user_id: str) -> ev.InstanceTagsSet:
    _may_change_tags(state, "delete tag")
    if tag not in state.tags:
        raise NotFound(f"Server {state.id} has no tag '{tag}'")
    return ev.InstanceTagsSet(request_id=request_id, at=at, user_id=user_id,
                              tags=[t for t in state.tags if t != tag])


def _may_change_tags(state: Instance, action: str) -> None:
    """Nova changes tags in the same vm_states as metadata, and ignores locks."""
    if state.vm_state not in _METADATA_STATES:
        raise InvalidState(f"Cannot '{action}' instance {state.id} while it is in "
                           f"vm_state {state.vm_state}")


RESETTABLE: Final = {"active": VmState.ACTIVE, "error": VmState.ERROR}


def reset_state(state: Instance, asked: str, *, request_id: str, at: datetime, user_id: str,
                is_admin: bool) -> ev.InstanceStateReset:
    """An admin's os-resetState: active or error, and no task (Nova's; 403 for others)."""
    if not is_admin:
        raise Forbidden("Policy doesn't allow os_compute_api:os-admin-actions:reset_state"
                        " to be performed.")
    if asked not in RESETTABLE:
        raise InvalidInput(f"Invalid input for field/attribute state. Value: {asked}."
                           f" {asked!r} is not one of ['active', 'error']")
    return ev.InstanceStateReset(request_id=request_id, at=at, user_id=user_id,
                                 vm_state=RESETTABLE[asked])
