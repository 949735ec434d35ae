"""Many rows into a view's table in one statement: INSERT ... SELECT FROM unnest.

``executemany`` sends one INSERT per row, and the driver's cost per row is
most of what a replay's rebuild spends. Here each column goes as one array
parameter and the database unnests them into rows, inserting or updating
them all in one statement. The arrays are cast to the table's own column
types, read from the catalog once per table (every schema of views has the
same tables: migrations/views), so that a column whose values are all NULL
still has a type. The arrays go in binary: no text escaping of every value,
which costs the driver more than the rest of the row. The rows must have
distinct keys (one row per key and batch), as ``ON CONFLICT DO UPDATE``
cannot change a row twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg import sql

_TYPES = ("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute"
          " WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped")


class Upsert:
    """Insert rows of ``columns`` into ``table``, updating those whose ``key``
    exists (with no ``key``: leaving out those that conflict)."""

    def __init__(self, table: str, columns: Sequence[str], key: str | None = "id") -> None:
        self.table = table
        self.columns = tuple(columns)
        self.key = key
        self._statement: str | None = None  # composed once: composing costs more than sending

    def _compose(self, conn: psycopg.Connection[Any]) -> str:
        types = dict(conn.execute(_TYPES, (self.table,)).fetchall())
        conflict = sql.SQL("ON CONFLICT DO NOTHING") if self.key is None else sql.SQL(
            "ON CONFLICT ({key}) DO UPDATE SET {updates}").format(
            key=sql.Identifier(self.key),
            updates=sql.SQL(", ").join(
                sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(c))
                for c in self.columns if c != self.key))
        return sql.SQL("INSERT INTO {table} ({columns}) SELECT * FROM unnest({arrays}) {conflict}"
                       ).format(
            table=sql.Identifier(self.table),
            columns=sql.SQL(", ").join(map(sql.Identifier, self.columns)),
            arrays=sql.SQL(", ").join(
                sql.SQL("%b::{}[]").format(sql.SQL(types[c])) for c in self.columns),
            conflict=conflict).as_string(conn)

    def send(self, conn: psycopg.Connection[Any], rows: Sequence[Sequence[Any]]) -> None:
        """Write ``rows`` (values in ``columns``' order) in the caller's transaction."""
        if not rows:
            return
        if self._statement is None:
            self._statement = self._compose(conn)
        conn.execute(self._statement, [list(column) for column in zip(*rows, strict=True)])
