"""The deadline sweeper: ends the operations whose host never answered.

Every ``interval`` seconds it asks the views for candidates (operations
pending since before now minus the deadline: ``projections/overdue.py``,
handed in as ``Candidates``) and writes each through the one write path,
``NimbusApplication.execute``, where the domain decides on the aggregate's
current state (``domain.deadlines``). It is idempotent: a candidate whose
host answered meanwhile, or whose operation another sweeper already ended,
has nothing overdue pending and writes nothing; so is a host's answer that
comes after the deadline.

It runs in the ingester part (runtime/stack.py), beside what records the
hosts' answers: that part already holds the write side and runs once or
more per cloud, and a second sweeper in another process only finds nothing
to do. ``clock`` (domain/clock.py) is handed in, so a test sets the time
instead of waiting for a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from commands import migration_steps
from commands.application import Aggregate, Change, NimbusApplication, nothing
from commands.event_store import StoreUnavailable
from commands.server_images import discard_image
from commands.volumes import step_changes
from domain import deadlines
from domain.clock import Clock
from domain.registry import INSTANCE, SNAPSHOT, VOLUME

log = logging.getLogger(__name__)

# (kind, aggregate id) of the operations pending since before the time given
Candidates = Callable[[datetime], Sequence[tuple[str, uuid.UUID]]]


def interval_for(deadline_seconds: float) -> float:
    """How often to sweep: often enough that an operation ends within a
    quarter of its deadline after it, at most every 30 s, at least every 0.1 s."""
    return min(30.0, max(0.1, deadline_seconds / 4))


class Deadlines:
    def __init__(self, app: NimbusApplication, candidates: Candidates, *,
                 deadline_seconds: float, clock: Clock | None = None) -> None:
        self.app = app
        self.candidates = candidates
        self.deadline = timedelta(seconds=deadline_seconds)
        self.clock = clock or app.clock

    def sweep(self) -> list[uuid.UUID]:
        """End every overdue operation found now; the aggregates it ended."""
        now = self.clock()
        ended = []
        for kind, aggregate_id in self.candidates(now - self.deadline):
            try:
                written = self.expire(kind, aggregate_id, now)
            except StoreUnavailable:
                raise  # the database is away: the stack stops, saying so
            except Exception:  # this aggregate's alone: the others still end
                log.exception("cannot end the operation of %s %s", kind, aggregate_id)
                continue
            if written is not None:
                ended.append(aggregate_id)
        if ended:
            log.warning("ended %d operations whose host did not answer within %s s",
                        len(ended), self.deadline.total_seconds())
        return ended

    def expire(self, kind: str, aggregate_id: uuid.UUID, now: datetime) -> int | None:
        """End the aggregate's operation if its deadline passed by ``now``;
        the log position written, None when nothing was."""
        decide = self._deciders.get(kind)
        if decide is None:
            return None
        return self.app.execute(None, lambda: self.app.load_or_new(aggregate_id, kind),
                                lambda aggregate, _: decide(aggregate, now),
                                answer=nothing, touches=[aggregate_id]).position

    @property
    def _deciders(self) -> dict[str, Callable[[Aggregate[Any], datetime], list[Change]]]:
        return {INSTANCE.name: self._instance, VOLUME.name: self._volume,
                SNAPSHOT.name: self._snapshot}

    def _instance(self, instance: Aggregate[Any], now: datetime) -> list[Change]:
        # a failure gives nothing back: the host may still hold what it was given
        if instance.current is None:
            return []
        expired = deadlines.expire_instance(instance.state, now, self.deadline)
        # a snapshot's image goes with it (commands/server_images.py); a step of a
        # move rolls back: the next step, or the destination's claim
        gone = discard_image(self.app, instance.state, expired.request_id, now) if expired else []
        return [(instance, expired), *gone,
                *migration_steps.follow(self.app, instance, expired, now)]

    def _volume(self, volume: Aggregate[Any], now: datetime) -> list[Change]:
        if volume.current is None:
            return []
        return step_changes(self.app, volume,
                            deadlines.expire_volume(volume.state, now, self.deadline), now)

    def _snapshot(self, snapshot: Aggregate[Any], now: datetime) -> list[Change]:
        # a failure deletes nothing: the snapshot stays on its volume
        if snapshot.current is None:
            return []
        return [(snapshot, deadlines.expire_snapshot(snapshot.state, now, self.deadline))]


async def run(sweeper: Deadlines, interval: float, stop: asyncio.Event) -> None:
    """Sweep every ``interval`` seconds until ``stop`` is set; a lost
    database fails it, as it fails every part that needs one."""
    while not stop.is_set():
        await asyncio.to_thread(sweeper.sweep)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval)
    log.info("deadline sweeper stopped")
