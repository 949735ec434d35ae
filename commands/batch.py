"""The aggregates one batch of requests decides on, in memory, request after request.

Why this exists: a batch of requests (commands/group_queue.py) is decided in
order and committed in one transaction, so each request must decide on the
state the earlier ones of its batch left, and a request that is refused must
leave nothing behind. ``Batch`` keeps, for each aggregate the batch touched,
its stored state plus the events accepted so far (``base``), and hands the
request being decided *forks* of them (``layer``): ``accept`` keeps what the
request changed, ``discard`` drops it.

The aggregates a batch will need are fetched in one query before its first
decision (``prefetch``): those its requests name, and those recent batches
loaded besides (a project's quota, the fleet, the hosts), which the next one
likely needs again. Any other is fetched when first loaded.

An aggregate a request made afresh although the batch already holds it (an
``Aggregate(id, kind)`` over one an earlier request changed) cannot be saved
after the earlier one: ``accept`` raises ``Overlap``, and the request is
decided again in the next batch, against the stored state.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from commands.application import Aggregate


class Overlap(Exception):
    """A request changed an aggregate of its batch from a state the batch moved past."""


class Batch:
    """The batch's aggregates: as stored plus accepted events, and the
    forks the current request decides on."""

    def __init__(self, fetch: Callable[[uuid.UUID], Aggregate[Any] | None],
                 fetch_many: Callable[[Collection[uuid.UUID]],
                                      dict[uuid.UUID, Aggregate[Any] | None]]) -> None:
        self._fetch = fetch
        self._fetch_many = fetch_many
        self._base: dict[uuid.UUID, Aggregate[Any] | None] = {}
        self._layer: dict[uuid.UUID, Aggregate[Any] | None] = {}
        self.loaded: set[uuid.UUID] = set()  # every aggregate a request loaded

    def prefetch(self, ids: Collection[uuid.UUID]) -> None:
        """Fetch ``ids`` now, in one query, before any request is decided."""
        wanted = [i for i in ids if i not in self._base]
        if wanted:
            self._base.update(self._fetch_many(wanted))

    def load(self, aggregate_id: uuid.UUID) -> Aggregate[Any] | None:
        """The aggregate as the current request sees it (None: no events)."""
        self.loaded.add(aggregate_id)
        if aggregate_id in self._layer:
            return self._layer[aggregate_id]
        if aggregate_id not in self._base:
            self._base[aggregate_id] = self._fetch(aggregate_id)
        base = self._base[aggregate_id]
        fork = base.fork() if base is not None else None
        self._layer[aggregate_id] = fork
        return fork

    def accept(self, changed: list[Aggregate[Any]]) -> None:
        """Keep what the current request changed (its ``new_events``)."""
        for aggregate in changed:
            before = self._base.get(aggregate.id)
            start = aggregate.version - len(aggregate.new_events)
            if aggregate.id in self._base and start != (before.version if before else 0):
                self._layer.clear()
                raise Overlap(aggregate.id)
        for aggregate in changed:
            self._base[aggregate.id] = aggregate
        self._layer.clear()

    def discard(self) -> None:
        """Forget what the current request changed."""
        self._layer.clear()
