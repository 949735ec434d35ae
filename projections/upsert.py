"""Many rows into a view's table in one statement.

``executemany`` sends one INSERT per row, and the driver's cost per row is
most of what a replay's rebuild spends. Here the rows go at once, in one of
two ways, to the same effect (the same ``INSERT ... ON CONFLICT`` over the
same rows):

* in pipeline mode (the live projector, a batch of a few statements sent
  without waiting): each column as one array parameter, in binary, which the
  database unnests into rows;
* otherwise (a replay's rebuild, batches of tens of thousands of entries):
  ``COPY`` in binary into a temporary table of the same columns, then one
  ``INSERT ... SELECT`` from it. The driver's ``COPY`` writes rows in C, where
  arrays are built in Python; ``COPY`` cannot run in pipeline mode. Rows the
  caller knows are not in the table (``fresh``) are copied straight into it,
  and so are the rows of a table without ``key`` (a conflicting row is left
  out) unless one of them conflicts.

Values are cast to the table's own column types, read from the catalog once
per table (every schema of views has the same tables: migrations/views), so
that a column whose values are all NULL still has a type. The rows must have
distinct keys (one row per key and batch), as ``ON CONFLICT DO UPDATE``
cannot change a row twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import pq, sql

_TYPES = ("SELECT attname, format_type(atttypid, atttypmod), atttypid FROM pg_attribute"
          " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped")


def pipelined(conn: psycopg.Connection[Any]) -> bool:
    return conn.pgconn.pipeline_status != pq.PipelineStatus.OFF


class Upsert:
    """Insert rows of ``columns`` into ``table``, updating those whose ``key``
    exists (with no ``key``: leaving out those that conflict)."""

    def __init__(self, table: str, columns: Sequence[str], key: str | None = "id") -> None:
        self.table = table
        self.columns = tuple(columns)
        self.key = key
        self._stage = f"_upsert_{table}"
        # composed once: composing costs more than sending
        self._unnest: str | None = None
        self._from_stage: str | None = None
        self._create_stage: str | None = None
        self._copy: str | None = None
        self._copy_stage: str | None = None
        self._oids: list[int] = []

    def _compose(self, conn: psycopg.Connection[Any]) -> None:
        found = {name: (kind, oid) for name, kind, oid in conn.execute(_TYPES, (self.table,))}
        self._oids = [found[c][1] for c in self.columns]
        conflict = sql.SQL("ON CONFLICT DO NOTHING") if self.key is None else sql.SQL(
            "ON CONFLICT ({key}) DO UPDATE SET {updates}").format(
            key=sql.Identifier(self.key),
            updates=sql.SQL(", ").join(
                sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c))
                for c in self.columns if c != self.key))
        table, stage = sql.Identifier(self.table), sql.Identifier(self._stage)
        columns = sql.SQL(", ").join(map(sql.Identifier, self.columns))
        self._unnest = sql.SQL("INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays})"
                               " {conflict}").format(
            table=table, columns=columns,
            arrays=sql.SQL(", ").join(
                sql.SQL("%b::{}[]").format(sql.SQL(found[c][0])) for c in self.columns),
            conflict=conflict).as_string(conn)
        self._from_stage = sql.SQL(
            "INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage} {conflict}").format(
            table=table, columns=columns, stage=stage, conflict=conflict).as_string(conn)
        self._create_stage = sql.SQL(
            "CREATE TEMPORARY TABLE IF NOT EXISTS {stage} AS SELECT {columns} FROM {table}"
            " WITH NO DATA").format(stage=stage, columns=columns, table=table).as_string(conn)
        self._copy = sql.SQL("COPY {table} ({columns}) FROM STDIN (FORMAT BINARY)").format(
            table=table, columns=columns).as_string(conn)
        self._copy_stage = sql.SQL("COPY {stage} ({columns}) FROM STDIN (FORMAT BINARY)").format(
            stage=stage, columns=columns).as_string(conn)

    def send(self, conn: psycopg.Connection[Any], rows: Sequence[Sequence[Any]],
             fresh: Sequence[Sequence[Any]] = ()) -> None:
        """Write ``rows`` and ``fresh`` (values in ``columns``' order) in the
        caller's transaction; the keys of ``fresh`` must not be in the table yet."""
        if not rows and not fresh:
            return
        if self._unnest is None:
            self._compose(conn)
        assert self._unnest and self._from_stage and self._create_stage
        assert self._copy and self._copy_stage
        if pipelined(conn):
            everything = [*rows, *fresh] if fresh else rows
            conn.execute(self._unnest,
                         [list(column) for column in zip(*everything, strict=True)])
            return
        with conn.cursor() as cur:
            if fresh:
                self._write(cur, self._copy, fresh)
            if rows and self.key is None and self._copied(conn, cur, rows):
                return
            if rows:
                cur.execute(self._create_stage)
                self._write(cur, self._copy_stage, rows)
                cur.execute(self._from_stage)
                cur.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(self._stage)))

    def _copied(self, conn: psycopg.Connection[Any], cur: psycopg.Cursor[Any],
                rows: Sequence[Sequence[Any]]) -> bool:
        """Rows that are left out when they conflict are most often all new:
        try them straight in, in a savepoint; False if one conflicts."""
        try:
            with conn.transaction():
                self._write(cur, str(self._copy), rows)
        except psycopg.errors.UniqueViolation:
            return False
        return True

    def _write(self, cur: psycopg.Cursor[Any], statement: str,
               rows: Sequence[Sequence[Any]]) -> None:
        with cur.copy(statement) as copy:
            copy.set_types(self._oids)
            for row in rows:
                copy.write_row(row)
