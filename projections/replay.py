"""Rebuilds every view from the log into fresh tables, compares, and swaps them in.

The rebuild runs into a new schema up to the live views' position, without
holding anything. Then, holding the live tracking table exclusively (the
projector waits), it catches up to the live position, compares each table's
row checksum with the live one, and renames the new schema into place, all
in one transaction. Queries never see a half-built view.
"""

from __future__ import annotations

from typing import Any

import msgspec
import psycopg
from psycopg import sql

from migrations.runner import VIEWS_SCHEMA, create_views
from projections.projector import NAME, catch_up

NEXT_SCHEMA = f"{VIEWS_SCHEMA}_next"
OLD_SCHEMA = f"{VIEWS_SCHEMA}_old"


class TableReport(msgspec.Struct, frozen=True):
    table: str
    rows: int
    old_checksum: str
    new_checksum: str

    @property
    def equal(self) -> bool:
        return self.old_checksum == self.new_checksum


class ReplayReport(msgspec.Struct, frozen=True):
    position: int
    tables: list[TableReport]

    @property
    def equal(self) -> bool:
        return all(t.equal for t in self.tables)


def _live_position(conn: psycopg.Connection[Any]) -> int:
    row = conn.execute(
        sql.SQL("SELECT position FROM {}.tracking WHERE projection = %s").format(
            sql.Identifier(VIEWS_SCHEMA)), (NAME,),
    ).fetchone()
    return int(row[0]) if row else 0


def _fill(conn: psycopg.Connection[Any], upto: int) -> None:
    while catch_up(conn, NEXT_SCHEMA, upto=upto):
        pass


def checksum(conn: psycopg.Connection[Any], schema: str, table: str) -> tuple[int, str]:
    """Row count and an order-independent digest of a table's contents."""
    row = conn.execute(
        sql.SQL(
            "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), ''))"
            " FROM {}.{} t"
        ).format(sql.Identifier(schema), sql.Identifier(table))
    ).fetchone()
    assert row is not None
    return int(row[0]), str(row[1])


def _tables(conn: psycopg.Connection[Any], schema: str) -> list[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s"
        " AND table_name <> 'tracking' ORDER BY table_name", (schema,),
    ).fetchall()
    return [str(r[0]) for r in rows]


def replay(database_url: str) -> ReplayReport:
    with psycopg.connect(database_url, autocommit=True) as conn:
        with conn.transaction():
            create_views(conn, NEXT_SCHEMA)
        _fill(conn, _live_position(conn))
        with conn.transaction():
            conn.execute(sql.SQL("LOCK TABLE {}.tracking IN ACCESS EXCLUSIVE MODE").format(
                sql.Identifier(VIEWS_SCHEMA)))
            position = _live_position(conn)
            _fill(conn, position)
            reports = []
            for table in _tables(conn, VIEWS_SCHEMA):
                rows, old = checksum(conn, VIEWS_SCHEMA, table)
                _, new = checksum(conn, NEXT_SCHEMA, table)
                reports.append(TableReport(table, rows, old, new))
            conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                sql.Identifier(VIEWS_SCHEMA), sql.Identifier(OLD_SCHEMA)))
            conn.execute(sql.SQL("ALTER SCHEMA {} RENAME TO {}").format(
                sql.Identifier(NEXT_SCHEMA), sql.Identifier(VIEWS_SCHEMA)))
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(OLD_SCHEMA)))
        return ReplayReport(position, reports)
