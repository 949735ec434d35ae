"""Rebuilds every view from the log into fresh tables, compares, and swaps them in.

The rebuild runs into a new schema up to the live views' position, without
holding anything. Then, holding the live tracking table exclusively (the
projector waits), it brings the rebuild and the live views to the log head,
compares each table's row checksum with the live one, and renames the new
schema into place, all in one transaction. Queries never see a half-built
view.

A rebuild that cannot reach the log head (a view in it met an event it
cannot apply: projections/faults.py) swaps nothing and raises
``ReplayFailed``: views that stop short of the log must never replace the
live ones as if they were whole. A rebuild that does reach it clears what
the live views had recorded as stuck (the swap reports those in ``cleared``).

``swap=False`` verifies instead (``nimbus replay --verify``): the same
rebuild and comparison at the same log position, then the rebuild is dropped
and the live views stay as they are. The report's ``checksum`` digests every
rebuilt view's checksum in table order, ``live_checksum`` the live ones'.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Iterable
from typing import Any

import msgspec
import psycopg
from psycopg import sql

from migrations.runner import VIEWS_SCHEMA, create_views
from projections import faults
from projections.faults import ViewFault
from projections.log import head
from projections.projector import NAME, REBUILD_BATCH, catch_up

NEXT_SCHEMA = f"{VIEWS_SCHEMA}_next"
OLD_SCHEMA = f"{VIEWS_SCHEMA}_old"
_NOT_VIEWS = ("tracking", "view_faults")  # the projector's own state, not compared


class TableReport(msgspec.Struct, frozen=True):
    table: str
    rows: int
    old_checksum: str
    new_checksum: str

    @property
    def equal(self) -> bool:
        return self.old_checksum == self.new_checksum


class ReplayReport(msgspec.Struct, frozen=True):
    position: int  # the log position the rebuilt (and the live) views reached
    tables: list[TableReport]
    cleared: list[ViewFault] = []  # the live views that were stuck (until this replay)
    swapped: bool = True  # False: verified only, the live views were kept

    @property
    def equal(self) -> bool:
        return all(t.equal for t in self.tables)

    @property
    def checksum(self) -> str:
        """One digest of every rebuilt view (its tables' checksums, in name order)."""
        return _digest((t.table, t.new_checksum) for t in self.tables)

    @property
    def live_checksum(self) -> str:
        """The same digest of the live views as they were at ``position``."""
        return _digest((t.table, t.old_checksum) for t in self.tables)

    @property
    def different(self) -> list[str]:
        return [t.table for t in self.tables if not t.equal]


def _digest(checksums: Iterable[tuple[str, str]]) -> str:
    return hashlib.md5("".join(f"{table} {checksum}\n" for table, checksum in checksums)
                       .encode(), usedforsecurity=False).hexdigest()


class ReplayFailed(Exception):
    """The rebuilt views cannot reach the log head, so nothing was swapped."""

    def __init__(self, position: int, stuck: list[ViewFault], reached: int | None = None
                 ) -> None:
        self.position = position  # where the rebuild was going
        self.faults = stuck
        self.reached = position if reached is None else reached
        why = [f.describe() for f in stuck] or [
            f"the rebuild stopped at log position {self.reached}"]
        super().__init__(
            f"replay cannot rebuild the views up to the log head (position {position}): "
            + "; ".join(why) + "; nothing was swapped")


def _position(conn: psycopg.Connection[Any], schema: str = VIEWS_SCHEMA) -> int:
    row = conn.execute(
        sql.SQL("SELECT position FROM {}.tracking WHERE projection = %s").format(
            sql.Identifier(schema)), (NAME,),
    ).fetchone()
    return int(row[0]) if row else 0


def _fill(conn: psycopg.Connection[Any], schema: str, upto: int) -> None:
    """Bring ``schema``'s views to ``upto``; raise ReplayFailed for the rebuild
    if a view in it is stuck, or it did not get there."""
    if schema != NEXT_SCHEMA:
        while catch_up(conn, schema, upto=upto):
            pass
        return
    while _rebuild_batch(conn, upto):
        pass
    reached = _position(conn, schema)
    if (stuck := faults.stuck(conn, schema)) or reached < upto:
        raise ReplayFailed(upto, stuck, reached)


def _rebuild_batch(conn: psycopg.Connection[Any], upto: int) -> int:
    """One of the rebuild's batches, with the cyclic garbage collector off.

    A batch's entries, events and folded rows (a few hundred thousand
    objects) all live until it ends, so the collector would walk them again
    and again for nothing: that cost as much as the fold itself. Reference
    counting still frees what the batch drops, and the collector runs again
    between batches."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return catch_up(conn, NEXT_SCHEMA, upto=upto, batch=REBUILD_BATCH, pipeline=False)
    finally:
        if collecting:
            gc.enable()


def checksum(conn: psycopg.Connection[Any], schema: str, table: str) -> tuple[int, str]:
    """Row count and an order-independent digest of a table's contents: the
    md5 of the sum of its rows' 64-bit hashes (``hash_record_extended``: rows
    of equal values hash equal). No sort, and no row turned into text, which
    cost most of a replay's comparison."""
    return _counted(conn.execute(_checksum(schema, table)))


def _checksum(schema: str, table: str) -> sql.Composed:
    return sql.SQL(
        "SELECT count(*), md5(coalesce(sum(hash_record_extended(t, 0))::text, ''))"
        " FROM {}.{} t"
    ).format(sql.Identifier(schema), sql.Identifier(table))


def _counted(cursor: psycopg.Cursor[Any]) -> tuple[int, str]:
    row = cursor.fetchone()
    assert row is not None
    return int(row[0]), str(row[1])


def _tables(conn: psycopg.Connection[Any], schema: str) -> list[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
        " AND NOT table_name = ANY(%s) ORDER BY table_name", (schema, list(_NOT_VIEWS)),
    ).fetchall()
    return [str(r[0]) for r in rows]


def _rebuild(conn: psycopg.Connection[Any], swap: bool) -> ReplayReport:
    with conn.transaction():
        # nothing to keep until the swap: a crash loses a rebuild, never a view
        conn.execute("SET LOCAL synchronous_commit TO off")
        create_views(conn, NEXT_SCHEMA)
    _fill(conn, NEXT_SCHEMA, _position(conn))
    with conn.transaction():
        conn.execute(sql.SQL("LOCK TABLE {}.tracking IN ACCESS EXCLUSIVE MODE").format(
            sql.Identifier(VIEWS_SCHEMA)))
        position = head(conn)
        _fill(conn, NEXT_SCHEMA, position)
        _fill(conn, VIEWS_SCHEMA, position)
        cleared = faults.stuck(conn, VIEWS_SCHEMA)
        with conn.pipeline():  # every table's checksums in one round trip
            sent = [(table, conn.execute(_checksum(VIEWS_SCHEMA, table)),
                     conn.execute(_checksum(NEXT_SCHEMA, table)))
                    for table in _tables(conn, VIEWS_SCHEMA)]
        reports = []
        for table, live, rebuilt in sent:
            rows, old = _counted(live)
            reports.append(TableReport(table, rows, old, _counted(rebuilt)[1]))
        if not swap:
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(NEXT_SCHEMA)))
            return ReplayReport(position, reports, cleared, swapped=False)
        conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
            sql.Identifier(VIEWS_SCHEMA), sql.Identifier(OLD_SCHEMA)))
        conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
            sql.Identifier(NEXT_SCHEMA), sql.Identifier(VIEWS_SCHEMA)))
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(OLD_SCHEMA)))
    return ReplayReport(position, reports, cleared)


def replay(database_url: str, *, swap: bool = True) -> ReplayReport:
    """Rebuild, compare and swap in every view; ReplayFailed if the rebuild
    cannot reach the log head (the live views are then left as they were).
    ``swap=False``: rebuild and compare only, keeping the live views."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        try:
            return _rebuild(conn, swap)
        except ReplayFailed:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                sql.Identifier(NEXT_SCHEMA)))
            raise
