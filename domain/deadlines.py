"""Deadlines: an operation whose host never answers ends as if the host refused it.

A host that is gone (its worker dead, a message lost past redelivery) would
leave an instance in its task state, or a volume in ``attaching``, for good.
So every pending operation has a deadline, counted from when its host was
asked (``Pending.at``): once it has passed with no answer, the operation
ends through the same ``complete(..., ok=False)`` a host's refusal takes,
with a reason naming the host and the deadline. The state it ends in is
therefore the one a refusal gives: a boot in ERROR with the fault, a pause
back to ACTIVE with its action failed, an attach leaving the volume
available. A host's answer arriving afterwards answers nothing pending and
changes nothing.

Each decision is ``(state, now, deadline) -> event | None``: None while the
deadline has not passed, or when nothing is pending. Backups have none: an
archive of a volume's data takes as long as the data, and a backup's host
reports nothing until it is done.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain import events as ev
from domain import instance as instance_model
from domain import snapshot as snapshot_model
from domain import volume as volume_model
from domain.base import Event, Pending


def overdue(pending: Pending[Event] | None, now: datetime, deadline: timedelta,
            since: datetime) -> bool:
    """Whether the pending operation's deadline has passed at ``now``;
    ``since``: when it was asked, where the pending does not say."""
    if pending is None:
        return False
    return now - (pending.at or since) >= deadline


def no_answer(host: str | None, deadline: timedelta) -> str:
    """The fault an operation ends with when its host never answered."""
    return f"no answer from host {host or 'unknown'} within {_seconds(deadline)} s"


def expire_instance(state: instance_model.Instance, now: datetime,
                    deadline: timedelta) -> ev.InstanceOutcome | None:
    """The failure that ends the instance's operation once its deadline passed.
    A boot whose guest started but whose ports no network host plugged says so."""
    pending = state.pending
    if pending is None or not overdue(pending, now, deadline, state.updated_at):
        return None
    reason = no_answer(state.host, deadline)
    if pending.step is ev.InstanceCreateRequested and state.guest_started:
        reason = (f"the ports {', '.join(state.unplugged())} were not plugged by a "
                  f"network host within {_seconds(deadline)} s")
    ended = instance_model.complete(state, pending.request_id, ok=False, at=now, reason=reason)
    assert not isinstance(ended, ev.InstanceGuestStarted)  # only a success starts a guest
    return ended


def expire_volume(state: volume_model.Volume, now: datetime,
                  deadline: timedelta) -> volume_model.VolumeEvent | None:
    """What the volume's step leads to once its deadline passed, as if its
    host refused it (for a volume whose server is going, the next step of
    its detach)."""
    pending = state.pending
    if pending is None or not overdue(pending, now, deadline, state.updated_at):
        return None
    on_compute = pending.step in (volume_model.VolumeExported, volume_model.VolumeDetachRequested)
    host = state.compute_host if on_compute else state.host
    return volume_model.complete(state, pending.request_id, step=pending.step, ok=False,
                                 reason=no_answer(host, deadline), at=now)


def expire_snapshot(state: snapshot_model.Snapshot, now: datetime,
                    deadline: timedelta) -> snapshot_model.SnapshotEvent | None:
    """The failure that ends the snapshot's create or delete once its deadline passed."""
    pending = state.pending
    if pending is None or not overdue(pending, now, deadline, state.updated_at):
        return None
    return snapshot_model.complete(state, pending.request_id, ok=False, at=now,
                                   reason=no_answer(state.host, deadline))


def _seconds(deadline: timedelta) -> str:
    seconds = deadline.total_seconds()
    return str(int(seconds)) if seconds == int(seconds) else f"{seconds:g}"
