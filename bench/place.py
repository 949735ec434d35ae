"""Where a benchmark run happens: local servers, a throwaway database, a
state folder, and NATS subject prefixes of its own, all removed afterwards.

The database is created on the PostgreSQL named by ``NIMBUS_BENCH_DATABASE_URL``
and the streams live on the NATS named by ``NIMBUS_BENCH_NATS_URL`` (defaults:
127.0.0.1:5432 and :4222), or on embedded servers when nothing answers there.
Only servers on 127.0.0.1 (or a Unix socket) are accepted: a benchmark that
creates and drops databases must never reach someone else's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from messaging import nats as bus
from messaging.subjects import Subjects
from migrations.runner import upgrade
from runtime.embedded import EmbeddedNats, EmbeddedPostgres, nats_answers, postgres_answers
from tests.support.processes import state_folder

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def _is_local(host: str | None) -> bool:
    return not host or host.startswith("/") or host in LOCAL_HOSTS


def _require_local(what: str, hosts: Sequence[str | None]) -> None:
    if not all(_is_local(h) for h in hosts):
        raise SystemExit(f"bench: {what} must be on 127.0.0.1 or a Unix socket, not {hosts}")


def redacted(url: str) -> str:
    info = conninfo_to_dict(url)
    return make_conninfo("", **{k: str(v) for k, v in info.items() if k != "password"})


@contextlib.contextmanager
def _servers(scratch: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """A maintenance database URL and a NATS URL: the configured ones, else embedded."""
    with contextlib.ExitStack() as stop:
        where: dict[str, str] = {}
        db = os.environ.get("NIMBUS_BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL
        _require_local("the database", str(conninfo_to_dict(db).get("host", "")).split(","))
        if postgres_answers(db):
            where["database"] = redacted(db)
        else:
            where["database"] = f"embedded PostgreSQL (nothing answered at {redacted(db)})"
            db = stop.enter_context(EmbeddedPostgres(scratch)).url_for("postgres")
        nats_url = os.environ.get("NIMBUS_BENCH_NATS_URL") or DEFAULT_NATS_URL
        _require_local("NATS", [urlsplit(u.strip()).hostname for u in nats_url.split(",")])
        if nats_answers(nats_url):
            where["nats"] = nats_url
        else:
            where["nats"] = f"embedded NATS (nothing answered at {nats_url})"
            nats_url = stop.enter_context(EmbeddedNats(scratch)).url
        yield db, nats_url, where


def _admin_sql(url: str, statement: str, name: str) -> None:
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL(statement).format(sql.Identifier(name)))


@dataclass
class Place:
    """A migrated throwaway database, NATS, a state folder, and the subject
    prefixes handed out so far (their streams are deleted at the end)."""

    database_url: str
    nats_url: str
    state_dir: Path
    where: dict[str, str]  # what to print about the servers
    prefixes: list[str] = field(default_factory=list)

    def new_prefix(self) -> str:
        prefix = "bench" + uuid.uuid4().hex[:10]
        self.prefixes.append(prefix)
        return prefix


async def _delete_streams(nats_url: str, prefixes: list[str]) -> None:
    nc = await bus.connect(nats_url)
    try:
        for prefix in prefixes:
            await bus.delete_streams(nc.jetstream(), Subjects(prefix))
    finally:
        await nc.close()


@contextlib.contextmanager
def place() -> Iterator[Place]:
    """A throwaway place; everything in it is removed on the way out (and
    nothing may be left running on its state folder)."""
    with state_folder("nimbus-bench-") as scratch, _servers(scratch) as (
            server_url, nats_url, where):
        name = f"nimbus_bench_{uuid.uuid4().hex[:10]}"
        _admin_sql(server_url, "CREATE DATABASE {}", name)
        found = Place(make_conninfo(server_url, dbname=name), nats_url, scratch / "state",
                      where)
        try:
            upgrade(found.database_url)
            yield found
        finally:
            try:
                asyncio.run(_delete_streams(nats_url, found.prefixes))
            finally:
                _admin_sql(server_url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", name)
