"""The write side's one path: load, the idempotency rule, decide, commit, retry.

Every command and every host report is written by ``NimbusApplication.execute``:

1. ``load`` the aggregate the request is about (the *main* one: its history
   holds the request's id once it is done, and its state is the answer). It
   never refuses: an aggregate with no events is loaded empty, and the
   decision says "not found".
2. The one idempotency rule: a request id already in the main aggregate's
   history is a retry. It is answered as the first time was, and nothing is
   written. (A host's report has no request of its own: ``request_id=None``,
   and the domain ignores one that answers nothing pending.)
3. ``decide``: domain decisions, each ``(state, fields…) -> events``, give the
   events; the glue says which aggregate each goes to (``Change``), loading the
   others it needs. Only domain functions create events.
4. Record them, and commit every changed aggregate in one transaction with
   optimistic concurrency (the store's primary key is aggregate id + version),
   with the first use of the request's Idempotency-Key (``commands.idempotency``).
5. On a version conflict, all of it again (``Retries``: the application's
   policy, given to it, with its count of conflicts).

How to add a verb: a domain decision ``(state, fields…) -> event(s)`` in the
aggregate's ``domain/`` module (refusing in the API's words), then a service
method of a few lines, ``return self.app.execute(request_id, load, decide)``,
whose ``decide`` pairs each event with its aggregate. How to add an
aggregate: its events, state, fold and decisions in one ``domain/`` module,
its events in ``domain.codec``'s ``AnyEvent``, and its ``Kind`` in
``commands/kinds.py`` (then ``load_or_new(id, KIND)`` gives an
``Aggregate[State]``). The write side needs nothing else; a view of it is the
projector's (projections/projector.py), and hosts' reports on it the
ingester's (commands/ingest.py).
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, overload

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, Mapper
from psycopg.conninfo import conninfo_to_dict
from typing_extensions import TypeVar

from commands import idempotency as idempotency_keys
from commands.event_store import STORE_ERRORS, SessionBounds, unavailable
from commands.kinds import KINDS, Kind
from commands.mapper import MsgspecMapper, Recorded
from domain.base import Event
from domain.clock import Clock
from domain.codec import topic_of
from domain.errors import Conflict

MAX_ATTEMPTS = 12
OPTIMISTIC_ATTEMPTS = 2  # after this many conflicts, a decision waits for its turn

S = TypeVar("S", default=Any)  # a bare ``Aggregate`` is one of any kind
R = TypeVar("R")
T = TypeVar("T")


class Aggregate(Generic[S]):
    """One aggregate's state plus what the write side needs around it: its
    kind, its version, the request ids in its history, and events not yet saved."""

    @overload
    def __init__(self: Aggregate[Any], aggregate_id: uuid.UUID, kind: str) -> None: ...
    @overload
    def __init__(self, aggregate_id: uuid.UUID, kind: Kind[S]) -> None: ...

    def __init__(self, aggregate_id: uuid.UUID, kind: Kind[S] | str) -> None:
        self.id = aggregate_id
        self.kind: Kind[S] = KINDS[kind] if isinstance(kind, str) else kind
        self.version = 0
        self._state: S | None = None
        self.requests: set[str] = set()
        self._pending: list[Recorded] = []

    @property
    def state(self) -> S:
        """The state its events folded into (an aggregate with none has none)."""
        if self._state is None:
            raise LookupError(f"{self.kind.name} {self.id} has no events")
        return self._state

    @property
    def current(self) -> S | None:
        """The state, or None while it has no events (what a create decides on)."""
        return self._state

    @property
    def pending(self) -> bool:
        """Whether it holds events not yet saved."""
        return bool(self._pending)

    def after(self, event: Event) -> S:
        """The state ``event`` would leave it in (nothing is recorded)."""
        return self.kind.evolve(self._state, event, str(self.id))

    def apply(self, event: Event) -> None:
        # version last: a copy taken meanwhile (see __deepcopy__) is then
        # either whole or older than its state, and an older copy can only
        # meet a version conflict, never decide on a state it did not see
        self._state = self.after(event)
        request_id = getattr(event, "request_id", None)
        if request_id and event.answers:
            self.requests.add(request_id)
        self.version += 1

    def __deepcopy__(self, memo: dict[int, object]) -> Aggregate[S]:
        """What the store's cache hands out: states are immutable, so a copy
        shares them and copies only what a command changes."""
        copy = Aggregate(self.id, self.kind)
        copy.version = self.version
        copy._state = self._state
        copy.requests = set(self.requests)
        return copy

    def record(self, event: Event) -> None:
        self.apply(event)
        self._pending.append(Recorded(self.id, self.version, event))

    def collect_events(self) -> list[Recorded]:
        pending, self._pending = self._pending, []
        return pending


# What a decision gives: the events (None: none) each aggregate is to record.
Change = tuple[Aggregate[Any], Event | Iterable[Event] | None]


@dataclass(frozen=True, kw_only=True)
class Written(Generic[R]):
    """What a request is answered with: the state it left (or found, when
    it was done before), and the log position written, for read-your-writes
    (None: nothing new was written)."""

    state: R
    position: int | None
    request_id: str = ""


def recorded(changes: Iterable[Change]) -> list[Aggregate[Any]]:
    """Record each change's events; the aggregates changed, in first-change order."""
    changed: list[Aggregate[Any]] = []
    for aggregate, events in changes:
        for event in () if events is None else (events,) if isinstance(events, Event) \
                else events:
            aggregate.record(event)
        if aggregate.pending and all(a is not aggregate for a in changed):
            changed.append(aggregate)
    return changed


def _fold(aggregate: Aggregate[Any] | None,
          recorded: Iterable[Recorded]) -> Aggregate[Any] | None:
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
        # two kept open, up to twenty under load: an idle process holds few of
        # the server's connections (max_connections is 100 by default)
        "POSTGRES_POOL_SIZE": "2",
        "POSTGRES_MAX_OVERFLOW": "18",
        "CREATE_TABLE": "n",
        # aggregates stay in memory and are brought up to date from the store
        # on each load, so a busy host or quota is not replayed from its start
        "AGGREGATE_CACHE_MAXSIZE": "10000",
    }


def now() -> datetime:
    return datetime.now(UTC)


class Turns:
    """Decisions that lost a race take turns; while any is waiting, new
    decisions queue behind it instead of racing it."""

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


# The turns of this process: contended writers of one process are served in
# turn whichever application they write through (tests open several).
PROCESS_TURNS = Turns()


class Retries:
    """Run a decision again after a version conflict: one application's policy.

    The first tries are optimistic, after a little jitter. A decision that
    keeps losing (every boot claims one of a few hosts) then waits for its
    turn, and while one waits, new decisions queue behind it: within one
    process (``turns``), contended writers are served in turn instead of
    starving the unlucky one. Writers in other processes still race
    optimistically. ``conflicts`` counts this application's decisions taken
    again (the benchmark reads it).
    """

    def __init__(self, turns: Turns = PROCESS_TURNS, *, attempts: int = MAX_ATTEMPTS,
                 optimistic: int = OPTIMISTIC_ATTEMPTS) -> None:
        self.turns = turns
        self.attempts = attempts
        self.optimistic = optimistic
        self._count = threading.Lock()
        self.conflicts = 0

    def run(self, attempt: Callable[[], T]) -> T:
        """``attempt()``, again after each version conflict; ``Conflict``
        (409) once every attempt conflicted."""
        for n in range(self.attempts):
            try:
                if n < self.optimistic and not self.turns.waiting:
                    return attempt()
                with self.turns.turn():
                    return attempt()
            except IntegrityError:
                with self._count:
                    self.conflicts += 1
                if n < self.optimistic:
                    time.sleep(random.uniform(0, 0.002 * (2**n)))
        raise Conflict("The request conflicted with concurrent changes; please retry.")


def _state(aggregate: Aggregate[S]) -> S:
    return aggregate.state


def nothing(_: Aggregate[Any]) -> None:
    """The answer to a host's report: only the position written matters."""
    return None


class NimbusApplication(Application[uuid.UUID]):
    """The event store of every aggregate: load, execute, commit."""

    name = "nimbus"

    def __init__(self, database_url: str, clock: Clock = now, *,
                 bounds: SessionBounds | None = None, retries: Retries | None = None) -> None:
        super().__init__(env=postgres_env(database_url, bounds))
        self.clock = clock
        self.retries = retries or Retries()

    def construct_mapper(self) -> Mapper[uuid.UUID]:
        return MsgspecMapper()

    def load(self, aggregate_id: uuid.UUID) -> Aggregate[Any] | None:
        """The aggregate as stored now, of whatever kind, or None if it has no events."""
        try:
            aggregate: Aggregate[Any] = self.repository.get(aggregate_id, projector_func=_fold)
        except AggregateNotFoundError:
            return None
        except STORE_ERRORS as error:
            raise unavailable(error) from error
        return aggregate

    def find(self, kind: Kind[S], aggregate_id: uuid.UUID) -> Aggregate[S] | None:
        """The aggregate of ``kind`` stored at ``aggregate_id``; None if there is none."""
        found = self.load(aggregate_id)
        return found if found is not None and found.kind is kind else None

    @overload
    def load_or_new(self, aggregate_id: uuid.UUID, kind: Kind[S]) -> Aggregate[S]: ...
    @overload
    def load_or_new(self, aggregate_id: uuid.UUID, kind: str) -> Aggregate[Any]: ...

    def load_or_new(self, aggregate_id: uuid.UUID, kind: Kind[S] | str) -> Aggregate[Any]:
        """The aggregate of ``kind`` as stored, or a new empty one."""
        of = KINDS[kind] if isinstance(kind, str) else kind
        return self.find(of, aggregate_id) or Aggregate(aggregate_id, of)

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

    @overload
    def execute(self, request_id: str | None, load: Callable[[], Aggregate[S]],
                decide: Callable[[Aggregate[S], datetime], Iterable[Change]]) -> Written[S]: ...
    @overload
    def execute(self, request_id: str | None, load: Callable[[], Aggregate[S]],
                decide: Callable[[Aggregate[S], datetime], Iterable[Change]], *,
                answer: Callable[[Aggregate[S]], R]) -> Written[R]: ...

    def execute(self, request_id: str | None, load: Callable[[], Aggregate[S]],
                decide: Callable[[Aggregate[S], datetime], Iterable[Change]], *,
                answer: Callable[[Aggregate[S]], Any] = _state) -> Written[Any]:
        """Write a request (see the module docstring): ``load`` its main
        aggregate; a ``request_id`` already in its history is answered as
        before; else ``decide`` (given the time) and commit what it decided,
        deciding again after a version conflict. The answer is ``answer(main)``
        (by default its state) and the log position written."""

        def attempt() -> Written[Any]:
            main = load()
            if request_id is not None and request_id in main.requests:
                return Written(state=answer(main), position=None, request_id=request_id)
            changed = recorded(decide(main, self.clock()))
            position = None
            if changed:
                position = self.commit(*changed,
                                       *idempotency_keys.first_use(self, request_id))
            return Written(state=answer(main), position=position, request_id=request_id or "")

        return self.retries.run(attempt)

    def commit(self, *aggregates: Aggregate[Any]) -> int | None:
        """Append the aggregates' new events in one transaction; return the
        log position of the last one. A version conflict raises IntegrityError;
        a store that does not answer in time, StoreUnavailable."""
        try:
            recordings = self.save(*aggregates)
        except STORE_ERRORS as error:
            raise unavailable(error) from error
        return recordings[-1].notification.id if recordings else None
