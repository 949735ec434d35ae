"""Boot benchmark: how fast nimbus accepts boots, and how soon they show ACTIVE.

Why this exists: DESIGN.md §6 gives the raw cost of each part (INSERT+COMMIT,
an eventsourcing save, a JetStream publish); this measures the whole path a
user sees (``POST /servers`` through the API and the event store, then the
relay, NATS, a hypervisor worker, the outcome ingester and the projector until
the query API shows the server ACTIVE) and puts it next to the raw
INSERT+COMMIT rate of the same database server, measured in the same run, so
that figures from different machines can be compared as a ratio.

    .venv/bin/python -m bench.boot --servers 200 --clients 8 [--json]

It runs in a throwaway place (bench/harness.py). This is a measurement, not a
test: nothing here asserts on timings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import textwrap
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.harness import (
    FLAVOR,
    HOSTS,
    IMAGE,
    Place,
    baseline,
    client,
    ms,
    ms_text,
    percentile,
    place,
    running,
    table,
    token_for,
)


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


async def run_stack(at: Place, args: argparse.Namespace) -> Run:
    """Start the whole stack in this loop, boot the servers, stop it. Quotas
    are lifted and the hosts made big enough: this measures the boot path,
    not the limits."""
    async with running(at, quota_instances=-1, quota_cores=-1, quota_ram=-1,
                       host_vcpus=4 * args.servers, host_memory_mb=1024 * args.servers) as stack:
        s = stack.settings
        token = await token_for(s.base_url, s.admin_user, stack.admin_password, "admin")
        return await stack.run(boot_all(s.base_url, token, args))


async def boot_all(base_url: str, token: str, args: argparse.Namespace) -> Run:
    """POST ``args.servers`` boots from ``args.clients`` clients; poll until all are ACTIVE."""
    run = Run()
    pending: dict[str, Boot] = {}
    numbers = iter(range(args.servers))  # shared by the clients
    loop = asyncio.get_running_loop()
    first = loop.time()
    deadline = first + args.timeout

    async def poster() -> None:
        async with client(base_url, token) as http:
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
        async with client(base_url, token) as http:
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

    posting = asyncio.gather(*(poster() for _ in range(args.clients)))
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


def figures(run: Run, raw: list[float], args: argparse.Namespace,
            where: dict[str, str]) -> dict[str, Any]:
    posts = [b.post for b in run.boots if b.accepted and b.post is not None]
    active = [b.active for b in run.boots if b.active is not None]
    accepted = len(posts)
    rate = accepted / run.posts_wall if run.posts_wall else 0.0
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
        **baseline(rate, raw, args.baseline_rows),
    }


def text(f: dict[str, Any], total: float) -> str:
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
        ("POST latency",
         f"p50 {ms_text(f['post_ms']['p50'])}   p99 {ms_text(f['post_ms']['p99'])}"),
        ("POST -> ACTIVE visible", f"p50 {ms_text(f['post_to_active_ms']['p50'])}   "
                                   f"p99 {ms_text(f['post_to_active_ms']['p99'])}"),
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
    return table(lines)


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
    with place(args.baseline_rows) as at:
        run = asyncio.run(asyncio.wait_for(run_stack(at, args), args.timeout + 120))
    found = figures(run, at.raw_rates, args, at.where)
    total = time.perf_counter() - began
    print(json.dumps({**found, "total_wall_s": round(total, 3)}, indent=2) if args.json
          else text(found, total))
    return 0 if found["active"] == args.servers else 1


if __name__ == "__main__":
    raise SystemExit(main())
