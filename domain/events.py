"""The instance events: the immutable facts nimbus stores and streams.

Events are frozen msgspec Structs tagged with their class name; the stored
topic and the NATS subject name the class, so a class is never renamed or
moved, and evolves only by adding fields with defaults. ``Requested`` events
carry the ``host`` they are addressed to: the relay puts it in the subject so
that a host's worker consumes only its own work.
"""

from __future__ import annotations

from typing import ClassVar

import msgspec

from domain.base import Event


class InstanceEvent(Event, frozen=True, kw_only=True):
    """Common to every instance event: the operation it belongs to."""

    aggregate: ClassVar[str] = "instance"
    request_id: str


class InstanceRequested(InstanceEvent, frozen=True, kw_only=True):
    """An operation was accepted and is addressed to a hypervisor host."""

    host: str
    user_id: str


class Nic(msgspec.Struct, frozen=True, kw_only=True):
    """A server's network interface: its port, the port's MAC, and the bridge
    of the port's network that the hypervisor plugs it into."""

    port_id: str
    network_id: str
    mac: str
    bridge: str
    owned: bool = True  # made by the boot (deleted with the server), else only unbound


class InstanceCreateRequested(InstanceRequested, frozen=True, kw_only=True):
    project_id: str
    name: str
    flavor_id: str
    image_ref: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    key_name: str | None = None
    public_key: str | None = None  # handed to the guest by the metadata service
    metadata: dict[str, str] = {}
    user_data: str | None = None  # base64, as the client sent it
    availability_zone: str = "nova"
    reservation_id: str = ""
    launch_index: int = 0
    description: str | None = None
    nics: list[Nic] = []
    access_ip_v4: str = ""  # accessIPv4/accessIPv6: kept and shown, used by nothing
    access_ip_v6: str = ""


class InstancePauseRequested(InstanceRequested, frozen=True, kw_only=True):
    pass


class InstanceUnpauseRequested(InstanceRequested, frozen=True, kw_only=True):
    pass


class InstanceDeleteRequested(InstanceRequested, frozen=True, kw_only=True):
    force: bool = False  # forceDelete: may interrupt any task, even a delete


class InstanceRebootRequested(InstanceRequested, frozen=True, kw_only=True):
    hard: bool = False


class InstanceSuspendRequested(InstanceRequested, frozen=True, kw_only=True):
    """Suspend: the guest's memory is saved to disk (libvirt managed save)."""


class InstanceResumeRequested(InstanceRequested, frozen=True, kw_only=True):
    """Resume a suspended instance from its saved memory."""


class InstanceStopRequested(InstanceRequested, frozen=True, kw_only=True):
    pass


class InstanceStartRequested(InstanceRequested, frozen=True, kw_only=True):
    pass


class InstanceSnapshotRequested(InstanceRequested, frozen=True, kw_only=True):
    """createImage: the host copies the guest's root disk (``qemu-img convert``)
    for image ``image_id``, reserved ``queued`` in the same commit
    (domain/server_image.py)."""

    image_id: str
    image_name: str = ""


class InstanceRebuildRequested(InstanceRequested, frozen=True, kw_only=True):
    """Rebuild: the host removes the guest and defines it again from
    ``image_ref`` (the instance's image from here on), then starts it; what
    it defines it with is here, as a boot's request carries it."""

    image_ref: str
    name: str
    vcpus: int
    memory_mb: int
    disk_gb: int
    nics: list[Nic] = []
    metadata: dict[str, str] | None = None  # None: kept as it is
    start: bool = True  # False: it was stopped, and stays so


class InstanceSnapshotTaken(InstanceEvent, frozen=True, kw_only=True):
    """The host made its copy of the disk at ``image_file``: the bytes wait to
    be stored as the image's (Nova's ``image_pending_upload``)."""

    answers: ClassVar[bool] = False

    image_id: str
    image_file: str


class InstanceSnapshotUploading(InstanceEvent, frozen=True, kw_only=True):
    """The copy is being stored as the image's bytes, the image ``saving``
    (Nova's ``image_uploading``)."""

    answers: ClassVar[bool] = False

    image_id: str
    image_file: str


class InstanceChanged(InstanceEvent, frozen=True, kw_only=True):
    """A change made by a user that needs no host work."""

    user_id: str


class InstanceLocked(InstanceChanged, frozen=True, kw_only=True):
    by_admin: bool = False  # an admin's lock can only be lifted by an admin
    reason: str | None = None


class InstanceUnlocked(InstanceChanged, frozen=True, kw_only=True):
    pass


class InstanceUpdated(InstanceChanged, frozen=True, kw_only=True):
    """Rename and/or new description (None: unchanged)."""

    name: str | None = None
    description: str | None = None
    description_set: bool = False  # a null description clears it


class InstanceMetadataUpdated(InstanceChanged, frozen=True, kw_only=True):
    """Metadata items set; ``replace`` drops every item not in ``items``."""

    items: dict[str, str]
    replace: bool = False


class InstanceMetadataItemDeleted(InstanceChanged, frozen=True, kw_only=True):
    key: str


class InstanceTagsSet(InstanceChanged, frozen=True, kw_only=True):
    """The server's tags are now ``tags`` (every tag change writes the whole set)."""

    tags: list[str]


class InstanceStateReset(InstanceChanged, frozen=True, kw_only=True):
    """An admin's os-resetState: the vm_state is ``vm_state`` (active or
    error) and no task is in progress, whatever the host said or will say."""

    vm_state: str


class InstanceOutcome(InstanceEvent, frozen=True, kw_only=True):
    """A host reported how an operation ended."""


class InstanceSpawned(InstanceOutcome, frozen=True, kw_only=True):
    pass


class InstanceGuestStarted(InstanceEvent, frozen=True, kw_only=True):
    """The host started a booting guest whose ports are not all plugged yet: the
    boot ends (``InstanceSpawned``) once they are (Nova's network-vif-plugged)."""

    answers: ClassVar[bool] = False


class InstanceVifPlugged(InstanceEvent, frozen=True, kw_only=True):
    """A port of the instance went ACTIVE: its network host serves it."""

    port_id: str
    answers: ClassVar[bool] = False


class InstancePaused(InstanceOutcome, frozen=True, kw_only=True):
    pass


class InstanceUnpaused(InstanceOutcome, frozen=True, kw_only=True):
    pass


class InstanceDeleted(InstanceOutcome, frozen=True, kw_only=True):
    pass


class InstanceRebooted(InstanceOutcome, frozen=True, kw_only=True):
    pass


class InstanceSuspended(InstanceOutcome, frozen=True, kw_only=True):
    pass


class InstanceResumed(InstanceOutcome, frozen=True, kw_only=True):
    pass


class InstanceStopped(InstanceOutcome, frozen=True, kw_only=True):
    pass


class InstanceStarted(InstanceOutcome, frozen=True, kw_only=True):
    pass


class InstanceSnapshotted(InstanceOutcome, frozen=True, kw_only=True):
    """The snapshot ended: its image is active with the copy's bytes."""

    image_id: str = ""


class InstanceRebuilt(InstanceOutcome, frozen=True, kw_only=True):
    """The host defined the guest again from the new image and started it."""


class InstanceOperationFailed(InstanceOutcome, frozen=True, kw_only=True):
    """The host could not complete the pending operation."""

    reason: str


class InstanceObserved(InstanceEvent, frozen=True, kw_only=True):
    """A host reported its guest in another state than the one recorded, with
    no operation pending: the reconciler records what the host says, never
    overwriting the recorded state silently. ``was_vm_state`` and
    ``was_power_state`` are the recorded ones before; ``reason`` says it in
    an operator's words."""

    host: str
    observed: str  # the guest's state on the host: running, paused, shutoff, absent, ...
    was_vm_state: str
    was_power_state: int = 0
    reason: str = ""


class InstanceObservedStopped(InstanceObserved, frozen=True, kw_only=True):
    """The guest is shut off (a host that lost power): the instance is stopped.
    ``resume``: the reconciler brings it back to ``was_vm_state`` (the policy
    ``resume_guests_state_on_host_boot`` was on)."""

    resume: bool = False


class InstanceObservedMissing(InstanceObserved, frozen=True, kw_only=True):
    """The host has no guest for the instance at all: it is in error."""


class InstanceObservedRunning(InstanceObserved, frozen=True, kw_only=True):
    """The guest runs although the instance was recorded otherwise: it is active."""


class InstanceObservedPaused(InstanceObserved, frozen=True, kw_only=True):
    """The guest is paused although the instance was recorded otherwise."""


AnyInstanceObserved = (InstanceObservedStopped | InstanceObservedMissing
                       | InstanceObservedRunning | InstanceObservedPaused)


# the changes that need no host
AnyInstanceChange = (InstanceLocked | InstanceUnlocked | InstanceUpdated | InstanceMetadataUpdated
                     | InstanceMetadataItemDeleted | InstanceTagsSet | InstanceStateReset)

# what the instance's hypervisor host acts on
AnyInstanceRequest = (
    InstanceCreateRequested
    | InstancePauseRequested
    | InstanceUnpauseRequested
    | InstanceDeleteRequested
    | InstanceRebootRequested
    | InstanceSuspendRequested
    | InstanceResumeRequested
    | InstanceStopRequested
    | InstanceStartRequested
    | InstanceSnapshotRequested
    | InstanceRebuildRequested
)

AnyInstanceEvent = (
    InstanceCreateRequested
    | InstancePauseRequested
    | InstanceUnpauseRequested
    | InstanceDeleteRequested
    | InstanceSpawned
    | InstancePaused
    | InstanceUnpaused
    | InstanceDeleted
    | InstanceOperationFailed
    | InstanceRebootRequested
    | InstanceSuspendRequested
    | InstanceResumeRequested
    | InstanceStopRequested
    | InstanceStartRequested
    | InstanceRebooted
    | InstanceSuspended
    | InstanceResumed
    | InstanceStopped
    | InstanceStarted
    | InstanceLocked
    | InstanceUnlocked
    | InstanceUpdated
    | InstanceMetadataUpdated
    | InstanceMetadataItemDeleted
    | InstanceTagsSet
    | InstanceGuestStarted
    | InstanceVifPlugged
    | InstanceObservedStopped
    | InstanceObservedMissing
    | InstanceObservedRunning
    | InstanceObservedPaused
    | InstanceSnapshotRequested
    | InstanceSnapshotTaken
    | InstanceSnapshotUploading
    | InstanceSnapshotted
    | InstanceRebuildRequested
    | InstanceRebuilt
    | InstanceStateReset
)
