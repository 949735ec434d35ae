"""The event store's PostgreSQL sessions: bounded in time, never stuck mid-message.

Why this exists. eventsourcing's recorder appends in psycopg's pipeline mode,
and psycopg stops flushing a pipeline once its last command is queued: an
event larger than the socket takes at once (a few MB) leaves the tail of its
INSERT in libpq's buffer while psycopg waits for the answer. The server, still
reading that message (``ClientRead``), holds the event table's lock, every
later writer queues behind it, and no server-side timeout fires while the
server reads a message. So here:

* an append is ONE plain statement, flushed whole before its answer is
  awaited: ``nimbus_append`` (migrations/events) locks the log, notifies and
  inserts, and autocommit makes the statement its transaction, so the log's
  lock is held from the insert to its commit, never across a round trip to
  the client (``Recorder``);
* the aggregates a batch decides on are brought up to date in one query
  (``Recorder.select_after``), not one query each;
* every session carries ``SessionBounds``: how long it may wait for a lock,
  run a statement, sit idle inside a transaction, or wait for a connection.
  A writer that cannot get the lock in time fails, and an idle holder is cut
  off, so no transaction holds the log hostage;
* a batch of requests (commands/application.py) runs its queries on one
  connection it holds (``Datastore.holding``): one checkout from the pool,
  and one check of the connection, for all of them;
* a store that does not answer in time is ``StoreUnavailable`` (503, retry),
  at once: the library's retry loops (ten tries, each waiting for a pool
  connection) would keep a request, and a stopping process, waiting minutes
  for a database that is gone. A pooled connection not lent for a while is
  checked before it is lent again (``LendCheck``), so a restarted server does
  not fail the first requests after it.
"""

from __future__ import annotations

import inspect
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing import persistence
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from eventsourcing.utils import Environment, EnvType
from psycopg import AsyncConnection, Connection
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from domain.errors import DomainError

# the store's errors that mean "no answer in time", as eventsourcing raises them
STORE_ERRORS = (OperationalError, InterfaceError)


@dataclass(frozen=True)
class SessionBounds:
    """How long one database session may wait or hold, in whole seconds (0: no bound)."""

    lock_timeout: int = 5  # waiting for a lock (the event table's, a view's row)
    statement_timeout: int = 10  # one statement
    idle_in_transaction_timeout: int = 10  # idle inside a transaction: then cut off
    connect_timeout: int = 5  # opening a connection, or waiting for one from a pool

    def options(self) -> str:
        """The bounds as libpq ``options``: server settings for every session."""
        return (f"-c lock_timeout={self.lock_timeout * 1000}"
                f" -c statement_timeout={self.statement_timeout * 1000}"
                f" -c idle_in_transaction_session_timeout="
                f"{self.idle_in_transaction_timeout * 1000}")

    def conninfo(self, url: str) -> str:
        """``url`` with these bounds on every session opened with it."""
        given = str(conninfo_to_dict(url).get("options") or "")
        return make_conninfo(url, options=f"{given} {self.options()}".strip(),
                             connect_timeout=str(self.connect_timeout))

    def env(self) -> dict[str, str]:
        """The bounds as eventsourcing's settings (see ``Factory``)."""
        env = {
            "PERSISTENCE_MODULE": f"{__name__}:{Factory.__name__}",
            Factory.POSTGRES_OPTIONS: self.options(),
            # the library sets these two itself, so they must agree with the options
            Factory.POSTGRES_LOCK_TIMEOUT: str(self.lock_timeout),
            Factory.POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT:
                str(self.idle_in_transaction_timeout),
        }
        if self.connect_timeout:  # how long a pool lends waits; else the library's 30 s
            env[Factory.POSTGRES_CONNECT_TIMEOUT] = str(self.connect_timeout)
        return env


class StoreUnavailable(DomainError):
    """The event store did not answer in time; nothing was written, try again."""


def unavailable(error: BaseException) -> StoreUnavailable:
    """What a caller is told when the store did not answer."""
    cause = error.__cause__
    if isinstance(cause, pg_errors.LockNotAvailable):
        return StoreUnavailable("The event log is busy: its lock was not free in time. "
                                "Nothing was written; please retry.")
    if isinstance(cause, pg_errors.QueryCanceled):
        return StoreUnavailable("The database took too long to answer. "
                                "Nothing was written; please retry.")
    return StoreUnavailable("The database is not answering. Please retry later.")


# psycopg's errors as eventsourcing raises them (PostgresDatastore.get_connection)
_ERRORS: list[tuple[type[psycopg.Error], type[persistence.PersistenceError]]] = [
    (psycopg.InterfaceError, persistence.InterfaceError),
    (psycopg.OperationalError, persistence.OperationalError),
    (psycopg.DataError, persistence.DataError),
    (psycopg.IntegrityError, persistence.IntegrityError),
    (psycopg.InternalError, persistence.InternalError),
    (psycopg.ProgrammingError, persistence.ProgrammingError),
    (psycopg.NotSupportedError, persistence.NotSupportedError),
    (psycopg.DatabaseError, persistence.DatabaseError),
    (psycopg.Error, persistence.PersistenceError),
]


class LendCheck:
    """A pool's check of a connection it is about to lend: a ping, only when
    the connection has not been lent for ``idle_seconds``.

    A connection lent a moment ago is alive, and a ping on every lend was one
    more round trip per batch on the write side and per request on the query
    side: about one statement in fourteen of a boot's. One not lent for longer
    may have been ended by the server meanwhile (a restart, an idle cut-off):
    it is pinged, and the pool replaces it if it is dead. A server restarted
    within ``idle_seconds`` of a connection's last use fails that connection's
    next query once (503, retry); the pool then discards it.
    """

    def __init__(self, idle_seconds: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_seconds = idle_seconds
        self._clock = clock
        self._lent: weakref.WeakKeyDictionary[object, float] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()  # the write side's pool lends from many threads

    def due(self, conn: object) -> bool:
        """Whether ``conn`` needs a ping before this lend (and note the lend)."""
        now = self._clock()
        with self._lock:
            last = self._lent.get(conn)
            self._lent[conn] = now
        return last is None or now - last >= self.idle_seconds

    def __call__(self, conn: Connection[Any]) -> None:
        if self.due(conn):
            ConnectionPool.check_connection(conn)

    async def lending(self, conn: AsyncConnection[Any]) -> None:
        if self.due(conn):
            await AsyncConnectionPool.check_connection(conn)


class Datastore(PostgresDatastore):
    """eventsourcing's pool of sessions, where a thread may hold one
    connection for a while and have all its queries run on it."""

    _held: threading.local

    @classmethod
    def adopt(cls, datastore: PostgresDatastore) -> Datastore:
        """The library's datastore, made one of these (the factory builds it itself)."""
        datastore.__class__ = cls
        assert isinstance(datastore, Datastore)
        datastore._held = threading.local()
        # the library's pool checks every lend (POSTGRES_PRE_PING) or none
        datastore.pool._check = LendCheck()
        return datastore

    @contextmanager
    def get_connection(self) -> Iterator[Connection[DictRow]]:
        held: Connection[DictRow] | None = getattr(self._held, "connection", None)
        if held is None:
            with super().get_connection() as conn:
                yield conn
            return
        try:
            yield held
        except psycopg.Error as error:
            raised = next(ours for theirs, ours in _ERRORS if isinstance(error, theirs))
            raise raised(str(error)) from error

    @contextmanager
    def holding(self) -> Iterator[None]:
        """This thread's queries on one connection until the block ends."""
        if getattr(self._held, "connection", None) is not None:
            yield
            return
        with super().get_connection() as conn:
            self._held.connection = conn
            try:
                yield
            finally:
                self._held.connection = None

    @contextmanager
    def not_holding(self) -> Iterator[None]:
        """This thread's queries on connections of their own until the block ends."""
        held = getattr(self._held, "connection", None)
        self._held.connection = None
        try:
            yield
        finally:
            self._held.connection = held


class Recorder(PostgresApplicationRecorder):
    """eventsourcing's recorder, appending without pipeline mode and failing fast."""

    def insert_events(self, stored_events: Sequence[StoredEvent],
                      **kwargs: Any) -> Sequence[int] | None:
        """Append in one round trip: ``nimbus_append`` (migrations/events)
        takes the log's lock, notifies and inserts in one statement, which
        autocommit makes its own transaction; the events' log positions."""
        if not stored_events:
            return None
        statement = SQL("SELECT * FROM {schema}.nimbus_append(%s::{schema}.{type}[])").format(
            schema=Identifier(self.datastore.schema),
            type=Identifier(self.stored_event_type_name))
        events = [self.construct_pg_stored_event(s.originator_id, s.originator_version,
                                                 s.topic, s.state) for s in stored_events]
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            assert conn.autocommit  # the statement is the transaction
            curs.execute(statement, (events,), prepare=True)
            return [int(row["nimbus_append"]) for row in curs.fetchall()]

    def insert_decided(self, decide: Callable[[], Sequence[StoredEvent]]) -> Sequence[int]:
        """Take the log's lock first, then ``decide`` the events and append
        them, in one transaction: no other writer commits in between, so the
        events cannot meet a version conflict (for decisions that lost a race)."""
        with (self.datastore.get_connection() as conn, conn.transaction(),
              conn.cursor() as curs):
            self._lock_table(curs)
            stored_events = decide()
            if not stored_events:
                return []
            self._insert_stored_events(curs, stored_events)
            return self._fetch_ids_after_insert_events(curs, stored_events) or []

    def select_changes(self, position: int, held: Sequence[UUID],
                       new: Sequence[UUID]) -> tuple[int, list[StoredEvent]]:
        """In one query: the last position of the log, the events after
        ``position`` of the ``held`` aggregates, and every event of the
        ``new`` ones, in log order (the log is gap-free, so nothing committed
        before that last position is missing)."""
        statement = SQL(
            "SELECT (SELECT COALESCE(MAX(notification_id), 0) FROM {schema}.{table}), e.*"
            " FROM (SELECT 1) AS one LEFT JOIN LATERAL (SELECT * FROM {schema}.{table}"
            " WHERE (notification_id > %s AND originator_id = ANY(%s))"
            " OR originator_id = ANY(%s)) AS e ON true ORDER BY e.notification_id"
        ).format(schema=Identifier(self.datastore.schema),
                 table=Identifier(self.events_table_name))
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, (position, list(held), list(new)), prepare=True)
            rows = curs.fetchall()
        last = int(next(iter(rows[0].values()))) if rows else position
        return last, [StoredEvent(originator_id=row["originator_id"],
                                  originator_version=row["originator_version"],
                                  topic=row["topic"], state=bytes(row["state"]))
                      for row in rows if row["originator_id"] is not None]

    def select_after(self, versions: Sequence[tuple[UUID, int]]) -> list[StoredEvent]:
        """In one query: the events of each aggregate after the version
        given for it (0: all of them), in version order."""
        statement = SQL(
            "SELECT e.originator_id, e.originator_version, e.topic, e.state"
            " FROM unnest(%s::uuid[], %s::bigint[]) AS k(id, version)"
            " JOIN {schema}.{table} AS e"
            " ON e.originator_id = k.id AND e.originator_version > k.version"
            " ORDER BY e.originator_id, e.originator_version"
        ).format(schema=Identifier(self.datastore.schema),
                 table=Identifier(self.events_table_name))
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement, ([i for i, _ in versions], [v for _, v in versions]),
                         prepare=True)
            rows = curs.fetchall()
        return [StoredEvent(originator_id=row["originator_id"],
                            originator_version=row["originator_version"],
                            topic=row["topic"], state=bytes(row["state"])) for row in rows]

    # the library's query without its retry loop
    select_events = inspect.unwrap(PostgresApplicationRecorder.select_events)


class Factory(PostgresFactory):
    """eventsourcing's PostgreSQL persistence with ``Recorder``, ``Datastore``
    and the ``POSTGRES_OPTIONS`` (libpq options) on every pooled session."""

    POSTGRES_OPTIONS = "POSTGRES_OPTIONS"
    application_recorder_class = Recorder

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        self.datastore = Datastore.adopt(self.datastore)
        options = self.env.get(self.POSTGRES_OPTIONS)
        if options:
            kwargs = self.datastore.pool.kwargs
            assert isinstance(kwargs, dict)
            kwargs["options"] = options
