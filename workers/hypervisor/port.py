"""What the hypervisor worker needs from a host, independent of libvirt.

The worker is written against this port so that it can run on libvirt (the
adapter) or on a strict in-memory fake in unit tests. Methods are blocking;
callers keep them off the event loop.
"""

from __future__ import annotations

import enum
from typing import Protocol

import msgspec


class GuestState(enum.StrEnum):
    ABSENT = "absent"  # not defined on this host
    SHUTOFF = "shutoff"  # defined, not running
    RUNNING = "running"
    PAUSED = "paused"
    SUSPENDED = "suspended"  # not running, its memory saved (libvirt managed save)


class GuestSpec(msgspec.Struct, frozen=True, kw_only=True):
    """What defining a guest needs."""

    instance_id: str  # a UUID: the guest's UUID on the host
    name: str  # the instance's display name
    vcpus: int
    memory_mb: int
    # (MAC, bridge, host-side device) of each interface, plugged into its network's bridge
    nics: list[tuple[str, str, str]] = []
    disk_gb: int = 1  # the root disk's virtual size (0: the smallest, 1 GiB)


class Guest(msgspec.Struct, frozen=True, kw_only=True):
    """One guest as the host reports it (also the inspect reply's element)."""

    instance_id: str
    domain_name: str
    state: GuestState


class NodeInfo(msgspec.Struct, frozen=True, kw_only=True):
    """What the hypervisor says the host has (libvirt's node info)."""

    vcpus: int
    memory_mb: int
    hypervisor_type: str
    hypervisor_version: int


class Disk(msgspec.Struct, frozen=True, kw_only=True):
    """A volume as a guest's disk: the iSCSI LUN the storage host exports."""

    device: str  # /dev/vdb
    portal: str  # host:port
    iqn: str
    lun: int
    initiator: str | None = None  # the name this host connects with


class HostUnavailable(Exception):
    """The host cannot be reached now (connection lost); retrying may help."""


class GuestError(Exception):
    """The host refused the operation; retrying the same thing will not help."""


def domain_name(instance_id: str) -> str:
    """The name a guest has on its host, as in Nova."""
    return f"instance-{instance_id}"


class HypervisorHost(Protocol):
    def define(self, spec: GuestSpec) -> None: ...

    def start(self, instance_id: str) -> None: ...

    def pause(self, instance_id: str) -> None: ...

    def resume(self, instance_id: str) -> None:
        """Unpause a paused guest."""
        ...

    def reboot(self, instance_id: str) -> None:
        """Soft reboot: ask the running guest to restart."""
        ...

    def save(self, instance_id: str) -> None:
        """Suspend: save a running guest's memory and stop it (managed save);
        ``start`` later restores it."""
        ...

    def discard_saved(self, instance_id: str) -> None:
        """Drop a suspended guest's saved memory: it is simply shut off."""
        ...

    def console(self, instance_id: str) -> str | None:
        """What the guest wrote to its console; None when there is no such guest."""
        ...

    def diagnostics(self, instance_id: str) -> dict[str, int] | None:
        """The guest's statistics as Nova's libvirt driver names them
        (``cpu0_time``, ``memory``, ...); None when there is no such guest."""
        ...

    def destroy(self, instance_id: str) -> None: ...

    def undefine(self, instance_id: str) -> None: ...

    def state(self, instance_id: str) -> GuestState: ...

    def attach_disk(self, instance_id: str, disk: Disk) -> None:
        """Give the guest the disk (already there: nothing to do)."""
        ...

    def detach_disk(self, instance_id: str, device: str) -> None:
        """Take the disk at ``device`` away (already gone, or no such guest any
        more: nothing to do)."""
        ...

    def disks(self, instance_id: str) -> list[Disk]: ...

    def guests(self) -> list[Guest]: ...

    def snapshot(self, instance_id: str, image_id: str) -> str:
        """Copy the guest's root disk as a qcow2 (``qemu-img convert -O qcow2``)
        for image ``image_id``: the path of the complete copy, on this machine.
        A copy already complete is returned as it is (a request delivered again)."""
        ...

    def power_loss(self) -> list[str]:
        """Every guest off and its saved memory gone, as after the host lost
        power (definitions and disks stay); the ids of the guests that were on."""
        ...

    def close(self) -> None: ...
