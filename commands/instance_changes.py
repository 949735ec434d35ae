"""Which domain decision each no-host change command calls (lock, rename, metadata,
tags, an admin's reset of the state)."""

from __future__ import annotations

from datetime import datetime

from commands.messages import (
    AddInstanceTag,
    DeleteInstanceMetadataItem,
    DeleteInstanceTag,
    InstanceChange,
    LockInstance,
    ResetInstanceState,
    SetInstanceMetadata,
    SetInstanceTags,
    UnlockInstance,
    UpdateInstance,
)
from domain import events as ev
from domain import instance_changes as changes
from domain.instance import Instance


def decide(state: Instance, cmd: InstanceChange, at: datetime) -> ev.InstanceChanged | None:
    """The change's event; None when it changes nothing (a tag it has already)."""
    rid, uid, admin = cmd.request_id, cmd.caller.user_id, cmd.caller.is_admin
    if isinstance(cmd, LockInstance):
        return changes.lock(state, request_id=rid, at=at, user_id=uid, is_admin=admin,
                            reason=cmd.reason)
    if isinstance(cmd, UnlockInstance):
        return changes.unlock(state, request_id=rid, at=at, user_id=uid, is_admin=admin)
    if isinstance(cmd, UpdateInstance):
        return changes.update(state, request_id=rid, at=at, user_id=uid, name=cmd.name,
                              description=cmd.description,
                              description_set=cmd.description_set)
    if isinstance(cmd, SetInstanceMetadata):
        return changes.set_metadata(state, cmd.items, replace=cmd.replace, request_id=rid,
                                    at=at, user_id=uid, is_admin=admin)
    if isinstance(cmd, DeleteInstanceMetadataItem):
        return changes.delete_metadata_item(state, cmd.key, request_id=rid, at=at,
                                            user_id=uid, is_admin=admin)
    if isinstance(cmd, SetInstanceTags):
        return changes.set_tags(state, cmd.tags, request_id=rid, at=at, user_id=uid)
    if isinstance(cmd, AddInstanceTag):
        return changes.add_tag(state, cmd.tag, request_id=rid, at=at, user_id=uid)
    if isinstance(cmd, DeleteInstanceTag):
        return changes.delete_tag(state, cmd.tag, request_id=rid, at=at, user_id=uid)
    if isinstance(cmd, ResetInstanceState):
        return changes.reset_state(state, cmd.state, request_id=rid, at=at, user_id=uid,
                                   is_admin=admin)
    raise TypeError(f"not a change: {type(cmd).__name__}")
