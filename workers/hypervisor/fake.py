"""A strict in-memory host for unit tests.

It keeps each guest's state and refuses every transition a real hypervisor
would refuse (pausing a shut-off guest, defining a guest twice, snapshotting
a guest that is not there, ...), so a worker that is not level-based fails
against it. A snapshot is a copy recorded under ``snapshots`` (its "path"
is a name, there is no file); ``snapshot_fails`` makes the copy fail as a
``qemu-img`` that exits non-zero does. ``unavailable`` makes every
call raise ``HostUnavailable``, as a lost libvirt connection would.
"""

from __future__ import annotations

from workers.hypervisor.port import (
    Disk,
    Guest,
    GuestError,
    GuestSpec,
    GuestState,
    HostUnavailable,
    domain_name,
)

_TRANSITIONS: dict[str, tuple[frozenset[GuestState], GuestState]] = {
    "start": (frozenset({GuestState.SHUTOFF, GuestState.SUSPENDED}), GuestState.RUNNING),
    "reboot": (frozenset({GuestState.RUNNING}), GuestState.RUNNING),
    "save": (frozenset({GuestState.RUNNING}), GuestState.SUSPENDED),
    "discard_saved": (frozenset({GuestState.SUSPENDED}), GuestState.SHUTOFF),
    "pause": (frozenset({GuestState.RUNNING}), GuestState.PAUSED),
    "resume": (frozenset({GuestState.PAUSED}), GuestState.RUNNING),
    "destroy": (frozenset({GuestState.RUNNING, GuestState.PAUSED}), GuestState.SHUTOFF),
    "undefine": (frozenset({GuestState.SHUTOFF}), GuestState.ABSENT),
}


class FakeHost:
    def __init__(self) -> None:
        self.states: dict[str, GuestState] = {}
        self.specs: dict[str, GuestSpec] = {}
        self.calls: list[tuple[str, str]] = []  # (operation, instance id)
        self.unavailable = False
        self.consoles: dict[str, list[str]] = {}
        self.attached: dict[str, dict[str, Disk]] = {}  # instance id -> device -> disk
        self.snapshots: dict[str, str] = {}  # image id -> the instance whose disk it copies
        self.snapshot_fails = False

    def define(self, spec: GuestSpec) -> None:
        self._reachable("define", spec.instance_id)
        if spec.instance_id in self.states:
            raise GuestError(f"guest {spec.instance_id} is already defined")
        self.states[spec.instance_id] = GuestState.SHUTOFF
        self.specs[spec.instance_id] = spec
        self.consoles[spec.instance_id] = ["define"]

    def start(self, instance_id: str) -> None:
        self._move("start", instance_id)

    def pause(self, instance_id: str) -> None:
        self._move("pause", instance_id)

    def resume(self, instance_id: str) -> None:
        self._move("resume", instance_id)

    def reboot(self, instance_id: str) -> None:
        self._move("reboot", instance_id)

    def save(self, instance_id: str) -> None:
        self._move("save", instance_id)

    def discard_saved(self, instance_id: str) -> None:
        self._move("discard_saved", instance_id)

    def console(self, instance_id: str) -> str | None:
        self._reachable("console", instance_id)
        lines = self.consoles.get(instance_id)
        return None if lines is None else "".join(f"{line}\n" for line in lines)

    def destroy(self, instance_id: str) -> None:
        self._move("destroy", instance_id)

    def undefine(self, instance_id: str) -> None:
        self._move("undefine", instance_id)
        del self.states[instance_id]
        del self.specs[instance_id]
        del self.consoles[instance_id]

    def diagnostics(self, instance_id: str) -> dict[str, int] | None:
        self._reachable("diagnostics", instance_id)
        spec = self.specs.get(instance_id)
        if instance_id not in self.states or spec is None:
            return None
        return {"memory": spec.memory_mb * 1024,
                **{f"cpu{n}_time": 0 for n in range(spec.vcpus)}}

    def state(self, instance_id: str) -> GuestState:
        self._reachable("state", instance_id)
        return self.states.get(instance_id, GuestState.ABSENT)

    def snapshot(self, instance_id: str, image_id: str) -> str:
        self._reachable("snapshot", instance_id)
        made = self.snapshots.get(image_id)
        if made is not None and made != instance_id:
            raise GuestError(f"the copy for image {image_id} is of another guest ({made})")
        if made is None:
            if self.states.get(instance_id, GuestState.ABSENT) is GuestState.ABSENT:
                raise GuestError(f"cannot snapshot guest {instance_id}: it does not exist")
            if self.snapshot_fails:
                raise GuestError(f"qemu-img convert of guest {instance_id}'s disk failed")
            self.snapshots[image_id] = instance_id
        return f"fake-snapshots/{image_id}.qcow2"

    def power_loss(self) -> list[str]:
        self._reachable("power_loss", "")
        were_on = [i for i, s in self.states.items() if s is not GuestState.SHUTOFF]
        for instance_id in were_on:
            self.states[instance_id] = GuestState.SHUTOFF
        return sorted(were_on)

    def guests(self) -> list[Guest]:
        self._reachable("guests", "")
        return [
            Guest(instance_id=i, domain_name=domain_name(i), state=s)
            for i, s in sorted(self.states.items())
        ]

    def attach_disk(self, instance_id: str, disk: Disk) -> None:
        self._reachable("attach_disk", instance_id)
        if self.states.get(instance_id, GuestState.ABSENT) is GuestState.ABSENT:
            raise GuestError(f"cannot attach a disk to guest {instance_id}: it does not exist")
        disks = self.attached.setdefault(instance_id, {})
        if disks.get(disk.device, disk) != disk:
            raise GuestError(f"{disk.device} of guest {instance_id} holds another disk")
        disks[disk.device] = disk

    def detach_disk(self, instance_id: str, device: str) -> None:
        self._reachable("detach_disk", instance_id)
        self.attached.get(instance_id, {}).pop(device, None)

    def disks(self, instance_id: str) -> list[Disk]:
        self._reachable("disks", instance_id)
        return list(self.attached.get(instance_id, {}).values())

    def close(self) -> None:
        pass

    def _move(self, operation: str, instance_id: str) -> None:
        self._reachable(operation, instance_id)
        allowed, target = _TRANSITIONS[operation]
        current = self.states.get(instance_id, GuestState.ABSENT)
        if current not in allowed:
            raise GuestError(f"cannot {operation} guest {instance_id}: it is {current}")
        self.states[instance_id] = target
        self.consoles.setdefault(instance_id, []).append(operation)

    def _reachable(self, operation: str, instance_id: str) -> None:
        if self.unavailable:
            raise HostUnavailable("the fake host is unavailable")
        self.calls.append((operation, instance_id))
