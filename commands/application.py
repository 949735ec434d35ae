"""The event store of the write side: aggregates, loading, committing, retrying.

Committing appends the new events of one or more aggregates in one
transaction with optimistic concurrency (the store's primary key is aggregate
id + version); ``retrying`` reloads and decides again after a conflict, a few
times, before giving up with ``Conflict``. Each aggregate also remembers the
request ids in its history, so a repeated request can be recognised; the
Idempotency-Key a request came with is written with its first events.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, Mapper
from psycopg.conninfo import conninfo_to_dict

from commands import idempotency as idempotency_keys
from commands.event_store import STORE_ERRORS, SessionBounds, unavailable
from commands.mapper import MsgspecMapper, Recorded
from domain import (
    backup,
    flavor,
    host,
    idempotency,
    identity,
    image,
    keypair,
    quota,
    server_disks,
    snapshot,
    volume,
)
from domain import events as ev
from domain import instance as model
from domain.base import Event
from domain.codec import topic_of
from domain.errors import Conflict

MAX_ATTEMPTS = 12
OPTIMISTIC_ATTEMPTS = 2  # after this many conflicts, a decision waits for its turn

T = TypeVar("T")


Evolve = Callable[[Any, Any, str], Any]

# aggregate kind -> the domain's fold function for it
EVOLVE: dict[str, Evolve] = {
    ev.InstanceEvent.aggregate: model.evolve,
    flavor.FlavorEvent.aggregate: flavor.evolve,
    flavor.FlavorNameEvent.aggregate: flavor.evolve_name,
    image.ImageEvent.aggregate: image.evolve,
    keypair.KeypairEvent.aggregate: keypair.evolve,
    identity.ProjectEvent.aggregate: identity.evolve_project,
    identity.UserEvent.aggregate: identity.evolve_user,
    identity.TokenEvent.aggregate: identity.evolve_token,
    quota.QuotaEvent.aggregate: quota.evolve,
    host.HostEvent.aggregate: host.evolve,
    host.HostJoinedFleet.aggregate: host.evolve_fleet,
    volume.VolumeEvent.aggregate: volume.evolve,
    server_disks.DiskEvent.aggregate: server_disks.evolve,
    snapshot.SnapshotEvent.aggregate: snapshot.evolve,
    backup.BackupEvent.aggregate: backup.evolve,
    idempotency.IdempotencyEvent.aggregate: idempotency.evolve,
}


class Aggregate:
    """One aggregate's state plus what the write side needs around it: its
    version, the request ids in its history, and events not yet saved."""

    def __init__(self, aggregate_id: uuid.UUID, kind: str) -> None:
        self.id = aggregate_id
        self.kind = kind
        self.version = 0
        self.state: Any = None
        self.requests: set[str] = set()
        self._pending: list[Recorded] = []

    def apply(self, event: Event) -> None:
        # version last: a copy taken meanwhile (see __deepcopy__) is then
        # either whole or older than its state, and an older copy can only
        # meet a version conflict, never decide on a state it did not see
        self.state = EVOLVE[self.kind](self.state, event, str(self.id))
        request_id = getattr(event, "request_id", None)
        if request_id:
            self.requests.add(request_id)
        self.version += 1

    def __deepcopy__(self, memo: dict[int, object]) -> Aggregate:
        """What the store's cache hands out: states are immutable, so a copy
        shares them and copies only what a command changes."""
        copy = Aggregate(self.id, self.kind)
        copy.version = self.version
        copy.state = self.state
        copy.requests = set(self.requests)
        return copy

    def record(self, event: Event) -> None:
        self.apply(event)
        self._pending.append(Recorded(self.id, self.version, event))

    def pending_requests(self) -> set[str]:
        """The request ids of the events not yet saved."""
        return {getattr(r.event, "request_id", "") for r in self._pending} - {""}

    def collect_events(self) -> list[Recorded]:
        pending, self._pending = self._pending, []
        return pending


def _fold(aggregate: Aggregate | None, recorded: Iterable[Recorded]) -> Aggregate | None:
    for r in recorded:
        if aggregate is None:
            aggregate = Aggregate(r.originator_id, r.event.aggregate)
        aggregate.apply(r.event)
    return aggregate


def postgres_env(url: str, bounds: SessionBounds | None = None) -> dict[str, str]:
    """eventsourcing's settings for a PostgreSQL URL, every session within
    ``bounds`` (commands/event_store.py); tables come from migrations."""
    info = conninfo_to_dict(url)
    return {
        **(bounds or SessionBounds()).env(),
        "POSTGRES_DBNAME": str(info.get("dbname") or "nimbus"),
        "POSTGRES_HOST": str(info.get("host") or "127.0.0.1"),
        "POSTGRES_PORT": str(info.get("port") or "5432"),
        "POSTGRES_USER": str(info.get("user") or "postgres"),
        # eventsourcing insists on a password even where the server trusts.
        "POSTGRES_PASSWORD": str(info.get("password") or "unused"),
        "POSTGRES_POOL_SIZE": "10",
        "POSTGRES_MAX_OVERFLOW": "10",
        "CREATE_TABLE": "n",
        # aggregates stay in memory and are brought up to date from the store
        # on each load, so a busy host or quota is not replayed from its start
        "AGGREGATE_CACHE_MAXSIZE": "10000",
    }


def now() -> datetime:
    return datetime.now(UTC)


class NimbusApplication(Application[uuid.UUID]):
    """The event store of every aggregate, with load, commit and retry."""

    name = "nimbus"

    def __init__(self, database_url: str, clock: Callable[[], datetime] = now, *,
                 bounds: SessionBounds | None = None) -> None:
        super().__init__(env=postgres_env(database_url, bounds))
        self.clock = clock

    def construct_mapper(self) -> Mapper[uuid.UUID]:
        return MsgspecMapper()

    def load(self, aggregate_id: uuid.UUID) -> Aggregate | None:
        """The aggregate as stored now, or None if it has no events."""
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id, projector_func=_fold)
        except AggregateNotFoundError:
            return None
        except STORE_ERRORS as error:
            raise unavailable(error) from error
        return aggregate

    def load_or_new(self, aggregate_id: uuid.UUID, kind: str) -> Aggregate:
        """The aggregate as stored, or a new empty one of ``kind``."""
        return self.load(aggregate_id) or Aggregate(aggregate_id, kind)

    def ids_with(self, event_type: type[Event]) -> set[uuid.UUID]:
        """The aggregates that ever recorded an event of ``event_type`` (a
        scan of the log by topic, for what is looked for rarely, at start)."""
        topic = topic_of(event_type)
        found: set[uuid.UUID] = set()
        start = 1
        while page := self.recorder.select_notifications(start=start, limit=1000,
                                                          topics=[topic]):
            found.update(uuid.UUID(str(n.originator_id)) for n in page)
            start = page[-1].id + 1
        return found

    def commit(self, *aggregates: Aggregate) -> int | None:
        """Append the aggregates' new events in one transaction, with the first
        use of the request's Idempotency-Key (``commands.idempotency``); return
        the log position of the last one. A version conflict raises IntegrityError;
        a store that does not answer in time, StoreUnavailable."""
        keyed = idempotency_keys.first_use(self, aggregates)
        try:
            recordings = self.save(*aggregates, *keyed)
        except STORE_ERRORS as error:
            raise unavailable(error) from error
        return recordings[-1].notification.id if recordings else None


class RetryStats:
    """How often a decision had to be taken again after a version conflict
    (read by the benchmark; one process-wide count)."""

    conflicts = 0


class _Turns:
    """Decisions of this process that lost a race take turns; while any is
    waiting, new decisions queue behind it instead of racing it."""

    def __init__(self) -> None:
        self._lock = threading.RLock()  # re-entrant: a decision may run another
        self._count = threading.Lock()
        self.waiting = 0

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        with self._count:
            self.waiting += 1
        try:
            with self._lock:
                yield
        finally:
            with self._count:
                self.waiting -= 1


_TURNS = _Turns()


def retrying(attempt: Callable[[], T]) -> T:
    """Run ``attempt`` again after a version conflict.

    The first tries are optimistic, after a little jitter. A decision that
    keeps losing (every boot claims one of a few hosts) then waits for its
    turn, and while one waits, new decisions queue behind it: within one
    process, contended writers are served in turn instead of starving the
    unlucky one. Writers in other processes still race optimistically.
    """
    for n in range(MAX_ATTEMPTS):
        try:
            if n < OPTIMISTIC_ATTEMPTS and not _TURNS.waiting:
                return attempt()
            with _TURNS.turn():
                return attempt()
        except IntegrityError:
            RetryStats.conflicts += 1
            if n < OPTIMISTIC_ATTEMPTS:
                time.sleep(random.uniform(0, 0.002 * (2**n)))
    raise Conflict("The request conflicted with concurrent changes; please retry.")


