"""Boot benchmark: how fast nimbus accepts boots, and how soon they show ACTIVE.

Why this exists: DESIGN.md §6 gives the raw cost of each part (INSERT+COMMIT,
an eventsourcing save, a JetStream publish); this measures the whole path a
user sees (``POST /servers`` through the API and the event store, then the
relay, NATS, a hypervisor worker, the outcome ingester and the projector until
the query API shows the server ACTIVE) and puts it next to the raw
INSERT+COMMIT rate of the same database server, measured in the same run, so
that figures from different machines can be compared as a ratio.

    .venv/bin/python -m bench.boot --servers 200 --clients 8 [--json]

It runs on a throwaway database (and its own NATS subject prefix) on the
PostgreSQL named by ``NIMBUS_BENCH_DATABASE_URL`` and the NATS named by
``NIMBUS_BENCH_NATS_URL`` (defaults: 127.0.0.1:5432 and :4222), or on embedded
servers when nothing answers there, and removes everything it made. Only
servers on 127.0.0.1 (or a Unix socket) are accepted. This is a measurement,
not a test: nothing here asserts on timings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import secrets
import shutil
import socket
import tempfile
import textwrap
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from bench.baseline import insert_commit_rate
from domain.messages import Subjects
from messaging import nats as bus
from migrations.runner import upgrade
from runtime import stack
from runtime.embedded import EmbeddedNats, EmbeddedPostgres, nats_answers, postgres_answers
from runtime.settings import load

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
HOSTS = ["compute1", "compute2"]
IMAGE = "cirros-0.6.2-x86_64-disk"
FLAVOR = "1"  # m1.tiny


@dataclass
class Boot:
    """One server's timings, in seconds from the start of its POST."""

    started: float
    post: float | None = None
    active: float | None = None
    accepted: bool = False  # answered 202
    failed: str | None = None


@dataclass
class Run:
    boots: list[Boot] = field(default_factory=list)
    posts_wall: float = 0.0  # first POST sent .. last POST answered
    boot_wall: float = 0.0  # first POST sent .. last server seen ACTIVE (or given up)
    polls: int = 0
    poll_seconds: float = 0.0  # summed duration of the list requests


# -- servers and the throwaway database ---------------------------------------------------


def _is_local(host: str | None) -> bool:
    return not host or host.startswith("/") or host in LOCAL_HOSTS


def _require_local(what: str, hosts: Sequence[str | None]) -> None:
    if not all(_is_local(h) for h in hosts):
        raise SystemExit(f"bench: {what} must be on 127.0.0.1 or a Unix socket, not {hosts}")


@contextlib.contextmanager
def servers(scratch: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
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


def _redacted(url: str) -> str:
    info = conninfo_to_dict(url)
    return make_conninfo("", **{k: str(v) for k, v in info.items() if k != "password"})


def _with_db(url: str, dbname: str) -> str:
    return make_conninfo(url, dbname=dbname)


def _admin_sql(url: str, statement: str, name: str) -> None:
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL(statement).format(sql.Identifier(name)))


# -- the stack and the clients ----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _auth_body(user: str, password: str, project: str) -> dict[str, Any]:
    return {"auth": {
        "identity": {"methods": ["password"], "password": {
            "user": {"name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}},
    }}


def _client(base_url: str, token: str | None = None) -> httpx.AsyncClient:
    headers = {"X-Auth-Token": token} if token else {}
    return httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30, trust_env=False)


async def run_stack(database_url: str, nats_url: str, state_dir: Path,
                    args: argparse.Namespace) -> Run:
    """Start the whole stack in this loop, boot the servers, stop it, delete its streams."""
    prefix = "bench" + uuid.uuid4().hex[:12]
    password = secrets.token_urlsafe(16)
    settings = load({
        "state_dir": str(state_dir), "api_port": _free_port(), "subject_prefix": prefix,
        "admin_password": password, "hosts": HOSTS,
    }, env={})
    stop = asyncio.Event()
    ready = asyncio.Event()
    task = asyncio.ensure_future(
        stack.serve(settings, database_url, nats_url, stop, on_ready=ready.set))
    try:
        waiter = asyncio.ensure_future(ready.wait())
        await asyncio.wait([task, waiter], timeout=30, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if task.done():
            task.result()  # raises what stopped the stack
        if not ready.is_set():
            raise RuntimeError("the stack did not become ready within 30 s")
        async with _client(settings.base_url) as http:
            r = await http.post("/identity/v3/auth/tokens",
                                json=_auth_body(settings.admin_user, password, "admin"))
            r.raise_for_status()
            token = r.headers["X-Subject-Token"]
        boots = asyncio.ensure_future(boot_all(settings.base_url, token, args))
        await asyncio.wait([boots, task], return_when=asyncio.FIRST_COMPLETED)
        if not boots.done():  # the stack stopped under us: say why
            boots.cancel()
            task.result()
            raise RuntimeError("the stack stopped before the boots finished (interrupted?)")
        return boots.result()
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 30)
        nc = await bus.connect(nats_url)
        try:
            await bus.delete_streams(nc.jetstream(), Subjects(prefix))
        finally:
            await nc.close()


async def boot_all(base_url: str, token: str, args: argparse.Namespace) -> Run:
    """POST ``args.servers`` boots from ``args.clients`` clients; poll until all are ACTIVE."""
    run = Run()
    pending: dict[str, Boot] = {}
    numbers = iter(range(args.servers))  # shared by the clients
    loop = asyncio.get_running_loop()
    first = loop.time()
    deadline = first + args.timeout

    async def client() -> None:
        async with _client(base_url, token) as http:
            for i in numbers:
                if loop.time() > deadline:
                    break
                boot = Boot(started=loop.time())
                run.boots.append(boot)
                body = {"server": {"name": f"bench-{i}", "imageRef": IMAGE, "flavorRef": FLAVOR}}
                try:
                    r = await http.post("/compute/v2.1/servers", json=body)
                except httpx.HTTPError as exc:
                    boot.failed = f"POST: {exc!r}"
                    continue
                boot.post = loop.time() - boot.started
                if r.status_code == 202:
                    boot.accepted = True
                    pending[r.json()["server"]["id"]] = boot
                else:
                    boot.failed = f"POST {r.status_code}: {r.text[:200]}"

    async def poll(posting: asyncio.Future[Any]) -> None:
        async with _client(base_url, token) as http:
            while not (posting.done() and not pending) and loop.time() < deadline:
                await asyncio.sleep(args.poll_interval)
                if not pending:
                    continue
                sent = loop.time()
                try:
                    r = await http.get("/compute/v2.1/servers/detail")
                except httpx.HTTPError:
                    continue
                seen = loop.time()
                run.polls += 1
                run.poll_seconds += seen - sent
                for server in r.json()["servers"] if r.status_code == 200 else []:
                    boot = pending.get(server["id"])
                    if boot is None or server["status"] not in ("ACTIVE", "ERROR"):
                        continue
                    del pending[server["id"]]
                    if server["status"] == "ACTIVE":
                        boot.active = seen - boot.started
                    else:
                        boot.failed = "went to ERROR"
        for boot in pending.values():
            boot.failed = f"not ACTIVE within --timeout {args.timeout:g} s"

    posting = asyncio.gather(*(client() for _ in range(args.clients)))
    poller = asyncio.ensure_future(poll(posting))
    try:
        await posting
        run.posts_wall = max((b.started + (b.post or 0.0) for b in run.boots),
                             default=first) - first
        await poller
    finally:
        posting.cancel()
        poller.cancel()
    run.boot_wall = loop.time() - first
    return run


# -- figures ---------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def figures(run: Run, raw: tuple[float, float], args: argparse.Namespace,
            where: dict[str, str]) -> dict[str, Any]:
    posts = [b.post for b in run.boots if b.accepted and b.post is not None]
    active = [b.active for b in run.boots if b.active is not None]
    accepted = len(posts)
    rate = accepted / run.posts_wall if run.posts_wall else 0.0
    raw_rate = sum(raw) / len(raw)

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000, 1)

    return {
        "servers": args.servers, "clients": args.clients, "hosts": len(HOSTS),
        "database": where["database"], "nats": where["nats"],
        "accepted": accepted, "active": len(active),
        "failed": dict(Counter(b.failed for b in run.boots if b.failed)),
        "commands_per_second": round(rate, 1),
        "posts_wall_s": round(run.posts_wall, 3),
        "post_ms": {"p50": ms(percentile(posts, 50)), "p99": ms(percentile(posts, 99))},
        "post_to_active_ms": {"p50": ms(percentile(active, 50)),
                              "p99": ms(percentile(active, 99))},
        "boot_wall_s": round(run.boot_wall, 3),
        "poll_interval_ms": round(args.poll_interval * 1000),
        "polls": run.polls,
        "poll_request_ms_mean": ms(run.poll_seconds / run.polls) if run.polls else None,
        "raw_insert_commit_rows": args.baseline_rows,
        "raw_insert_commit_per_second": round(raw_rate, 1),
        "raw_insert_commit_before_after": [round(r, 1) for r in raw],
        "ratio": round(rate / raw_rate, 3) if raw_rate else None,
    }


def text(f: dict[str, Any], total: float) -> str:
    def ms(value: float | None) -> str:
        return "       -   " if value is None else f"{value:8.1f} ms"

    before, after = f["raw_insert_commit_before_after"]
    ratio = "-" if f["ratio"] is None else f"{f['ratio']:8.3f}"
    lines: list[str | tuple[str, str]] = [
        f"nimbus boot benchmark: {f['servers']} servers, {f['clients']} clients, "
        f"{f['hosts']} hosts (libvirt test driver), whole stack in one process",
        ("database", f["database"]),
        ("nats", f["nats"]),
        ("accepted / ACTIVE", f"{f['accepted']} / {f['active']} of {f['servers']}"),
        ("commands accepted", f"{f['commands_per_second']:8.1f} /s  "
                              f"({f['accepted']} POSTs in {f['posts_wall_s']:.2f} s)"),
        ("POST latency", f"p50 {ms(f['post_ms']['p50'])}   p99 {ms(f['post_ms']['p99'])}"),
        ("POST -> ACTIVE visible", f"p50 {ms(f['post_to_active_ms']['p50'])}   "
                                   f"p99 {ms(f['post_to_active_ms']['p99'])}"),
        ("boot wall time",
         f"{f['boot_wall_s']:8.2f} s  (first POST -> last ACTIVE seen, or gave up)"),
        ("total wall time", f"{total:8.2f} s  (setup, baselines, boots, cleanup)"),
        ("raw INSERT+COMMIT", f"{f['raw_insert_commit_per_second']:8.1f} /s  "
                              f"(mean of {before:.0f} before and {after:.0f} after the boots)"),
        ("", f"{f['raw_insert_commit_rows']} rows of 300 B each time, one client, same server"),
        ("ratio", f"{ratio}    (commands accepted/s / raw INSERT+COMMIT/s)"),
    ]
    note = (f"visibility: one GET /compute/v2.1/servers/detail every {f['poll_interval_ms']} ms "
            f"while any boot was pending ({f['polls']} polls, mean "
            f"{f['poll_request_ms_mean']} ms each); a server's time is taken when the first "
            "response showing it ACTIVE arrived, so it is an upper bound, late by up to one "
            "interval plus one request")
    lines += textwrap.wrap(note, 96, subsequent_indent="  ")
    if f["failed"]:
        failed = "; ".join(f"{n} x {why}" for why, n in f["failed"].items())
        lines += textwrap.wrap(f"failures: {failed}", 96,
                               subsequent_indent="  ")
    width = max(len(line[0]) for line in lines if isinstance(line, tuple))
    return "\n".join(line if isinstance(line, str) else f"  {line[0]:<{width}}  {line[1]}"
                     for line in lines)


# -- main --------------------------------------------------------------------------------


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.boot", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=200, help="servers to boot (200)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients (8)")
    parser.add_argument("--poll-interval", type=float, default=0.1,
                        help="seconds between list polls (0.1)")
    parser.add_argument("--baseline-rows", type=int, default=2000,
                        help="rows for the raw INSERT+COMMIT baseline (2000)")
    parser.add_argument("--timeout", type=float, default=300,
                        help="seconds from the first POST after which no POST is sent "
                        "and no more waiting for ACTIVE is done (300)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.servers < 1 or args.clients < 1 or args.baseline_rows < 1:
        parser.error("--servers, --clients and --baseline-rows must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    began = time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="nimbus-bench-", dir="/tmp"))
    scratch.chmod(0o755)  # an embedded PostgreSQL runs as the postgres user under root
    try:
        with servers(scratch) as (server_url, nats_url, where):
            name = f"nimbus_bench_{uuid.uuid4().hex[:10]}"
            _admin_sql(server_url, "CREATE DATABASE {}", name)
            try:
                url = _with_db(server_url, name)
                raw_before = insert_commit_rate(url, args.baseline_rows)
                upgrade(url)
                run = asyncio.run(asyncio.wait_for(
                    run_stack(url, nats_url, scratch / "state", args), args.timeout + 120))
                raw_after = insert_commit_rate(url, args.baseline_rows)  # was the box steady?
            finally:
                _admin_sql(server_url, "DROP DATABASE IF EXISTS {} WITH (FORCE)", name)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    found = figures(run, (raw_before, raw_after), args, where)
    total = time.perf_counter() - began
    print(json.dumps({**found, "total_wall_s": round(total, 3)}, indent=2) if args.json
          else text(found, total))
    return 0 if found["active"] == args.servers else 1


if __name__ == "__main__":
    raise SystemExit(main())
