"""A hypervisor host's part in a server's move: the guest-side primitives.

Each step of a resize or cold migration (domain/migration.py) is addressed to
the one host that does it; this brings that host's guest to what the step
asks, level-based as every request is (a step delivered again, after the
worker died half-way through it, finds part or all of it done and finishes
it). On libvirt's test driver these are the real libvirt calls on each
simulated host's own connection (define, create, destroy, undefine); no
disk is copied, since the test driver has none (a shared-storage move).

* resize (source): shut the guest off, keep its definition for a revert;
* finish (destination): define the guest with the new flavor, start it if
  it was running;
* confirm (source), revert and rollback (destination): remove the guest;
* revert-finish (source): start the old guest again, if it was running;
* live migration: define the guest inactive (destination), run it there
  after the copy (workers/hypervisor/live.py), remove the source's paused
  copy; a rollback removes the destination's and runs the source's again.
"""

from __future__ import annotations

from domain import migration_events as mev
from domain.base import unknown_event
from workers.hypervisor.port import GuestError, GuestSpec, GuestState, HypervisorHost
from workers.network import planner


def remove(guests: HypervisorHost, instance_id: str) -> None:
    """No guest for the instance on this host (none already is done)."""
    state = guests.state(instance_id)
    if state in (GuestState.RUNNING, GuestState.PAUSED):
        guests.destroy(instance_id)
    elif state is GuestState.SUSPENDED:
        guests.discard_saved(instance_id)
    if state is not GuestState.ABSENT:
        guests.undefine(instance_id)


def shut_off(guests: HypervisorHost, instance_id: str) -> None:
    """The guest defined and not running (its memory is not kept)."""
    state = guests.state(instance_id)
    if state is GuestState.ABSENT:
        raise GuestError(f"cannot move guest {instance_id}: it does not exist here")
    if state in (GuestState.RUNNING, GuestState.PAUSED):
        guests.destroy(instance_id)
    elif state is GuestState.SUSPENDED:
        guests.discard_saved(instance_id)


def run(guests: HypervisorHost, instance_id: str) -> None:
    """The guest running here (a live migration's finish, or its source recovered)."""
    state = guests.state(instance_id)
    if state is GuestState.ABSENT:
        raise GuestError(f"cannot run guest {instance_id}: it does not exist here")
    if state is GuestState.PAUSED:
        guests.resume(instance_id)
    elif state in (GuestState.SHUTOFF, GuestState.SUSPENDED):
        guests.start(instance_id)


def converge_move(guests: HypervisorHost, instance_id: str,
                  request: mev.AnyMigrationRequest) -> None:
    """Bring this host's guest to what the step asks; done already is success."""
    match request:
        case mev.InstanceResizeRequested():
            shut_off(guests, instance_id)
        case mev.InstanceResizeFinishRequested():
            state = guests.state(instance_id)
            if state is GuestState.ABSENT:
                guests.define(GuestSpec(
                    instance_id=instance_id, name=request.name, vcpus=request.vcpus,
                    memory_mb=request.memory_mb,
                    nics=[(n.mac, n.bridge, planner.device(n.port_id)) for n in request.nics]))
                state = GuestState.SHUTOFF
            if request.start and state is GuestState.SHUTOFF:
                guests.start(instance_id)
        case (mev.InstanceResizeConfirmRequested() | mev.InstanceResizeRevertRequested()
              | mev.InstanceResizeRollbackRequested()):
            remove(guests, instance_id)
        case mev.InstanceResizeRevertFinishRequested():
            state = guests.state(instance_id)
            if state is GuestState.ABSENT:
                raise GuestError(f"cannot revert guest {instance_id}: the source has none")
            if request.start and state is GuestState.SHUTOFF:
                guests.start(instance_id)
        case mev.InstanceLiveMigrateRequested():  # on the destination: an inactive definition
            if guests.state(instance_id) is GuestState.ABSENT:
                guests.define(GuestSpec(
                    instance_id=instance_id, name=request.name, vcpus=request.vcpus,
                    memory_mb=request.memory_mb,
                    nics=[(n.mac, n.bridge, planner.device(n.port_id)) for n in request.nics]))
        case (mev.InstanceLiveMigrationFinishRequested()
              | mev.InstanceLiveMigrationRecoverRequested()):
            run(guests, instance_id)
        case (mev.InstanceLiveMigrationCleanupRequested()
              | mev.InstanceLiveMigrationRollbackRequested()):
            remove(guests, instance_id)
        case mev.InstanceLiveMigrationRunRequested():
            raise GuestError("the copy runs in workers/hypervisor/live.py")  # never routed here
        case _:
            unknown_event(request, "hypervisor host's move")
