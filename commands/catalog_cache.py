"""The catalog aggregates boots refer to (flavors, images, keypairs), held in memory.

Why this exists: a boot looks up its flavor, its image and its keypair
before it is decided, and loading each from the store is a checkout of a
connection, its check and a query, every time. ``CatalogCache`` holds the
aggregates it was asked for and brings them all up to date with ONE query:
the events after the log position it has read to, of the aggregates it
holds, and every event of those asked for the first time (the recorder's
``select_changes``). The log is gap-free (the event table's lock orders
commits), so what that query sees is a prefix of the log, and an aggregate
brought up to date is as current as a load from the store would be: a
flavor created a moment ago, by this process or another, is found.

Lookups that arrive while a query runs wait for it and are served together
by the next one (commands/group_queue.py).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from commands.application import Aggregate, NimbusApplication
from commands.group_queue import GroupQueue

if TYPE_CHECKING:
    from domain.registry import Kind

S = TypeVar("S")

MAX_HELD = 10_000  # aggregates held; past this the cache starts afresh


class _Lookup:
    __slots__ = ("error", "ids")

    def __init__(self, ids: set[uuid.UUID]) -> None:
        self.ids = ids
        self.error: BaseException | None = None


class CatalogCache:
    """Catalog aggregates, each brought up to date when it is looked up."""

    def __init__(self, app: NimbusApplication) -> None:
        self.app = app
        self._position = 0  # every held aggregate is current up to here
        self._held: dict[uuid.UUID, Aggregate[Any] | None] = {}
        self._read = threading.Lock()
        self._queue: GroupQueue[_Lookup] = GroupQueue(self._serve)

    def refresh(self, ids: Iterable[uuid.UUID]) -> None:
        """Bring ``ids`` (and every other held aggregate) up to date, as of now."""
        lookup = _Lookup(set(ids))
        self._queue.submit(lookup)
        if lookup.error is not None:
            raise lookup.error

    def get(self, kind: Kind[S], aggregate_id: uuid.UUID) -> S | None:
        """The state of the aggregate of ``kind`` at ``aggregate_id`` as of
        the last ``refresh`` naming it (refreshed now if none did); None if
        there is none."""
        with self._read:
            known = aggregate_id in self._held
        if not known:
            self.refresh([aggregate_id])
        with self._read:
            found = self._held.get(aggregate_id)
            return found.current if found is not None and found.kind is kind else None

    def _serve(self, lookups: list[_Lookup]) -> None:
        try:
            self._bring_up_to_date(set().union(*(lookup.ids for lookup in lookups)))
        except Exception as error:  # the store's, told to every lookup of the batch
            for lookup in lookups:
                lookup.error = error

    def _bring_up_to_date(self, ids: set[uuid.UUID]) -> None:
        with self._read:
            if len(self._held) > MAX_HELD:
                self._held.clear()
            held = list(self._held)
        new = [i for i in ids if i not in self._held]
        position, stored = self.app.select_changes(self._position, held, new)
        with self._read:
            for i in new:
                self._held.setdefault(i, None)
            for recorded in stored:
                aggregate = self._held.get(recorded.originator_id)
                if aggregate is None:
                    aggregate = Aggregate(recorded.originator_id, recorded.event.aggregate)
                    self._held[recorded.originator_id] = aggregate
                if recorded.originator_version > aggregate.version:
                    aggregate.apply(recorded.event)
            self._position = max(self._position, position)
