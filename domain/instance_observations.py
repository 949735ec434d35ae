"""What the control plane makes of a host's report of its guests.

A hypervisor host reports every guest it has and its power state (on start,
every ``reconcile_interval_seconds``, and when ``nimbus recover`` asks). An
instance placed on that host, with no operation pending, whose guest is in
another state than the one recorded gets an observation event
(``observe``): the log says what the host saw and what was recorded before,
and nothing is overwritten silently. An instance the host lost to a power
loss (recorded active, paused or suspended; the guest shut off) is then
brought back, when the policy ``resume_guests_state_on_host_boot`` is on, by
ordinary requests from the reconciler (``restore_step``): start, then pause
or suspend. Their request ids derive from the observation's, so a repeated
report or a rerun asks nothing twice. Pure: state and fields in, events out.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final

import msgspec

from domain import events as ev
from domain.instance import RECONCILER_USER, Instance, VmState, request

NAMESPACE: Final = uuid.UUID("0b3f6a52-2c1d-4f7e-8a90-5e6d7c8b9a01")


class Guest:
    """The guest states a hypervisor host reports (workers/hypervisor/port.py)."""

    RUNNING: Final = "running"
    PAUSED: Final = "paused"
    SUSPENDED: Final = "suspended"  # its memory saved (managed save)
    SHUTOFF: Final = "shutoff"
    ABSENT: Final = "absent"  # no such guest on the host


# what a guest may be in for each recorded vm_state (any other state is news)
_EXPECTED: Final = {
    VmState.ACTIVE: frozenset({Guest.RUNNING}),
    VmState.PAUSED: frozenset({Guest.PAUSED}),
    VmState.SUSPENDED: frozenset({Guest.SUSPENDED}),
    VmState.STOPPED: frozenset({Guest.SHUTOFF, Guest.SUSPENDED}),
}
RESUMABLE: Final = frozenset({VmState.ACTIVE, VmState.PAUSED, VmState.SUSPENDED})

# how the reconciler brings an instance back: by its target, the request for its vm_state now
_STEPS: Final[dict[str, dict[str, type[ev.InstanceRequested]]]] = {
    VmState.ACTIVE: {VmState.STOPPED: ev.InstanceStartRequested},
    VmState.PAUSED: {VmState.STOPPED: ev.InstanceStartRequested,
                     VmState.ACTIVE: ev.InstancePauseRequested},
    VmState.SUSPENDED: {VmState.STOPPED: ev.InstanceStartRequested,
                        VmState.ACTIVE: ev.InstanceSuspendRequested},
}

ACTIONS: Final[dict[type[ev.InstanceObserved], str]] = {
    ev.InstanceObservedStopped: "observed-stopped",
    ev.InstanceObservedMissing: "observed-missing",
    ev.InstanceObservedRunning: "observed-running",
    ev.InstanceObservedPaused: "observed-paused",
}


def observation_id(instance_id: str, version: int) -> str:
    """The request id of an observation of the instance at ``version``: one
    per state it is made on, the same for the same log."""
    return f"req-{uuid.uuid5(NAMESPACE, f'{instance_id}@{version}')}"


def differs(state: Instance, guest: str) -> bool:
    """Whether a guest in state ``guest`` is news for the recorded instance
    (one with an operation pending, building, in error or deleted never is)."""
    expected = _EXPECTED.get(state.vm_state)
    return (state.pending is None and state.task_state is None and expected is not None
            and guest not in expected)


def observe(state: Instance, guest: str, *, host: str, request_id: str, at: datetime,
            seen_at: datetime, resume: bool) -> ev.InstanceObserved | None:
    """The event recording that ``host`` saw the guest in state ``guest`` at
    ``seen_at``; None when that is no news, when the report is about another
    host, or when the instance changed after the host looked (a stale report)."""
    if state.host != host or state.updated_at > seen_at or not differs(state, guest):
        return None
    was = state.vm_state
    kind: type[ev.InstanceObserved]
    resuming = False
    if guest == Guest.ABSENT:
        kind, reason = (ev.InstanceObservedMissing,
                        f"host {host} has no guest for instance {state.id}"
                        f" (it was recorded {was})")
    elif guest in (Guest.SHUTOFF, Guest.SUSPENDED):
        resuming = resume and was in RESUMABLE
        then = ("; the reconciler brings it back" if resuming else
                "; not resumed (resume_guests_state_on_host_boot is off)")
        kind, reason = (ev.InstanceObservedStopped,
                        f"host {host} reported the guest shut off while it was recorded"
                        f" {was}{then}")
    elif guest in (Guest.RUNNING, Guest.PAUSED):
        kind = ev.InstanceObservedRunning if guest == Guest.RUNNING else ev.InstanceObservedPaused
        reason = f"host {host} reported the guest {guest} while it was recorded {was}"
    else:
        return None  # a state this control plane does not know: nothing to say
    event = kind(request_id=request_id, at=at, host=host, observed=guest, was_vm_state=was,
                 was_power_state=state.power_state, reason=reason)
    if isinstance(event, ev.InstanceObservedStopped):
        return msgspec.structs.replace(event, resume=resuming)
    return event


def restore_step(state: Instance, *,
                 take_over: bool = False) -> type[ev.InstanceRequested] | None:
    """The next request that brings the instance back to what it was, if the
    reconciler is doing that (or, ``take_over``, the host lost it while the
    policy was off: ``nimbus recover``) and nothing is pending."""
    restore = state.restore
    if (restore is None or not (restore.resume or take_over) or state.pending is not None
            or state.task_state is not None):
        return None
    return _STEPS.get(restore.to, {}).get(state.vm_state)


def restore_request_id(state: Instance, step: type[ev.InstanceRequested]) -> str:
    """The request id of a reconciler's step: derived from the observation."""
    assert state.restore is not None
    return f"{state.restore.observation}-{step.__name__}"


def restore_request(state: Instance, *, at: datetime,
                    take_over: bool = False) -> ev.InstanceRequested | None:
    """The reconciler's next request for the instance (an ordinary one, from
    ``RECONCILER_USER``), or None when there is nothing to do."""
    step = restore_step(state, take_over=take_over)
    if step is None:
        return None
    return request(state, step, request_id=restore_request_id(state, step), at=at,
                   user_id=RECONCILER_USER, is_admin=True)

