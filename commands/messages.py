"""The instance commands the API builds from a request, and what accepting one returns."""

from __future__ import annotations

from typing import ClassVar

import msgspec

from commands.application import Written
from domain import events as ev
from domain.instance import Instance


class Caller(msgspec.Struct, frozen=True, kw_only=True):
    """Who asks: from the token, never from the request body."""

    user_id: str
    project_id: str
    is_admin: bool = False


class NicRequest(msgspec.Struct, frozen=True, kw_only=True):
    """One interface a boot asks for: on a network (a new port, with
    ``fixed_ip`` if given) or an existing port."""

    network_id: str | None = None
    port_id: str | None = None
    fixed_ip: str | None = None


class BootInstance(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    caller: Caller
    name: str
    flavor_ref: str
    image_ref: str
    key_name: str | None = None
    metadata: dict[str, str] = {}
    user_data: str | None = None
    availability_zone: str | None = None
    min_count: int = 1
    max_count: int | None = None
    description: str | None = None
    networks: list[NicRequest] = []
    server_group: str | None = None  # the scheduler hint "group": its policy places them
    access_ip_v4: str = ""
    access_ip_v6: str = ""


class InstanceCommand(msgspec.Struct, frozen=True, kw_only=True):
    """An operation on an existing instance. One a host carries out
    ``requests`` the event that asks for it (its row in
    ``domain.instance.OPERATIONS``)."""

    requests: ClassVar[type[ev.InstanceRequested]]
    request_id: str
    caller: Caller
    instance_id: str


class PauseInstance(InstanceCommand, frozen=True, kw_only=True):
    requests = ev.InstancePauseRequested


class UnpauseInstance(InstanceCommand, frozen=True, kw_only=True):
    requests = ev.InstanceUnpauseRequested


class SuspendInstance(InstanceCommand, frozen=True, kw_only=True):
    requests = ev.InstanceSuspendRequested


class ResumeInstance(InstanceCommand, frozen=True, kw_only=True):
    requests = ev.InstanceResumeRequested


class StopInstance(InstanceCommand, frozen=True, kw_only=True):
    requests = ev.InstanceStopRequested


class StartInstance(InstanceCommand, frozen=True, kw_only=True):
    requests = ev.InstanceStartRequested


class RebootInstance(InstanceCommand, frozen=True, kw_only=True):
    requests = ev.InstanceRebootRequested
    hard: bool = False


class DeleteInstance(InstanceCommand, frozen=True, kw_only=True):
    requests = ev.InstanceDeleteRequested
    force: bool = False  # forceDelete


class RebuildInstance(InstanceCommand, frozen=True, kw_only=True):
    """Rebuild from ``image_ref`` (a name or metadata given replace the server's)."""

    requests = ev.InstanceRebuildRequested
    image_ref: str
    name: str | None = None
    metadata: dict[str, str] | None = None


class InstanceChange(InstanceCommand, frozen=True, kw_only=True):
    """A change that needs no host; answered with the instance as it is after."""


class LockInstance(InstanceChange, frozen=True, kw_only=True):
    reason: str | None = None


class UnlockInstance(InstanceChange, frozen=True, kw_only=True):
    pass


class UpdateInstance(InstanceChange, frozen=True, kw_only=True):
    name: str | None = None
    description: str | None = None
    description_set: bool = False


class SetInstanceMetadata(InstanceChange, frozen=True, kw_only=True):
    items: dict[str, str]
    replace: bool = False


class DeleteInstanceMetadataItem(InstanceChange, frozen=True, kw_only=True):
    key: str


class SetInstanceTags(InstanceChange, frozen=True, kw_only=True):
    tags: list[str]


class AddInstanceTag(InstanceChange, frozen=True, kw_only=True):
    tag: str


class DeleteInstanceTag(InstanceChange, frozen=True, kw_only=True):
    tag: str


class ResetInstanceState(InstanceChange, frozen=True, kw_only=True):
    """An admin's os-resetState: ``state`` active or error."""

    state: str


class Accepted(Written[Instance]):
    """A command's events are committed (or were, by an earlier identical
    request): the instance after it (a boot's first), the log position of
    the last event written for read-your-writes (None when the request had
    been accepted before), and the request's id."""

    @property
    def instance_id(self) -> str:
        return self.state.id

    @property
    def reservation_id(self) -> str:
        """The boot's reservation (every instance a boot started shares it)."""
        return self.state.reservation_id
