"""``python -m bench.recovery``: how long nimbus takes to come back from a disaster.

The disaster is the seed's: every host loses power (guests off, saved memory,
exports and sessions, bridges and rules gone) and the views are dropped,
on a cloud of ``--servers`` servers with ``--volumes`` volumes attached, on a
log grown to each ``--log`` size with the run's own churn (servers booted and
deleted, copied by bench/growth.py: history, no more live servers). Then the
stack starts again with ``resume_guests_state_on_host_boot`` off, so nothing
comes back by itself, and ``nimbus recover --apply`` is timed, as an
operator runs it, until it exits.

Figures, per log size: the RTO (``nimbus recover --apply``'s wall time, its
exit status 0 meaning every resource is back as the log says, checked
again through the API: every server ACTIVE, every volume in-use); the RPO
(events of the log before the disaster missing after it: must be 0); and
how fast a view rebuild reads the log there, next to the raw decoded read
of the same log (bench/baseline.py). Nothing asserts on timings.

    .venv/bin/python -m bench.recovery [--servers 100] [--volumes 100] [--log 100000,1000000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench import baseline, growth
from bench.place import Place, place
from bench.run import bench_user, caught_up, settle
from bench.stack import Stacks
from migrations.runner import VIEWS_SCHEMA
from projections.log import head
from tests.support.nimbus_process import NimbusProcess
from tests.support.polling import eventually_sync
from tests.support.stack import auth_body

IMAGE, FLAVOR = "cirros-0.6.2-x86_64-disk", "1"
CHURN = 20  # servers booted and deleted: what the grown log is copied from
HOSTS = ("compute1", "compute2", "storage1", "network1")


class Cloud:
    """The bench user's compute and volume endpoints, one client each."""

    def __init__(self, user: dict[str, str]) -> None:
        r = httpx.post(f"{user['base_url']}/identity/v3/auth/tokens", trust_env=False,
                       json=auth_body(user["user"], user["password"], user["project"]),
                       timeout=30)
        r.raise_for_status()
        urls = {s["type"]: e["url"] for s in r.json()["token"]["catalog"]
                for e in s["endpoints"] if e["interface"] == "public"}
        headers = {"X-Auth-Token": r.headers["X-Subject-Token"]}
        self.compute = httpx.Client(base_url=urls["compute"], headers=headers, timeout=60,
                                    trust_env=False)
        self.volume = httpx.Client(base_url=urls["volumev3"], headers=headers, timeout=60,
                                   trust_env=False)

    def close(self) -> None:
        self.compute.close()
        self.volume.close()

    def statuses(self, kind: str) -> dict[str, str]:
        http, path = (self.compute, "/servers/detail") if kind == "servers" else (
            self.volume, "/volumes/detail")
        found: dict[str, str] = {}
        url: str | None = path
        while url:
            r = http.get(url, params={"limit": "1000"} if url == path else None)
            r.raise_for_status()
            body = r.json()
            found.update({x["id"]: x["status"] for x in body[kind]})
            links = body.get(f"{kind}_links") or []
            url = links[0]["href"] if links else None
        return found

    def all_in(self, kind: str, ids: list[str], status: str) -> bool:
        found = self.statuses(kind)
        return all(found.get(i, "").lower() == status.lower() for i in ids)


def build(cloud: Cloud, servers: int, volumes: int) -> tuple[list[str], list[str], list[str]]:
    """The cloud to lose: ``servers`` ACTIVE servers, ``volumes`` volumes each
    attached to one; and ``CHURN`` servers booted and deleted (the history
    the log is grown from). The ids of the three."""
    def boot(name: str) -> str:
        r = cloud.compute.post("/servers", json={"server": {
            "name": name, "imageRef": IMAGE, "flavorRef": FLAVOR}})
        r.raise_for_status()
        return str(r.json()["server"]["id"])

    live = [boot(f"rto-{n}") for n in range(servers)]
    churn = [boot(f"churn-{n}") for n in range(CHURN)]
    eventually_sync(lambda: cloud.all_in("servers", live + churn, "ACTIVE"), timeout=300,
                    interval=0.5, what="every server ACTIVE")
    for server in churn:
        cloud.compute.delete(f"/servers/{server}").raise_for_status()
    made = []
    for n in range(volumes):
        r = cloud.volume.post("/volumes", json={"volume": {"size": 1, "name": f"rto-{n}"}})
        r.raise_for_status()
        made.append(str(r.json()["volume"]["id"]))
    eventually_sync(lambda: cloud.all_in("volumes", made, "available"), timeout=300,
                    interval=0.5, what="every volume available")
    for n, volume in enumerate(made):
        server = live[n % len(live)]
        cloud.compute.post(f"/servers/{server}/os-volume_attachments",
                           json={"volumeAttachment": {"volumeId": volume}}).raise_for_status()
    eventually_sync(lambda: cloud.all_in("volumes", made, "in-use"), timeout=300,
                    interval=0.5, what="every volume in-use")
    eventually_sync(lambda: all(cloud.compute.get(f"/servers/{s}").status_code == 404
                                for s in churn), timeout=120, interval=0.5,
                    what="the churn servers deleted")
    return live, made, churn


def nimbus(stacks: Stacks, *argv: str, env: dict[str, str] | None = None,
           timeout: float = 3600) -> tuple[int, list[str], float]:
    """``nimbus ARGV`` on the run's cloud to its end: exit code, output, seconds."""
    began = time.perf_counter()
    process = NimbusProcess(stacks.at.state_dir, list(argv), {**stacks.env, **(env or {})})
    try:
        code = process.process.wait(timeout)
    finally:
        process.kill()
    return code, process.remaining_output(), time.perf_counter() - began


def event_count_upto(url: str, position: int) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM public.nimbus_events"
                           " WHERE notification_id <= %s", (position,)).fetchone()
        return int(row[0]) if row else 0


def power_loss(stacks: Stacks) -> None:
    """Every host loses power (the stack then stops, and the views are dropped)."""
    for host in HOSTS:
        code, output, _ = nimbus(stacks, "host", "power-loss", host, timeout=60)
        if code != 0:
            raise RuntimeError(f"nimbus host power-loss {host} exited {code}: {output[-5:]}")


def drop_views(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {VIEWS_SCHEMA} CASCADE")


def measure(args: argparse.Namespace) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    with place() as at:
        stacks = Stacks(at, args.servers + CHURN)
        with stacks.up() as stack:
            user = bench_user(stack)
            cloud = Cloud(user)
            try:
                live, volumes, churn = build(cloud, args.servers, args.volumes)
            finally:
                cloud.close()
        with psycopg.connect(at.database_url) as conn:
            pieces = [p for p in growth.template(conn) if p.originator in set(churn)]
        for size in args.log:
            results.append(one_size(stacks, at, user, live, volumes, pieces, size, args))
    return results


def one_size(stacks: Stacks, at: Place, user: dict[str, str], live: list[str],
             volumes: list[str], pieces: list[growth.Piece], size: int,
             args: argparse.Namespace) -> dict[str, Any]:
    url = at.database_url
    print(f"bench.recovery: log to {size:,} events ...", file=sys.stderr, flush=True)
    with psycopg.connect(url) as conn:  # whole copies only: a cut one would be a stalled boot
        now = growth.count(conn)
    copies = -(-max(0, size - now) // len(pieces))
    made = growth.grow(url, pieces, now + copies * len(pieces), args.growth_timeout)
    with stacks.up():
        caught_up(at, args, [])
        with psycopg.connect(url) as conn:
            before_head = head(conn)
        before = event_count_upto(url, before_head)
        power_loss(stacks)
    drop_views(url)
    settle(url)
    raw_rate, _ = baseline.decoded_read_rate(url)
    off = {"NIMBUS_RESUME_GUESTS_STATE_ON_HOST_BOOT": "false"}
    stacks.env.update(off)
    try:
        with stacks.up():
            print(f"bench.recovery: nimbus recover --apply on {made.size:,} events ...",
                  file=sys.stderr, flush=True)
            code, output, seconds = nimbus(stacks, "recover", "--apply")
            print("\n".join(output[-15:]), file=sys.stderr, flush=True)  # what it said last
            cloud = Cloud(user)
            try:
                back = (cloud.all_in("servers", live, "ACTIVE"),
                        cloud.all_in("volumes", volumes, "in-use"))
            finally:
                cloud.close()
            second_code, second_output, second_seconds = nimbus(stacks, "recover")
        lost = before - event_count_upto(url, before_head)
    finally:
        for key in off:
            stacks.env.pop(key, None)
    rebuilt = [line for line in output if "rebuilt" in line or "events/s" in line]
    return {"log_events": made.size, "servers": len(live), "volumes": len(volumes),
            "recover_exit": code, "rto_seconds": round(seconds, 2),
            "servers_active": back[0], "volumes_in_use": back[1],
            "rpo_events_lost": lost, "raw_read_events_per_second": round(raw_rate),
            "rebuild_lines": rebuilt[-3:], "second_run_exit": second_code,
            "second_run_seconds": round(second_seconds, 2),
            "second_run_tail": second_output[-3:], "output_tail": output[-8:]}


def text(results: list[dict[str, Any]]) -> str:
    lines = ["nimbus recovery benchmark (RTO goal: < 60 s at 100,000 events)"]
    for r in results:
        ok = r["recover_exit"] == 0 and r["servers_active"] and r["volumes_in_use"]
        lines.append(
            f"  {r['log_events']:>9,} events, {r['servers']} servers, {r['volumes']} volumes:"
            f" RTO {r['rto_seconds']:.1f} s ({'every resource back' if ok else 'NOT all back'}"
            f", exit {r['recover_exit']}); RPO {r['rpo_events_lost']} events lost;"
            f" a second run: exit {r['second_run_exit']} in {r['second_run_seconds']:.1f} s")
        lines.append(f"      raw decoded log read: {r['raw_read_events_per_second']:,} events/s;"
                     f" recover said: {' | '.join(r['rebuild_lines']) or '-'}")
    return "\n".join(lines)


def arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.recovery", description=__doc__)
    parser.add_argument("--servers", type=int, default=100)
    parser.add_argument("--volumes", type=int, default=100)
    parser.add_argument("--log", type=lambda v: [int(x) for x in v.split(",")],
                        default=[100_000, 1_000_000], help="log sizes, in order (100000,1000000)")
    parser.add_argument("--growth-timeout", type=float, default=600.0)
    parser.add_argument("--json", type=Path, default=Path("bench/results/recovery.json"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    results = measure(args)
    print(text(results))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(f"figures written to {args.json}")
    return 0 if all(r["recover_exit"] == 0 for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
