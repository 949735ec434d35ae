"""Keeps the views up to date with the log, exactly once, each view on its own.

Each batch is one transaction: lock the tracking row, read the entries after
its position, apply them, move the position. A crash anywhere rolls the
whole batch back, so a restart resumes where the last commit left off and no
event is applied twice or skipped. The lock also makes a second projector
(or a replay) wait its turn instead of racing.

Each view applies its part of the batch in a savepoint of its own, so one
view that cannot apply an event does not hold the others back. Which errors
say "this event cannot be applied" and which say "this attempt failed" is
decided by the exception's class (``cannot_apply``):

* the event's fault: ``psycopg.DataError`` (SQLSTATE class 22: a NUL in a
  text field, an integer out of range, invalid JSON), ``psycopg.IntegrityError``
  (class 23: a constraint refuses the row), ``ProgramLimitExceeded`` (54000:
  a value too big for its index), and any exception that is not a database
  error (the view's own code failed on that entry, or the entry cannot be
  decoded). The view's part is then applied entry by entry to keep
  what precedes the first entry it cannot apply, and the view is recorded
  stuck at that entry (projections/faults.py), in the same transaction as
  the position. Later batches skip it: no retry, one error in the log, until
  the cause is fixed and a replay rebuilds the views.
* the attempt's fault: every other ``psycopg.Error`` (OperationalError: the
  connection is lost, a lock or statement timeout, a deadlock; Programming or
  InternalError: e.g. a replay swapped the schema under a waiting batch). The
  whole batch rolls back and ``run`` tries it again, waiting longer each time.

A batch's transaction commits without waiting for its WAL to reach the
disk (``synchronous_commit`` off for that transaction alone; the event store
keeps it on). The views are derived from the durable log, and the position
commits in the same transaction as the rows it covers, so a server crash
can only take back the last few batches together with their position: the
projector applies them again on restart, exactly once, and queries wait for
the log head meanwhile. What the wait saves is one flush per batch on the
way from a command to its visible result.

Each view applies its part in pipeline mode: its statements are sent
without waiting for one answer before the next, so a batch costs a few
round trips, not one per event. A replay's rebuild applies far larger
batches without it: its views then write their rows with COPY
(projections/upsert.py), the same rows by a cheaper way.

Since the shared position moves with the healthy views, a stuck view's rows
are those as of the position it is stuck at, while read-your-writes keeps
working for the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from contextlib import nullcontext
from typing import Any, NamedTuple

import psycopg
from psycopg import sql

from domain import registry
from domain.base import Event
from domain.registry import Kind
from migrations.runner import VIEWS_SCHEMA
from projections import (
    catalog,
    faults,
    host_aggregates,
    hosts,
    identity,
    instances,
    network_security,
    networks,
    qos_specs,
    quotas,
    server_groups,
    volume_types,
    volumes,
)
from projections.faults import ViewFault
from projections.log import CHANNEL, LogEntry, read_after

log = logging.getLogger(__name__)

BATCH = 1000
REBUILD_BATCH = 20_000  # a replay's rebuild holds nothing until its swap: fewer, larger batches
NAME = "views"  # the tracking row: every view that is not stuck moves with it
RETRY_FIRST, RETRY_LAST = 0.5, 30.0  # seconds between attempts at a failed batch


class Projection(NamedTuple):
    """A view: its name, the events it reads and how it applies a batch of them."""

    name: str
    events: tuple[type[Event], ...]
    apply: Callable[[psycopg.Connection[Any], list[Any]], None]


def reads(*kinds: Kind[Any]) -> tuple[type[Event], ...]:
    """The events of these aggregate kinds (domain/registry.py)."""
    return tuple(cls for kind in kinds for cls in kind.events)


PROJECTIONS: tuple[Projection, ...] = (
    Projection("instances", reads(registry.INSTANCE), instances.apply),
    Projection("identity", reads(registry.DOMAIN, registry.PROJECT, registry.USER,
                                      registry.TOKEN, registry.ROLE, registry.GROUP,
                                      registry.CATALOG_ENTRY, registry.CREDENTIAL,
                                      registry.APP_CREDENTIAL),
               identity.apply),
    Projection("flavors", reads(registry.FLAVOR), catalog.apply_flavors),
    Projection("images", reads(registry.IMAGE), catalog.apply_images),
    Projection("keypairs", reads(registry.KEYPAIR), catalog.apply_keypairs),
    Projection("quotas", reads(registry.QUOTA), quotas.apply),
    Projection("hosts", reads(registry.HOST), hosts.apply),
    Projection("host_aggregates", reads(registry.HOST_AGGREGATE), host_aggregates.apply),
    Projection("server_groups", reads(registry.SERVER_GROUP), server_groups.apply),
    Projection("volumes", reads(registry.VOLUME), volumes.apply_volumes),
    Projection("snapshots", reads(registry.SNAPSHOT), volumes.apply_snapshots),
    Projection("backups", reads(registry.BACKUP), volumes.apply_backups),
    Projection("volume_types", reads(registry.VOLUME_TYPE), volume_types.apply),
    Projection("qos_specs", reads(registry.QOS_SPECS), qos_specs.apply),
    Projection("networks", reads(registry.NETWORK), networks.apply_networks),
    Projection("ports", reads(registry.PORT), networks.apply_ports),
    Projection("routers", reads(registry.ROUTER), networks.apply_routers),
    Projection("floating_ips", reads(registry.FLOATING_IP), network_security.apply_floating_ips),
    Projection("security_groups", reads(registry.SECURITY_GROUP),
               network_security.apply_security_groups),
)

def cannot_apply(exc: Exception) -> bool:
    """True when ``exc`` is the entry's fault (stop the view), False when it
    is the attempt's (roll back and retry); see the module's docstring."""
    return (isinstance(exc, psycopg.DataError | psycopg.IntegrityError
                       | psycopg.errors.ProgramLimitExceeded)
            or not isinstance(exc, psycopg.Error))


def _decode(entry: LogEntry) -> Event | Exception:
    try:
        return entry.decode()
    except Exception as exc:  # an unknown topic or a malformed event
        return exc


def _fault(projection: Projection, entry: LogEntry, exc: Exception) -> ViewFault:
    return ViewFault(view=projection.name, position=entry.position,
                     event_type=entry.event_type, aggregate_id=entry.aggregate_id,
                     error=faults.reason(exc))


def _applied(conn: psycopg.Connection[Any], projection: Projection,
             mine: list[tuple[LogEntry, Event]], pipeline: bool) -> ViewFault | None:
    """Apply the view's entries in one savepoint; if one cannot be applied,
    apply them one by one up to it and say which it is."""
    if not mine:
        return None
    try:
        with conn.transaction(), conn.pipeline() if pipeline else nullcontext():
            projection.apply(conn, mine)
        return None
    except Exception as exc:
        if not cannot_apply(exc):
            raise
    for item in mine:
        try:
            with conn.transaction(), conn.pipeline() if pipeline else nullcontext():
                projection.apply(conn, [item])
        except Exception as exc:
            if not cannot_apply(exc):
                raise
            return _fault(projection, item[0], exc)
    return None  # applied one by one after all


def apply(conn: psycopg.Connection[Any], entries: list[LogEntry],
          stuck: Collection[str] = (), pipeline: bool = True) -> list[ViewFault]:
    """Hand every view but the ``stuck`` ones the entries it reads; record and
    return the views that meet an entry they cannot apply. ``pipeline``: each
    view sends its statements in pipeline mode (see the module's docstring)."""
    mine: dict[str, list[tuple[LogEntry, Event]]] = {p.name: [] for p in PROJECTIONS}
    readers: dict[type[Event], list[list[tuple[LogEntry, Event]]]] = {}  # by event class
    broken: tuple[LogEntry, Exception] | None = None
    for entry in entries:
        event = _decode(entry)
        if isinstance(event, Exception):  # no view can tell whether it is theirs: all stop
            broken = (entry, event)
            break
        kind = type(event)
        if kind not in readers:
            readers[kind] = [mine[p.name] for p in PROJECTIONS if issubclass(kind, p.events)]
        for items in readers[kind]:
            items.append((entry, event))
    found: list[ViewFault] = []
    for projection in PROJECTIONS:
        if projection.name in stuck:
            continue
        fault = _applied(conn, projection, mine[projection.name], pipeline)
        if fault is None and broken is not None:
            fault = _fault(projection, *broken)
        if fault is not None:
            faults.record(conn, fault)
            found.append(fault)
    return found


# The batch's settings, for its transaction alone (see the module's docstring).
_SETTINGS = ("SELECT set_config('search_path', %s, true),"
             " set_config('synchronous_commit', 'off', true)")
# The tracking row, made if missing and locked (as FOR UPDATE would) in one statement.
_LOCK_POSITION = ("INSERT INTO tracking (projection, position) VALUES (%s, 0)"
                  " ON CONFLICT (projection) DO UPDATE SET position = tracking.position"
                  " RETURNING position")


def catch_up(
    conn: psycopg.Connection[Any], schema: str = VIEWS_SCHEMA, upto: int | None = None,
    batch: int = BATCH, pipeline: bool = True,
) -> int:
    """Apply one batch of up to ``batch`` entries in its own transaction;
    return how many entries were read. ``pipeline=False`` for a replay's
    rebuild: its batches are large enough that the views write with COPY
    (projections/upsert.py), which pipeline mode does not allow."""
    found: list[ViewFault] = []
    with conn.transaction():
        conn.execute(_SETTINGS, (sql.Identifier(schema).as_string(conn),), prepare=True)
        row = conn.execute(_LOCK_POSITION, (NAME,), prepare=True).fetchone()
        assert row is not None
        position = int(row[0])
        limit = batch if upto is None else max(0, min(batch, upto - position))
        entries = read_after(conn, position, limit) if limit else []
        if entries:
            stuck = {f.view for f in faults.stuck(conn, schema)}
            found = apply(conn, entries, stuck, pipeline)
            conn.execute(
                "UPDATE tracking SET position = %s WHERE projection = %s",
                (entries[-1].position, NAME),
            )
    for fault in found:  # once: the view is skipped from now on
        if schema == VIEWS_SCHEMA:
            log.error("%s; the view stops there while the others go on, until the cause is"
                      " fixed and `nimbus replay` rebuilds the views", fault.describe())
        else:  # a replay's rebuild: the replay fails, naming it
            log.info("%s (in schema %s)", fault.describe(), schema)
    return len(entries)


def _follow(conn: psycopg.Connection[Any], listener: psycopg.Connection[Any],
            stop: threading.Event) -> None:
    """Apply batches as the log grows, until ``stop``; raise OperationalError
    once either connection is lost for good."""
    delay = RETRY_FIRST
    while not stop.is_set():
        try:
            if catch_up(conn) == BATCH:
                continue
            delay = RETRY_FIRST
        except psycopg.Error as exc:
            if conn.broken or conn.closed:
                raise psycopg.OperationalError(f"the connection is lost: {exc}") from exc
            # The attempt failed, not an event (see cannot_apply), e.g. a
            # replay swapped the views under a waiting batch: the batch
            # rolled back, so try it again after a while.
            log.warning("projector batch rolled back, retrying in %.1f s: %s", delay, exc)
            stop.wait(delay)
            delay = min(delay * 2, RETRY_LAST)
            continue
        # Wake on the next insert, or look again after a short while.
        for _ in listener.notifies(timeout=0.5, stop_after=1):
            pass


APPLICATION_NAME = "nimbus-projector"  # how its sessions are told apart in pg_stat_activity


def run(database_url: str, stop: threading.Event) -> None:
    """Follow the log until ``stop`` is set (blocking; run it in a thread).

    A lost connection (the server restarted, the session was terminated) is
    opened again, waiting longer each time, instead of retrying a batch on a
    connection that can never answer again."""
    delay = RETRY_FIRST
    while not stop.is_set():
        try:
            with (
                psycopg.connect(database_url, autocommit=True,
                                application_name=APPLICATION_NAME) as listener,
                psycopg.connect(database_url, autocommit=True,
                                application_name=APPLICATION_NAME) as conn,
            ):
                listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
                delay = RETRY_FIRST
                _follow(conn, listener, stop)
        except psycopg.OperationalError as exc:
            log.warning("projector lost the database, connecting again in %.1f s: %s",
                        delay, exc)
            stop.wait(delay)
            delay = min(delay * 2, RETRY_LAST)
    log.info("projector stopped")
