"""``make bench``: the speed issue's goals table, measured in one run.

The stack runs as real processes (``nimbus up``; ``nimbus run relay``;
``nimbus replay``) on a throwaway database and subject prefix, and the load
comes from a separate process (bench/load.py) of HTTP clients that log in
with a password as an OpenStack client does. Every figure is put next to
its baseline measured in the same run (bench/baseline.py):

1. boots accepted/s from ``--clients`` clients ÷ one client's INSERT+COMMIT/s;
2. POST → ACTIVE visible, one client, nothing else running: p50 / p99;
3. POST → ACTIVE visible during the boots of row 1: p99;
4. ``nimbus replay`` events/s ÷ reading and decoding the same log;
5. ``nimbus run relay`` events/s, republishing the log to fresh streams, ÷
   nats-py ``publish_async`` of the same messages;
6. a metadata change's latency, p50, with the log grown to
   ``--growth-events`` (bench/growth.py) ÷ the same at 10k events.

Besides: each lifecycle step alone, POST latency under load, volume lives
next to a script doing the same directly (bench/volumes.py), how fast the
log was grown and the views caught up.

    .venv/bin/python -m bench [--servers 200] [--clients 8] [--json PATH]

Nothing here asserts on timings; the exit status is 1 only when the run
itself failed (a row not measured, or requests that failed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
from psycopg.conninfo import conninfo_to_dict

from bench import baseline, growth, network, reachable, volumes
from bench.place import Place, place
from bench.report import Row, as_json, empty_rows, percentile, rate_row, spread, text
from bench.stack import Stack, Stacks
from messaging.subjects import Subjects
from migrations.runner import VIEWS_SCHEMA
from projections.log import head
from projections.projector import NAME as VIEWS_TRACKING
from tests.support.polling import eventually_sync
from tests.support.stack import auth_body

BENCH_USER, BENCH_PROJECT = "bench", "bench"
SMALL_LOG = 10_000  # the log size row 6 compares with
WARMUP = 10  # commands sent, and not timed, before row 6 times any (a stack just started)
DEFAULT_JSON = Path("bench/results/latest.json")


# -- the load process ---------------------------------------------------------------------


def load(task: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run one task in a fresh load process (bench/load.py); its result."""
    done = subprocess.run([sys.executable, "-m", "bench.load"], input=json.dumps(task),
                          capture_output=True, text=True, timeout=timeout,
                          env={k: v for k, v in os.environ.items() if "proxy" not in k.lower()})
    if done.returncode != 0:
        raise RuntimeError(f"the load process failed ({task['mode']}): {done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def bench_user(stack: Stack) -> dict[str, str]:
    """A project and a member user of it, made through Keystone as an admin
    would; the load logs in as that user."""
    password = stack.admin_password + "-bench"
    with httpx.Client(base_url=f"{stack.base_url}/identity/v3", timeout=30,
                      trust_env=False) as http:
        r = http.post("/auth/tokens", json=auth_body("admin", stack.admin_password, "admin"))
        r.raise_for_status()
        http.headers["X-Auth-Token"] = r.headers["X-Subject-Token"]
        r = http.post("/projects", json={"project": {"name": BENCH_PROJECT}})
        r.raise_for_status()
        project = r.json()["project"]["id"]
        r = http.post("/users", json={"user": {"name": BENCH_USER, "password": password,
                                                "default_project_id": project}})
        r.raise_for_status()
        user = r.json()["user"]["id"]
        role = http.get("/roles", params={"name": "member"}).json()["roles"][0]["id"]
        http.put(f"/projects/{project}/users/{user}/roles/{role}").raise_for_status()
    return {"base_url": stack.base_url, "user": BENCH_USER, "password": password,
            "project": BENCH_PROJECT}


# -- the database's view of the run -------------------------------------------------------


def log_head(url: str) -> int:
    with psycopg.connect(url) as conn:
        return head(conn)


def log_events(url: str) -> int:
    with psycopg.connect(url) as conn:
        return growth.count(conn)


def views_position(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(f"SELECT position FROM {VIEWS_SCHEMA}.tracking WHERE projection = %s",
                           (VIEWS_TRACKING,)).fetchone()
        return int(row[0]) if row else 0


def set_relay_position(url: str, at: int) -> None:
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO relay_position (relay, position) VALUES ('relay', %s)"
                     " ON CONFLICT (relay) DO UPDATE SET position = EXCLUDED.position", (at,))


def settle(url: str) -> None:
    """A CHECKPOINT, so that the bulk load's dirty pages are not being flushed
    under the commands timed next (at both sizes alike); skipped without the
    privilege."""
    with contextlib.suppress(psycopg.errors.InsufficientPrivilege), psycopg.connect(
            url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def views_catch_up(url: str, timeout: float) -> dict[str, Any]:
    """Wait until the views include the whole log; how fast the projector got there."""
    start_at, start = views_position(url), time.perf_counter()
    target = log_head(url)
    with contextlib.suppress(AssertionError):
        eventually_sync(lambda: views_position(url) >= target, timeout=timeout, interval=0.1,
                        what="the views reaching the log head")
    seconds = time.perf_counter() - start
    reached = views_position(url)
    return {"events": reached - start_at, "seconds": round(seconds, 2),
            "events_per_second": round((reached - start_at) / seconds, 1) if seconds else None,
            "behind": max(0, target - reached)}


# -- the phases ---------------------------------------------------------------------------


@contextlib.contextmanager
def phase(name: str, notes: list[str]) -> Iterator[None]:
    print(f"bench: {name} ...", file=sys.stderr, flush=True)
    began = time.perf_counter()
    yield
    notes.append(f"{name}: {time.perf_counter() - began:.1f} s")


def boots(rows: dict[str, Row], user: dict[str, str], args: argparse.Namespace,
          at: Place, extras: list[tuple[str, str]]) -> list[str]:
    """Rows 1-3; the servers seen ACTIVE under load."""
    alone = load({**user, "mode": "unloaded", "boots": args.unloaded,
                  "poll_interval": args.poll_interval, "timeout": args.timeout,
                  "lifecycle": True}, args.timeout * (args.unloaded * 5 + 1))
    visible = alone["visible_s"]["boot"]
    row = rows["unloaded_visible"]
    if visible:
        row.measured, row.why_not = True, None
        row.figures.update(spread(visible), poll_interval_ms=args.poll_interval * 1000,
                           failures=alone["failures"])
        row.value, row.unit = row.figures["p50_ms"], "ms"
        row.met = row.figures["p50_ms"] < 15 and row.figures["p99_ms"] < 50
    else:
        row.not_measured(f"no boot became ACTIVE: {alone['failures']}")
    for op, seconds in alone["visible_s"].items():
        if op != "boot" and seconds:
            s, a = spread(seconds), spread(alone["answered_s"][op])
            extras.append((f"unloaded {op}: answered / visible p50",
                           f"{a['p50_ms']} ms / {s['p50_ms']} ms (n={s['n']})"))

    raw_before = baseline.insert_commit_rate(at.database_url, args.baseline_rows)
    loaded = load({**user, "mode": "saturating", "servers": args.servers,
                   "clients": args.clients, "watch_interval": args.watch_interval,
                   "timeout": args.timeout}, args.timeout + 120)
    raw_after = baseline.insert_commit_rate(at.database_url, args.baseline_rows)
    raw = (raw_before + raw_after) / 2
    wall = loaded["posts_wall_s"]
    accepted = loaded["accepted"]
    if accepted and wall > 0:
        rate_row(rows["boots_vs_insert"], accepted / wall, "/s", raw,
                 "INSERT+COMMIT (one client)", lambda r: r >= 0.7,
                 clients=args.clients, servers=args.servers, accepted=accepted,
                 posts_wall_s=round(wall, 3), post=spread(loaded["post_s"]),
                 raw_before_after=[round(raw_before, 1), round(raw_after, 1)],
                 failures=loaded["failures"])
    else:
        rows["boots_vs_insert"].not_measured(f"no boot accepted: {loaded['failures']}")
    row = rows["loaded_visible"]
    if loaded["visible_s"]:
        row.measured, row.why_not = True, None
        row.figures.update(spread(loaded["visible_s"]), watch_interval_ms=round(
            args.watch_interval * 1000), polls=loaded["polls"], clients=args.clients)
        row.value, row.unit = row.figures["p99_ms"], "ms"
        row.met = row.value is not None and row.value < 500
    else:
        row.not_measured(f"no boot seen ACTIVE: {loaded['failures']}")
    post = spread(loaded["post_s"])
    extras.append(("loaded POST latency p50 / p99", f"{post['p50_ms']} / {post['p99_ms']} ms"))
    servers: list[str] = loaded["servers"]
    return servers


def volume_figures(user: dict[str, str], args: argparse.Namespace,
                   extras: list[tuple[str, str]]) -> None:
    """Volume lives through the API next to the same file and tgt export done by a
    script (before and after, mean used); a figure of its own, not a goal row."""
    raws = [volumes.raw_rate(args.volumes)]
    found = load({**user, "mode": "volumes", "volumes": args.volumes, "clients": 4,
                  "poll_interval": 0.02, "timeout": args.timeout}, args.timeout * 4 + 120)
    raws.append(volumes.raw_rate(args.volumes))
    raw = sum(raws) / len(raws)
    done = len(found["visible_s"]["delete"])
    rate = done / found["wall_s"] if found["wall_s"] else 0.0
    extras.append(("volume lives (4 clients)",
                   f"{rate:.2f} /s vs {raw:.2f} /s file + tgt export by a script = "
                   f"{rate / raw:.3f}" + (f"; failures: {found['failures']}"
                                          if found["failures"] else "")))
    for step, seconds in found["visible_s"].items():
        s = spread(seconds)
        extras.append((f"volume {step} -> {volumes.SHOWS[step] or 'gone'} p50 / p99",
                       f"{s['p50_ms']} / {s['p99_ms']} ms (n={s['n']})"))


def network_figures(args: argparse.Namespace, extras: list[tuple[str, str]],
                    context: dict[str, Any]) -> None:
    """The network host's render and change times next to a direct script's."""
    why = network.available()
    if why is not None:
        extras.append(("network host", f"not measured: {why}"))
        return
    rows = network.measure([int(n) for n in args.network_ports.split(",")])
    extras.extend(network.lines(rows))
    context["network_host"] = rows
    if args.network_servers:
        reached = reachable.measure(args.network_servers, timeout=args.timeout)
        extras.append((f"time to reachable ({args.network_servers} servers, a group and"
                       " a floating IP each) p50 / p99",
                       f"{reached['p50_ms']} / {reached['p99_ms']} ms"))
        context["network_reachable"] = reached


def command_latency(user: dict[str, str], server: str, args: argparse.Namespace) -> dict[
        str, Any]:
    found = load({**user, "mode": "latency", "server": server, "count": args.latency_count,
                  "warmup": WARMUP}, args.timeout * args.latency_count + 60)
    return {**spread(found["answered_s"]), "failures": found["failures"],
            "p50_s": percentile(found["answered_s"], 50)}


def replay_row(row: Row, stacks: Stacks, at: Place) -> None:
    """Row 4, with the stack stopped: ``nimbus replay`` and the raw read of the same log."""
    events = log_events(at.database_url)
    done = subprocess.run([sys.executable, "-m", "bench.timed", "replay"],
                          env={**os.environ, **stacks.env,
                               "NIMBUS_STATE_DIR": str(at.state_dir)},
                          capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        row.not_measured(f"nimbus replay exited {done.returncode}: "
                         f"{(done.stdout + done.stderr).strip()[-500:]}")
        return
    seconds = float(done.stderr.rpartition("bench-seconds: ")[2].split()[0])
    raw, read = baseline.decoded_read_rate(at.database_url)
    rate_row(row, events / seconds, "events/s", raw, "read + decoded (domain.codec)",
             lambda r: r >= 0.5, events=events, replay_seconds=round(seconds, 3),
             raw_events=read)


async def _relay_timing(nats_url: str, prefix: str, events: int,
                        timeout: float) -> tuple[float, int] | None:
    """Seconds from the first relayed message seen to the last, and how many were
    there at the first look; None if the stream never filled in time."""
    from messaging import nats as bus

    nc = await bus.connect(nats_url)
    try:
        js = nc.jetstream()
        stream = Subjects(prefix).events_stream
        deadline = time.perf_counter() + timeout
        first: tuple[float, int] | None = None
        while time.perf_counter() < deadline:
            try:
                count = int((await js.stream_info(stream)).state.messages)
            except Exception:  # the relay has not made its stream yet
                count = 0
            now = time.perf_counter()
            if count and first is None:
                first = (now, count)
            if count >= events and first is not None:
                return now - first[0], first[1]
            await asyncio.sleep(0.01)
        return None
    finally:
        await nc.close()


def relay_row(row: Row, stacks: Stacks, at: Place) -> None:
    """Row 5, with the stack stopped: the relay republishes the whole log to a
    fresh prefix's streams; then publish_async of the same messages."""
    events, end = log_events(at.database_url), log_head(at.database_url)
    set_relay_position(at.database_url, 0)
    prefix = at.new_prefix()
    try:
        with stacks.run(["relay"], prefix):
            timing = asyncio.run(_relay_timing(at.nats_url, prefix, events, 600))
    finally:
        set_relay_position(at.database_url, end)
    if timing is None:
        row.not_measured("the relay did not publish the log within 600 s")
        return
    seconds, at_first = timing
    relayed = events - at_first
    if relayed <= 0 or seconds <= 0:
        row.not_measured(f"the relay published all {events} events before the first look;"
                         " grow the log")
        return
    messages = baseline.relay_messages(at.database_url, Subjects(at.new_prefix()), end)
    raw = asyncio.run(baseline.publish_async_rate(at.nats_url, at.prefixes[-1], messages))
    rate_row(row, relayed / seconds, "events/s", raw, "publish_async + acks (nats-py)",
             lambda r: r >= 0.5, events=events, timed_events=relayed,
             seconds=round(seconds, 3))


def grown(at: Place, pieces: list[growth.Piece], size: int, args: argparse.Namespace,
          extras: list[tuple[str, str]]) -> growth.Grown:
    made = growth.grow(at.database_url, pieces, size, args.growth_timeout)
    extras.append((f"log grown to {made.size:,} events",
                   f"{made.generated:,} copied in {made.seconds:.1f} s "
                   f"({made.per_second:,.0f} events/s)"
                   + (" - stopped by --growth-timeout" if made.timed_out else "")))
    return made


def caught_up(at: Place, args: argparse.Namespace, extras: list[tuple[str, str]]) -> None:
    """Wait for the views to catch up on a grown log, and say how fast they did."""
    caught = views_catch_up(at.database_url, args.growth_timeout)
    extras.append((f"views caught up on {caught['events']:,} events",
                   f"{caught['seconds']} s ({caught['events_per_second']} "
                   f"events/s, {caught['behind']} behind)"))
    settle(at.database_url)


def measure(args: argparse.Namespace) -> tuple[dict[str, Row], list[tuple[str, str]],
                                               dict[str, Any]]:
    rows = empty_rows()
    extras: list[tuple[str, str]] = []
    notes: list[str] = []
    context: dict[str, Any] = {}
    with place() as at:
        context.update(at.where, throwaway_database=str(
            conninfo_to_dict(at.database_url)["dbname"]))
        stacks = Stacks(at, args.servers + args.unloaded, args.api_processes)
        with stacks.up() as stack:
            user = bench_user(stack)
            with phase("boots", notes):
                servers = boots(rows, user, args, at, extras)
            if args.volumes:
                with phase("volumes", notes):
                    volume_figures(user, args, extras)
        if args.network_ports:
            with phase("network host", notes):
                network_figures(args, extras, context)
        if len(servers) < 2:
            for row_id in ("growth_latency",):
                rows[row_id].not_measured("fewer than two servers became ACTIVE under load")
        small = large = None
        with phase(f"log to {SMALL_LOG:,} events", notes):
            with psycopg.connect(at.database_url) as conn:
                pieces = growth.template(conn)  # the run's own tenants, copied at both sizes
            made = grown(at, pieces, SMALL_LOG, args, extras)
            with stacks.up():
                caught_up(at, args, extras)
                if len(servers) >= 2:
                    small = command_latency(user, servers[0], args) | {"log": made.size}
        with phase("relay", notes):
            relay_row(rows["relay_vs_publish"], stacks, at)
        if len(servers) >= 2:
            with phase(f"log to {args.growth_events:,} events", notes):
                made = grown(at, pieces, args.growth_events, args, extras)
                with stacks.up():
                    caught_up(at, args, extras)
                    large = command_latency(user, servers[1], args) | {"log": made.size}
        with phase("replay", notes):  # on the largest log: a rebuild is for long logs
            replay_row(rows["replay_vs_read"], stacks, at)
        if small and large and small["p50_s"] and large["p50_s"]:
            row = rows["growth_latency"]
            rate_row(row, large["p50_s"] * 1000, "ms", small["p50_s"] * 1000,
                     f"at {small['log']:,} events", lambda r: r <= 1.2,
                     command="POST /servers/{id}/metadata, p50", small=small, large=large)
            row.metric = (f"command latency at {large['log']:,} events ÷ at "
                          f"{small['log']:,} events")
    context["phases"] = notes
    return rows, extras, context


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, default=200,
                        help="servers booted under load, rows 1 and 3 (200)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (8)")
    parser.add_argument("--api-processes", type=int, default=1,
                        help="processes serving nimbus up's API (its api_processes, 1)")
    parser.add_argument("--unloaded", type=int, default=20,
                        help="servers booted by one client alone, row 2 (20)")
    parser.add_argument("--growth-events", type=int, default=1_000_000,
                        help="the large log of row 6 (1000000)")
    parser.add_argument("--growth-timeout", type=float, default=900,
                        help="seconds to grow the log, and again for the views to catch up "
                        "(900)")
    parser.add_argument("--volumes", type=int, default=20,
                        help="volume lives, a figure besides the goals; 0: none (20)")
    parser.add_argument("--network-ports", default="10,100,1000",
                        help="port counts the network host renders, next to ip -batch + "
                        "nft -f (bench/network.py); empty: none (10,100,1000)")
    parser.add_argument("--network-servers", type=int, default=10,
                        help="servers booted on a namespace network host, each with a group"
                        " and a floating IP, timed to reachable (bench/reachable.py; 10)")
    parser.add_argument("--latency-count", type=int, default=50,
                        help="commands timed at each log size, row 6 (50)")
    parser.add_argument("--poll-interval", type=float, default=0.002,
                        help="seconds between one client's GETs while it waits (0.002)")
    parser.add_argument("--watch-interval", type=float, default=0.05,
                        help="seconds between the watcher's lists under load (0.05)")
    parser.add_argument("--baseline-rows", type=int, default=2000,
                        help="rows of the raw INSERT+COMMIT baseline (2000)")
    parser.add_argument("--timeout", type=float, default=300,
                        help="seconds any one wait may take (300)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON,
                        help=f"where to write the figures ({DEFAULT_JSON})")
    args = parser.parse_args(argv)
    if min(args.servers, args.clients, args.unloaded, args.latency_count,
           args.baseline_rows) < 1:
        parser.error("counts must be positive")
    if args.growth_events <= SMALL_LOG:
        parser.error(f"--growth-events must be above {SMALL_LOG}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    began = time.perf_counter()
    rows, extras, context = measure(args)
    context.update(
        title=f"{args.servers} boots from {args.clients} clients in a separate process, "
              f"{args.unloaded} alone; log grown to {args.growth_events:,} events; "
              f"API in {args.api_processes} process{'es' if args.api_processes > 1 else ''}",
        arguments={k: str(v) for k, v in vars(args).items()},
        total_wall_s=round(time.perf_counter() - began, 1))
    extras.append(("phases", "; ".join(context["phases"])))
    extras.append(("total wall time", f"{context['total_wall_s']} s"))
    print(text(rows, extras, context))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(as_json(rows, context), indent=2, default=str) + "\n")
    print(f"figures written to {args.json}")
    return 0 if all(r.measured for r in rows.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
