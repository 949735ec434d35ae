"""Applies the SQL in this folder: the event store, then every view.

``events/*.sql`` run in the public schema once each. ``views/*.sql`` build
the read side; they name no schema, so the runner can apply them to the live
``views`` schema and replay can apply them to a fresh one. Applied files are
recorded in ``schema_migrations``; an advisory lock serialises concurrent
upgrades. Views found dropped are made again, empty (the projector then
rebuilds them from the log): a start after the views were lost is a rebuild.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql

HERE = Path(__file__).parent
VIEWS_SCHEMA = "views"
_LOCK_KEY = 0x6E696D62  # "nimb"


def _files(kind: str) -> list[Path]:
    return sorted((HERE / kind).glob("*.sql"))


def upgrade(url: str) -> list[str]:
    """Apply what is not applied yet; return the names applied now."""
    applied: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r[0] for r in conn.execute("SELECT name FROM schema_migrations")}
            if not _views_exist(conn):
                # the views were dropped (a disaster, an operator): they are made
                # again, empty, and the projector rebuilds them from the log
                conn.execute("DELETE FROM schema_migrations WHERE name LIKE 'views/%'")
                done = {name for name in done if not name.startswith("views/")}
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(VIEWS_SCHEMA)))
            conn.execute(
                sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(VIEWS_SCHEMA))
            )
            for kind, schema in (("events", "public"), ("views", VIEWS_SCHEMA)):
                for path in _files(kind):
                    name = f"{kind}/{path.name}"
                    if name in done:
                        continue
                    with conn.transaction():
                        _apply(conn, path, schema)
                        conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (name,))
                    applied.append(name)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied


def _views_exist(conn: psycopg.Connection[object]) -> bool:
    """Whether the live views are there (their projector's tracking table is)."""
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL",
                       (f"{VIEWS_SCHEMA}.tracking",)).fetchone()
    return row == (True,)


def create_views(conn: psycopg.Connection[object], schema: str) -> None:
    """Create ``schema`` afresh with every view table in it (for replay)."""
    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    for path in _files("views"):
        _apply(conn, path, schema)


def _apply(conn: psycopg.Connection[object], path: Path, schema: str) -> None:
    conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
    conn.execute(path.read_text())  # a trusted file of ours
    conn.execute("SET LOCAL search_path TO DEFAULT")
