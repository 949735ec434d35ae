"""Server groups (Nova's os-server-groups): a policy over where the servers
booted into the group may run. ``affinity``: all on one host;
``anti-affinity``: no two on the same host; the ``soft-`` policies are the
same wish, given up when no host fits.

Each group is its own aggregate. A boot into a group (scheduler hint
``group``) adds the member in the boot's own transaction, having chosen its
host against the members' hosts, so two racing boots into an anti-affinity
group meet a version conflict and decide again rather than share a host.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import ClassVar

import msgspec

from domain import host as hosts_model
from domain.base import Event, UnknownEvent, unknown_event
from domain.errors import InvalidInput, NotFound
from domain.host import AllocationRatios, Host, HostCapacityClaimed, NoValidHost

NAMESPACE = uuid.UUID("3f6b2a8e-91c4-4d07-b5e2-6a7c8d9e0f13")
POLICIES = ("affinity", "anti-affinity")
SOFT_POLICIES = ("soft-affinity", "soft-anti-affinity")  # compute 2.15


def group_uuid(request_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"server-group:{request_id}"))


class ServerGroupEvent(Event, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "server_group"
    request_id: str
    group_id: str


class ServerGroupCreated(ServerGroupEvent, frozen=True, kw_only=True):
    name: str
    policy: str
    project_id: str
    user_id: str


class ServerGroupDeleted(ServerGroupEvent, frozen=True, kw_only=True):
    pass


class ServerGroupMemberAdded(ServerGroupEvent, frozen=True, kw_only=True):
    instance_id: str


AnyServerGroupEvent = ServerGroupCreated | ServerGroupDeleted | ServerGroupMemberAdded


class ServerGroup(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    policy: str
    project_id: str
    user_id: str
    members: tuple[str, ...] = ()  # instance ids, in order of boot (deleted ones too)
    deleted: bool = False


def evolve(state: ServerGroup | None, event: Event, _id: str) -> ServerGroup:
    if not isinstance(event, AnyServerGroupEvent):
        raise UnknownEvent(event, "server_group")
    if isinstance(event, ServerGroupCreated):
        return ServerGroup(id=event.group_id, name=event.name, policy=event.policy,
                           project_id=event.project_id, user_id=event.user_id)
    assert state is not None, f"{type(event).__name__} before ServerGroupCreated"
    match event:
        case ServerGroupDeleted():
            return msgspec.structs.replace(state, deleted=True)
        case ServerGroupMemberAdded():
            return msgspec.structs.replace(state, members=(*state.members, event.instance_id))
        case _:
            unknown_event(event, "server_group")


def existing(state: ServerGroup | None, group_id: str, project_id: str | None) -> ServerGroup:
    """The group, if it exists and ``project_id`` (None: an admin) may see it."""
    if state is None or state.deleted or (project_id is not None
                                          and state.project_id != project_id):
        raise NotFound(f"Instance group {group_id} could not be found.")
    return state


def create(state: ServerGroup | None, *, request_id: str, name: str, policy: str,
           soft_allowed: bool, project_id: str, user_id: str,
           at: datetime) -> ServerGroupCreated:
    if not 1 <= len(name) <= 255 or not name.strip():
        raise InvalidInput(f"Invalid input for field/attribute name. Value: {name}. "
                           "It must be 1-255 characters")
    allowed = POLICIES + (SOFT_POLICIES if soft_allowed else ())
    if policy not in allowed:
        raise InvalidInput(f"Invalid input for field/attribute policies. Value: {policy}. "
                           f"'{policy}' is not one of {list(allowed)}")
    return ServerGroupCreated(at=at, request_id=request_id, group_id=group_uuid(request_id),
                              name=name, policy=policy, project_id=project_id,
                              user_id=user_id)


def delete(state: ServerGroup | None, group_id: str, project_id: str | None, *,
           request_id: str, at: datetime) -> ServerGroupDeleted:
    existing(state, group_id, project_id)
    return ServerGroupDeleted(at=at, request_id=request_id, group_id=group_id)


def allowed_hosts(group: ServerGroup, member_hosts: Mapping[str, str],
                  hosts: Collection[str]) -> frozenset[str]:
    """Where the group's next member may run, of ``hosts``, given where its live
    members run (instance id -> host). A soft policy that no host meets leaves
    every host."""
    taken = set(member_hosts.values()) - {""}
    if group.policy.endswith("anti-affinity"):
        fits = frozenset(h for h in hosts if h not in taken)
    elif taken:
        fits = frozenset(h for h in hosts if h in taken)
    else:
        fits = frozenset(hosts)
    if not fits and group.policy.startswith("soft-"):
        return frozenset(hosts)
    return fits


def add_member(group: ServerGroup, instance_id: str, *, request_id: str,
               at: datetime) -> ServerGroupMemberAdded:
    return ServerGroupMemberAdded(at=at, request_id=request_id, group_id=group.id,
                                  instance_id=instance_id)


def place(policy: str, hosts: list[Host], ratios: AllocationRatios, *,
          instance_ids: list[str], project_id: str, vcpus: int, memory_mb: int,
          disk_gb: int, at: datetime) -> list[HostCapacityClaimed]:
    """Claims for a boot's new members, among ``hosts`` (those the members so
    far leave): anti-affinity puts each on a host of its own, affinity all on
    one host (the one with the most free RAM that holds them all); a soft
    policy that cannot be met places them as any boot. ``NoValidHost`` else."""
    def fill(on: list[Host], ids: list[str]) -> list[HostCapacityClaimed]:
        return hosts_model.place(on, ratios, instance_ids=ids, project_id=project_id,
                                 vcpus=vcpus, memory_mb=memory_mb, disk_gb=disk_gb, at=at)

    try:
        if policy.endswith("anti-affinity"):
            claims: list[HostCapacityClaimed] = []
            free = list(hosts)
            for instance_id in instance_ids:
                (made,) = fill(free, [instance_id])
                claims.append(made)
                free = [h for h in free if h.host != made.host]
            return claims
        for host in sorted(hosts, key=lambda h: (-h.free(ratios).memory_mb, h.host)):
            try:
                return fill([host], instance_ids)
            except NoValidHost:
                continue
        raise NoValidHost()
    except NoValidHost:
        if policy.startswith("soft-"):
            return fill(hosts, instance_ids)
        raise
