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
4. Record them, with the first use of the request's Idempotency-Key
   (``commands.idempotency``), and commit every changed aggregate in one
   transaction with optimistic concurrency (the store's primary key is
   aggregate id + version).
5. On a version conflict, all of it again (``Retries``: the application's
   policy, given to it, with its count of conflicts).

Group commit: requests that arrive together (commands/group_queue.py) are
decided in order, each on the state the earlier ones left
(commands/batch.py), and committed in ONE transaction: one lock of the log
and one flush for all of them. Each caller is answered with its own state
and position; a refusal fails only its own request. Requests on a hot
aggregate (a project's quota, a host) so take turns within the process
without racing. Across processes, optimistic concurrency stays the guard: a
batch whose append meets a version conflict is decided again, this time
holding the log's lock from before its loads, so it cannot lose again.

How to add a verb: a domain decision ``(state, fields…) -> event(s)`` in the
aggregate's ``domain/`` module (refusing in the API's words), then a service
method of a few lines, ``return self.app.execute(request_id, load, decide)``,
whose ``decide`` pairs each event with its aggregate. (A verb a hypervisor
host carries out is one ``Operation`` row in ``domain/instance.py`` and a
command naming the event it ``requests``; README.md lists every place.) How to add an
aggregate: its events, state, fold and decisions in one ``domain/`` module,
and its ``Kind`` in ``domain/registry.py`` (then ``load_or_new(id, KIND)``
gives an ``Aggregate[State]``, and the codec knows its events). The write
side needs nothing else; a view of it is the projector's
(projections/projector.py), and hosts' reports on it the ingester's
(commands/ingest.py).
"""

from __future__ import annotations

import contextvars
import random
import threading
import time
import uuid
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Generic, overload

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, Mapper, StoredEvent
from psycopg.conninfo import conninfo_to_dict
from typing_extensions import TypeVar

from commands import idempotency as idempotency_keys
from commands import write_counts
from commands.batch import Batch, Overlap
from commands.event_store import (
    STORE_ERRORS,
    Datastore,
    Recorder,
    SessionBounds,
    unavailable,
)
from commands.group_queue import GroupQueue
from commands.mapper import MsgspecMapper, Recorded
from domain.base import Event
from domain.clock import Clock
from domain.codec import topic_of
from domain.errors import Conflict
from domain.registry import KINDS, Kind

MAX_ATTEMPTS = 12
MAX_HOT = 64  # aggregates a batch fetches because recent batches loaded them

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
        self._inherited = 0  # pending events a fork took over (see ``fork``)

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

    def fork(self) -> Aggregate[S]:
        """A copy to decide on in a batch (commands/batch.py): it carries the
        events the batch recorded so far, and records its own after them."""
        copy = self.__deepcopy__({})
        copy._pending = list(self._pending)
        copy._inherited = len(self._pending)
        return copy

    @property
    def new_events(self) -> list[Recorded]:
        """The events recorded since it was made or forked."""
        return self._pending[self._inherited:]

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


class Retries:
    """How often a batch is decided again after a version conflict (another
    process wrote one of its aggregates first), after a little jitter: one
    application's policy. ``conflicts`` counts the batches decided again
    (the benchmark reads it)."""

    def __init__(self, *, attempts: int = MAX_ATTEMPTS) -> None:
        self.attempts = attempts
        self._count = threading.Lock()
        self.conflicts = 0

    def conflicted(self, attempt: int) -> None:
        """Count a conflict of the ``attempt``-th try, and wait a little before the next."""
        with self._count:
            self.conflicts += 1
        write_counts.conflicted()
        time.sleep(random.uniform(0, 0.002 * 2 ** min(attempt, 5)))


@dataclass(eq=False)
class _Request:
    """One call of ``execute``, waiting in the group queue for its answer."""

    request_id: str | None
    load: Callable[[], Aggregate[Any]]
    decide: Callable[[Aggregate[Any], datetime], Iterable[Change]]
    answer: Callable[[Aggregate[Any]], Any]
    context: contextvars.Context  # the caller's (its Idempotency-Key, commands.idempotency)
    touches: tuple[uuid.UUID, ...] = ()  # what it will load, fetched with the batch's
    written: Written[Any] | None = None
    error: BaseException | None = None


class _Round:
    """One try at a batch: the requests decided (with their answers and
    events) and those to decide in the next batch."""

    def __init__(self, app: NimbusApplication, requests: list[_Request]) -> None:
        self.app = app
        self.requests = requests
        self.decided: list[tuple[_Request, Written[Any], list[StoredEvent]]] = []
        self.again: list[_Request] = []

    def decide(self) -> list[StoredEvent]:
        """Decide every request afresh; the events to append, in order."""
        self.decided, self.again = [], []
        self.app._decide_batch(self.requests, self.decided, self.again)
        return [s for _, _, stored in self.decided for s in stored]


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
        self._local = threading.local()  # the batch this thread decides, if any
        super().__init__(env=postgres_env(database_url, bounds))
        self.clock = clock
        self.retries = retries or Retries()
        self._queue: GroupQueue[_Request] = GroupQueue(self._serve)
        # what recent batches loaded besides what their requests named, the most
        # recent last: fetched with each batch (a project's quota, the hosts, the
        # fleet), so a batch of one kind of request does not drop another's
        self._hot: dict[uuid.UUID, None] = {}

    def construct_mapper(self) -> Mapper[uuid.UUID]:
        return MsgspecMapper()

    def load(self, aggregate_id: uuid.UUID) -> Aggregate[Any] | None:
        """The aggregate as stored now, of whatever kind, or None if it has no
        events; while deciding a batch, as the batch's earlier requests left it."""
        batch: Batch | None = getattr(self._local, "batch", None)
        return batch.load(aggregate_id) if batch is not None else self._stored(aggregate_id)

    def _stored(self, aggregate_id: uuid.UUID) -> Aggregate[Any] | None:
        try:
            aggregate: Aggregate[Any] = self.repository.get(aggregate_id, projector_func=_fold)
        except AggregateNotFoundError:
            return None
        except STORE_ERRORS as error:
            raise unavailable(error) from error
        return aggregate

    def _stored_many(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Aggregate[Any] | None]:
        """The aggregates as stored now (None: no events), brought up to
        date from the cache with ONE query (``Recorder.select_after``)."""
        cache = self.repository.cache
        if cache is None:
            return {i: self._stored(i) for i in ids}
        found: dict[uuid.UUID, Aggregate[Any] | None] = {}
        for aggregate_id in ids:
            try:
                cached = cache.get(aggregate_id)
            except KeyError:
                cached = None
            # a copy: the cached one may be brought up to date meanwhile
            found[aggregate_id] = cached.__deepcopy__({}) if isinstance(cached, Aggregate) \
                else None
        try:
            stored = self._recorder.select_after(
                [(i, a.version if a is not None else 0) for i, a in found.items()])
        except STORE_ERRORS as error:
            raise unavailable(error) from error
        mapper = self.mapper
        assert isinstance(mapper, MsgspecMapper)
        for s in stored:
            event = mapper.to_domain_event(s)
            found[event.originator_id] = _fold(found[event.originator_id], [event])
        for aggregate_id, aggregate in found.items():
            if aggregate is not None:  # a state as of now: never a wrong one to hold
                cache.put(aggregate_id, aggregate)
        return {i: a.__deepcopy__({}) if a is not None else None for i, a in found.items()}

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
                decide: Callable[[Aggregate[S], datetime], Iterable[Change]], *,
                touches: Iterable[uuid.UUID] = ()) -> Written[S]: ...
    @overload
    def execute(self, request_id: str | None, load: Callable[[], Aggregate[S]],
                decide: Callable[[Aggregate[S], datetime], Iterable[Change]], *,
                answer: Callable[[Aggregate[S]], R],
                touches: Iterable[uuid.UUID] = ()) -> Written[R]: ...

    def execute(self, request_id: str | None, load: Callable[[], Aggregate[S]],
                decide: Callable[[Aggregate[S], datetime], Iterable[Change]], *,
                answer: Callable[[Aggregate[S]], Any] = _state,
                touches: Iterable[uuid.UUID] = ()) -> Written[Any]:
        """Write a request (see the module docstring): ``load`` its main
        aggregate; a ``request_id`` already in its history is answered as
        before; else ``decide`` (given the time) and commit what it decided,
        deciding again after a version conflict. The answer is ``answer(main)``
        (by default its state) and the log position written. ``touches``:
        aggregates it will load (its main one), fetched in the one query
        that brings its batch's aggregates up to date (commands/batch.py)."""

        request = _Request(request_id, load, decide, answer, contextvars.copy_context(),
                           tuple(touches))
        if getattr(self._local, "batch", None) is not None:
            # a decision running another: served at once, alone, committed on its own
            with self._datastore.not_holding():
                self._serve([request])
        else:
            self._queue.submit(request)
        if request.error is not None:
            write_counts.rejected(request_id, request.error)
            raise request.error
        assert request.written is not None
        write_counts.accepted(request_id)
        return request.written

    def _serve(self, requests: list[_Request]) -> None:
        """Decide a batch of requests in order and commit them in one
        transaction; each request gets its answer or its own error."""
        outer = getattr(self._local, "batch", None)
        try:
            with self._datastore.holding():  # one connection for all the batch's queries
                self._serve_until_saved(requests)
        except Exception as error:  # the store or a bug: every request not answered hears it
            for request in requests:
                if request.written is None and request.error is None:
                    request.error = error
        finally:
            self._local.batch = outer

    def _serve_until_saved(self, requests: list[_Request]) -> None:
        """The first try is optimistic; a batch that met a version conflict
        (another process wrote one of its aggregates first) is decided again
        holding the log's lock, so it cannot lose twice to the same race."""
        undecided = requests
        for attempt in range(self.retries.attempts):
            round_ = _Round(self, undecided)
            try:
                if attempt == 0:
                    stored = round_.decide()
                    positions = list(self.recorder.insert_events(stored) or []) \
                        if stored else []
                else:
                    positions = list(self._recorder.insert_decided(round_.decide))
            except IntegrityError:
                self.retries.conflicted(attempt)
                continue  # all of it again
            except STORE_ERRORS as error:
                for request in undecided:
                    request.written, request.error = None, unavailable(error)
                return
            end = 0
            for request, written, stored in round_.decided:
                end += len(stored)  # a request's position: its last event's
                request.written = replace(written, position=positions[end - 1]) \
                    if stored else written
            if not round_.again:
                return
            undecided = round_.again
        for request in undecided:
            request.error = Conflict("The request conflicted with concurrent changes; "
                                     "please retry.")

    def _decide_batch(self, requests: list[_Request],
                      decided: list[tuple[_Request, Written[Any], list[StoredEvent]]],
                      again: list[_Request]) -> None:
        """Decide ``requests`` in order on one batch's aggregates: each
        accepted one into ``decided``, one to decide in the next batch into
        ``again``; a refused one keeps its error."""
        batch = self._local.batch = Batch(self._stored, self._stored_many)
        named = {i for request in requests for i in request.touches}
        try:
            batch.prefetch(named | self._hot.keys())
            for request in requests:
                request.error = None
                try:
                    written, stored = request.context.run(self._decide, request, batch)
                except Overlap:
                    again.append(request)
                except Exception as error:  # its refusal, its alone
                    batch.discard()
                    request.error = error
                else:
                    decided.append((request, written, stored))
            # what it loaded beyond what its requests named: likely the next one's too
            for aggregate_id in batch.loaded - named:
                self._hot.pop(aggregate_id, None)
                self._hot[aggregate_id] = None
            for aggregate_id in list(self._hot)[:max(0, len(self._hot) - MAX_HOT)]:
                del self._hot[aggregate_id]
        finally:
            self._local.batch = None

    @property
    def _recorder(self) -> Recorder:
        assert isinstance(self.recorder, Recorder)
        return self.recorder

    @property
    def _datastore(self) -> Datastore:
        datastore = self._recorder.datastore
        assert isinstance(datastore, Datastore)
        return datastore

    def _decide(self, request: _Request,
                batch: Batch) -> tuple[Written[Any], list[StoredEvent]]:
        """One request of a batch (see the module docstring): its answer and
        the events it adds to the batch, encoded."""
        main = request.load()
        if request.request_id is not None and request.request_id in main.requests:
            batch.discard()
            return Written(state=request.answer(main), position=None,
                           request_id=request.request_id), []
        changed = recorded(request.decide(main, self.clock()))
        if changed:
            changed += idempotency_keys.first_use(self, request.request_id)
        written = Written(state=request.answer(main), position=None,
                          request_id=request.request_id or "")
        stored = [self.mapper.to_stored_event(r) for a in changed for r in a.new_events]
        batch.accept(changed)
        return written, stored

    def select_changes(self, position: int, held: list[uuid.UUID],
                       new: list[uuid.UUID]) -> tuple[int, list[Recorded]]:
        """The log's last position, the events after ``position`` of the
        ``held`` aggregates and every event of the ``new`` ones, in one query
        (commands/catalog_cache.py)."""
        try:
            last, stored = self._recorder.select_changes(position, held, new)
        except STORE_ERRORS as error:
            raise unavailable(error) from error
        mapper = self.mapper
        assert isinstance(mapper, MsgspecMapper)
        return last, [mapper.to_domain_event(s) for s in stored]

    @property
    def waiting(self) -> int:
        """How many requests wait to be decided in the next batch."""
        return self._queue.waiting

    def commit(self, *aggregates: Aggregate[Any]) -> int | None:
        """Append the aggregates' new events in one transaction; return the
        log position of the last one. A version conflict raises IntegrityError;
        a store that does not answer in time, StoreUnavailable."""
        try:
            recordings = self.save(*aggregates)
        except STORE_ERRORS as error:
            raise unavailable(error) from error
        return recordings[-1].notification.id if recordings else None
