"""Lifecycle-mix benchmark: boot / pause / unpause / delete from several
concurrent clients across several projects, each waiting to see its change.

Why this exists: the boot benchmark measures one command on an open road;
a cloud's users interleave operations on their own servers while other
projects do the same, and boots of one project race for the same quota (and
all boots for the same hosts). This measures what each user sees: how long a
command takes to be accepted, how long until the query API shows its effect
(ACTIVE, PAUSED, ACTIVE, gone), how many decisions had to be retried after a
version conflict (two boots claiming the same project's quota or the same
host at once), and the raw INSERT+COMMIT rate of the same database server in
the same run as the baseline.

    .venv/bin/python -m bench.mix --projects 4 --clients 8 --rounds 10 [--json]

Each client belongs to one project (round robin) and runs ``--rounds``
lifecycles one after the other: boot, wait for ACTIVE, pause, wait for PAUSED,
unpause, wait for ACTIVE, delete, wait until the server is gone. It is a
closed loop: a client sends its next command once it has seen the last one's
effect. Quotas are the defaults (10 instances, 20 cores per project); the two
hosts have their default size. It runs in a throwaway place
(bench/harness.py); nothing here asserts on timings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import textwrap
import time
from collections import Counter, defaultdict
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
from commands.application import Retries

C = "/compute/v2.1"
OPERATIONS = ("boot", "pause", "unpause", "delete")
SHOWS = {"boot": "ACTIVE", "pause": "PAUSED", "unpause": "ACTIVE", "delete": None}  # None: gone


@dataclass
class Timings:
    """Per operation: seconds to the command's answer and to its visible effect."""

    accepted: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    visible: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: Counter[str] = field(default_factory=Counter)
    gets: int = 0
    wall: float = 0.0
    conflicts: int = 0


async def make_projects(base_url: str, admin_token: str, count: int) -> list[str]:
    """``count`` projects with one member each; the members' tokens."""
    tokens = []
    async with client(base_url, admin_token) as http:
        for i in range(count):
            name, password = f"bench-p{i}", f"bench-password-{i}"
            r = await http.post("/identity/v3/projects", json={
                "project": {"name": name, "domain_id": "default"}})
            r.raise_for_status()
            project_id = r.json()["project"]["id"]
            r = await http.post("/identity/v3/users", json={"user": {
                "name": f"{name}-user", "password": password, "domain_id": "default",
                "default_project_id": project_id}})
            r.raise_for_status()
            user_id = r.json()["user"]["id"]
            r = await http.put(f"/identity/v3/projects/{project_id}/users/{user_id}/roles/member")
            r.raise_for_status()
            tokens.append(await token_for(base_url, f"{name}-user", password, name))
    return tokens


async def lifecycle(http: httpx.AsyncClient, name: str, t: Timings,
                    args: argparse.Namespace) -> None:
    """One server's boot, pause, unpause and delete, each waited for."""
    server_id = ""
    for op in OPERATIONS:
        sent = time.perf_counter()
        if op == "boot":
            r = await http.post(f"{C}/servers", json={
                "server": {"name": name, "imageRef": IMAGE, "flavorRef": FLAVOR}})
        elif op == "delete":
            r = await http.delete(f"{C}/servers/{server_id}")
        else:
            r = await http.post(f"{C}/servers/{server_id}/action", json={op: None})
        if r.status_code not in (202, 204):
            t.failures[f"{op} answered {r.status_code}"] += 1
            return
        t.accepted[op].append(time.perf_counter() - sent)
        if op == "boot":
            server_id = r.json()["server"]["id"]
        wanted = SHOWS[op]
        while True:
            await asyncio.sleep(args.poll_interval)
            shown = await http.get(f"{C}/servers/{server_id}")
            t.gets += 1
            status = shown.json()["server"]["status"] if shown.status_code == 200 else None
            if status == wanted:
                break
            if status == "ERROR":
                t.failures[f"{op} went to ERROR"] += 1
                return
            if time.perf_counter() - sent > args.timeout:
                t.failures[f"{op} not visible within {args.timeout:g} s"] += 1
                return
        t.visible[op].append(time.perf_counter() - sent)


async def mix(base_url: str, admin_token: str, args: argparse.Namespace,
              retries: Retries) -> Timings:
    tokens = await make_projects(base_url, admin_token, args.projects)
    t = Timings()
    conflicts_before = retries.conflicts

    async def user(n: int) -> None:
        async with client(base_url, tokens[n % len(tokens)]) as http:
            for i in range(args.rounds):
                await lifecycle(http, f"bench-c{n}-r{i}", t, args)

    began = time.perf_counter()
    await asyncio.gather(*(user(n) for n in range(args.clients)))
    t.wall = time.perf_counter() - began
    t.conflicts = retries.conflicts - conflicts_before
    return t


async def run_stack(at: Place, args: argparse.Namespace) -> Timings:
    async with running(at) as stack:
        s = stack.settings
        token = await token_for(s.base_url, s.admin_user, stack.admin_password, "admin")
        return await stack.run(mix(s.base_url, token, args, stack.retries))


# -- figures ---------------------------------------------------------------------------


def figures(t: Timings, raw: list[float], args: argparse.Namespace,
            where: dict[str, str]) -> dict[str, Any]:
    accepted = sum(len(v) for v in t.accepted.values())
    rate = accepted / t.wall if t.wall else 0.0

    def spread(values: list[float]) -> dict[str, float | int | None]:
        return {"n": len(values), "p50": ms(percentile(values, 50)),
                "p99": ms(percentile(values, 99))}

    everything = [v for op in OPERATIONS for v in t.visible[op]]
    return {
        "projects": args.projects, "clients": args.clients, "rounds": args.rounds,
        "hosts": len(HOSTS), "database": where["database"], "nats": where["nats"],
        "commands_accepted": accepted, "wall_s": round(t.wall, 3),
        "commands_per_second": round(rate, 1),
        "accepted_ms": {op: spread(t.accepted[op]) for op in OPERATIONS},
        "visible_ms": {op: spread(t.visible[op]) for op in OPERATIONS},
        "visible_ms_all": spread(everything),
        "conflicts_retried": t.conflicts,
        "failures": dict(t.failures),
        "poll_interval_ms": round(args.poll_interval * 1000), "gets": t.gets,
        **baseline(rate, raw, args.baseline_rows),
    }


def text(f: dict[str, Any], total: float) -> str:
    before, after = f["raw_insert_commit_before_after"]
    ratio = "-" if f["ratio"] is None else f"{f['ratio']:8.3f}"
    lines: list[str | tuple[str, str]] = [
        f"nimbus lifecycle-mix benchmark: {f['clients']} clients over {f['projects']} "
        f"projects, {f['rounds']} boot/pause/unpause/delete rounds each, "
        f"{f['hosts']} hosts (libvirt test driver)",
        ("database", f["database"]),
        ("nats", f["nats"]),
        ("commands accepted", f"{f['commands_per_second']:8.1f} /s  "
                              f"({f['commands_accepted']} commands in {f['wall_s']:.2f} s)"),
    ]
    for op in OPERATIONS:
        a, v = f["accepted_ms"][op], f["visible_ms"][op]
        lines += [
            (f"{op} answered", f"p50 {ms_text(a['p50'])}   p99 {ms_text(a['p99'])}   "
                               f"({a['n']} accepted)"),
            (f"{op} -> {SHOWS[op] or 'gone'} visible",
             f"p50 {ms_text(v['p50'])}   p99 {ms_text(v['p99'])}"),
        ]
    every = f["visible_ms_all"]
    lines += [
        ("any command -> visible", f"p50 {ms_text(every['p50'])}   p99 {ms_text(every['p99'])}"),
        ("conflicts retried", f"{f['conflicts_retried']:8d}     (version conflicts on a "
                              "project's quota or a host's claims, decided again)"),
        ("total wall time", f"{total:8.2f} s  (setup, baselines, mix, cleanup)"),
        ("raw INSERT+COMMIT", f"{f['raw_insert_commit_per_second']:8.1f} /s  "
                              f"(mean of {before:.0f} before and {after:.0f} after the mix)"),
        ("ratio", f"{ratio}    (commands accepted/s / raw INSERT+COMMIT/s)"),
    ]
    note = (f"visibility: each client GETs its server every {f['poll_interval_ms']} ms after "
            f"a command until the change shows ({f['gets']} GETs), so a time is an upper "
            "bound, late by up to one interval plus one request; the loop is closed, so "
            "commands/s is bounded by clients / latency")
    lines += textwrap.wrap(note, 96, subsequent_indent="  ")
    if f["failures"]:
        failed = "; ".join(f"{n} x {why}" for why, n in f["failures"].items())
        lines += textwrap.wrap(f"failures: {failed}", 96, subsequent_indent="  ")
    return table(lines)


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.mix", description=__doc__.split(
        "\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--projects", type=int, default=4, help="projects (4)")
    parser.add_argument("--clients", type=int, default=8,
                        help="concurrent clients, spread over the projects (8)")
    parser.add_argument("--rounds", type=int, default=10,
                        help="lifecycles per client, one after the other (10)")
    parser.add_argument("--poll-interval", type=float, default=0.02,
                        help="seconds between a client's GETs while it waits (0.02)")
    parser.add_argument("--baseline-rows", type=int, default=2000,
                        help="rows for the raw INSERT+COMMIT baseline (2000)")
    parser.add_argument("--timeout", type=float, default=60,
                        help="seconds a client waits for one change to show (60)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if min(args.projects, args.clients, args.rounds, args.baseline_rows) < 1:
        parser.error("--projects, --clients, --rounds and --baseline-rows must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    began = time.perf_counter()
    with place(args.baseline_rows) as at:
        run = asyncio.run(run_stack(at, args))
    found = figures(run, at.raw_rates, args, at.where)
    total = time.perf_counter() - began
    print(json.dumps({**found, "total_wall_s": round(total, 3)}, indent=2) if args.json
          else text(found, total))
    return 0 if not found["failures"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
