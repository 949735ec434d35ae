"""What every benchmark needs: local servers, a throwaway database measured
against its raw INSERT+COMMIT floor, and the whole stack running in this loop.

The database is created on the PostgreSQL named by ``NIMBUS_BENCH_DATABASE_URL``
and the stream uses the NATS named by ``NIMBUS_BENCH_NATS_URL`` (defaults:
127.0.0.1:5432 and :4222), or embedded servers when nothing answers there.
Only servers on 127.0.0.1 (or a Unix socket) are accepted, and everything a
run makes (database, streams, state folder) is removed afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import secrets
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from bench.baseline import insert_commit_rate
from commands.application import Retries
from migrations.runner import upgrade
from runtime.embedded import EmbeddedNats, EmbeddedPostgres, nats_answers, postgres_answers
from runtime.settings import Settings, load
from tests.support.stack import auth_body, free_port, serving

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
HOSTS = ["compute1", "compute2"]
IMAGE = "cirros-0.6.2-x86_64-disk"
FLAVOR = "1"  # m1.tiny
T = TypeVar("T")


# -- servers and the throwaway database ---------------------------------------------------


def _is_local(host: str | None) -> bool:
    return not host or host.startswith("/") or host in LOCAL_HOSTS


def _require_local(what: str, hosts: Sequence[str | None]) -> None:
    if not all(_is_local(h) for h in hosts):
        raise SystemExit(f"bench: {what} must be on 127.0.0.1 or a Unix socket, not {hosts}")


def _redacted(url: str) -> str:
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
            where["database"] = _redacted(db)
        else:
            where["database"] = f"embedded PostgreSQL (nothing answered at {_redacted(db)})"
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
    """Where a run happens: a migrated throwaway database, NATS, a state folder."""

    database_url: str
    nats_url: str
    state_dir: Path
    where: dict[str, str]  # what to print about the servers
    raw_rates: list[float]  # INSERT+COMMIT/s on this database, before and after the run


@contextlib.contextmanager
def place(baseline_rows: int) -> Iterator[Place]:
    """A throwaway place; the raw INSERT+COMMIT rate is measured on its database
    before the run and again after it (was the box steady?)."""
    scratch = Path(tempfile.mkdtemp(prefix="nimbus-bench-", dir="/tmp"))
    scratch.chmod(0o755)  # an embedded PostgreSQL runs as the postgres user under root
    try:
        with _servers(scratch) as (server_url, nats_url, where):
            name = f"nimbus_bench_{uuid.uuid4().hex[:10]}"
            _admin_sql(server_url, "CREATE DATABASE {}", name)
            try:
                url = make_conninfo(server_url, dbname=name)
                found = Place(url, nats_url, scratch / "state", where,
                              [insert_commit_rate(url, baseline_rows)])
                upgrade(url)
                yield found
                found.raw_rates.append(insert_commit_rate(url, baseline_rows))
            finally:
                _admin_sql(server_url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# -- the stack and its clients ----------------------------------------------------------


def client(base_url: str, token: str | None = None) -> httpx.AsyncClient:
    headers = {"X-Auth-Token": token} if token else {}
    return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30, trust_env=False)


async def token_for(base_url: str, user: str, password: str, project: str) -> str:
    async with client(base_url) as http:
        r = await http.post("/identity/v3/auth/tokens", json=auth_body(user, password, project))
        r.raise_for_status()
        return r.headers["X-Subject-Token"]


@dataclass
class Stack:
    settings: Settings
    admin_password: str
    task: asyncio.Future[None]
    retries: Retries  # the write side's, with its count of conflicts

    async def run(self, work: Awaitable[T]) -> T:
        """``work``'s result, or why the stack stopped under it."""
        job = asyncio.ensure_future(work)
        either: list[asyncio.Future[Any]] = [job, self.task]
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if not job.done():
            job.cancel()
            self.task.result()
            raise RuntimeError("the stack stopped before the work finished (interrupted?)")
        return job.result()


@contextlib.asynccontextmanager
async def running(at: Place, **settings_: Any) -> AsyncIterator[Stack]:
    """The whole stack (API, relay, projector, ingester, one hypervisor worker
    per host) in this loop, with ``settings_`` over the defaults; stopped, and
    its streams deleted, on the way out."""
    prefix = "bench" + uuid.uuid4().hex[:12]
    password = secrets.token_urlsafe(16)
    settings = load({
        "state_dir": str(at.state_dir), "api_port": free_port(), "subject_prefix": prefix,
        "admin_password": password, "hosts": HOSTS, **settings_,
    }, env={})
    retries = Retries()
    async with serving(settings, at.database_url, at.nats_url, retries=retries) as task:
        yield Stack(settings, password, task, retries)


# -- figures ---------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def baseline(rate: float, raw: Sequence[float], rows: int) -> dict[str, Any]:
    """The raw INSERT+COMMIT figures of a run, and ``rate``'s ratio to them."""
    raw_rate = sum(raw) / len(raw)
    return {
        "raw_insert_commit_rows": rows,
        "raw_insert_commit_per_second": round(raw_rate, 1),
        "raw_insert_commit_before_after": [round(r, 1) for r in raw],
        "ratio": round(rate / raw_rate, 3) if raw_rate else None,
    }


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def ms_text(value: float | None) -> str:
    return "       -   " if value is None else f"{value:8.1f} ms"


def table(lines: list[str | tuple[str, str]]) -> str:
    """Titled rows aligned on their titles; plain strings as they are."""
    width = max(len(line[0]) for line in lines if isinstance(line, tuple))
    return "\n".join(line if isinstance(line, str) else f"  {line[0]:<{width}}  {line[1]}"
                     for line in lines)
