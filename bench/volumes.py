"""Volume benchmark: create, attach, detach and delete small volumes through the API.

Why this exists: a volume's life crosses every part of nimbus (the API and
the event store, the relay, the storage worker's files and iSCSI target, the
hypervisor worker's libvirt definition, the outcome ingester, the projector)
and twice crosses from one host to another (export, then disk; disk, then
unexport). This measures what a user sees, next to what the same bytes cost
without nimbus: a script that, in the same run, creates the same sparse file
and exports it through the same kind of tgtd directly.

    .venv/bin/python -m bench.volumes --volumes 20 --clients 4 [--json]

Each client boots one server, then runs its share of volumes one after the
other: create (wait for ``available``), attach to its server (wait for
``in-use``), detach (wait for ``available``), delete (wait until gone). It
runs in a throwaway place (bench/harness.py); nothing asserts on timings.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import textwrap
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

from bench.harness import (
    FLAVOR,
    IMAGE,
    Place,
    client,
    ms,
    ms_text,
    percentile,
    place,
    running,
    table,
    token_for,
)
from workers.storage.file_backing import FileBacking
from workers.storage.tgt_daemon import TgtDaemon

STEPS = ("create", "attach", "detach", "delete")
SHOWS = {"create": "available", "attach": "in-use", "detach": "available", "delete": None}


async def _until(http: httpx.AsyncClient, url: str, key: str, wanted: str | None,
                 poll: float, timeout: float = 60) -> None:
    deadline = time.perf_counter() + timeout
    while True:
        r = await http.get(url)
        if wanted is None and r.status_code == 404:
            return
        if r.status_code == 200 and r.json()[key]["status"] == wanted:
            return
        if r.status_code == 200 and r.json()[key]["status"].startswith("error"):
            raise RuntimeError(f"{url} went to {r.json()[key]['status']}")
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{url} never became {wanted}")
        await asyncio.sleep(poll)


async def lives(base_url: str, token: str, project_id: str,
                args: argparse.Namespace) -> tuple[dict[str, list[float]], float, list[str]]:
    """Seconds from each command to its visible effect, per step; the wall time."""
    seen: dict[str, list[float]] = defaultdict(list)
    failures: list[str] = []
    volumes = f"/volume/v3/{project_id}/volumes"
    numbers = iter(range(args.volumes))

    async def user() -> None:
        async with client(base_url, token) as http:
            r = await http.post("/compute/v2.1/servers", json={"server": {
                "name": "bench-vm", "imageRef": IMAGE, "flavorRef": FLAVOR}})
            server = r.json()["server"]["id"]
            await _until(http, f"/compute/v2.1/servers/{server}", "server", "ACTIVE",
                         args.poll_interval)
            attachments = f"/compute/v2.1/servers/{server}/os-volume_attachments"
            for n in numbers:
                try:
                    sent = time.perf_counter()
                    r = await http.post(volumes, json={"volume": {"size": 1,
                                                                  "name": f"bench-{n}"}})
                    volume = r.json()["volume"]["id"]
                    url = f"{volumes}/{volume}"
                    for step in STEPS:
                        if step == "attach":
                            sent = time.perf_counter()
                            await http.post(attachments, json={
                                "volumeAttachment": {"volumeId": volume}})
                        elif step == "detach":
                            sent = time.perf_counter()
                            await http.delete(f"{attachments}/{volume}")
                        elif step == "delete":
                            sent = time.perf_counter()
                            await http.delete(url)
                        await _until(http, url, "volume", SHOWS[step], args.poll_interval)
                        seen[step].append(time.perf_counter() - sent)
                except (RuntimeError, KeyError, httpx.HTTPError) as error:
                    failures.append(f"volume {n}: {error}")

    began = time.perf_counter()
    await asyncio.gather(*(user() for _ in range(args.clients)))
    return seen, time.perf_counter() - began, failures


async def run_stack(at: Place, args: argparse.Namespace) -> tuple[dict[str, list[float]],
                                                                   float, list[str]]:
    async with running(at) as stack:
        s = stack.settings
        token = await token_for(s.base_url, s.admin_user, stack.admin_password, "admin")
        async with client(s.base_url, token) as http:
            r = await http.get("/identity/v3/auth/tokens", headers={"X-Subject-Token": token})
            project_id = r.json()["token"]["project"]["id"]
        return await stack.run(lives(s.base_url, token, project_id, args))


def raw_rate(count: int) -> float:
    """Volumes per second that a script gets from the same parts directly: a
    1 GB sparse file made, exported by a private tgtd, unexported, wiped, removed."""
    with tempfile.TemporaryDirectory(prefix="nimbus-bench-raw-") as scratch, \
            TgtDaemon() as tgtd:
        backing, exporter = FileBacking(Path(scratch)), tgtd.exporter()
        began = time.perf_counter()
        for _ in range(count):
            volume_id = str(uuid.uuid4())
            backing.create(volume_id, 1)
            exporter.export(volume_id, backing.path(volume_id), None)
            exporter.unexport(volume_id)
            backing.wipe_and_delete(volume_id)
        return count / (time.perf_counter() - began)


def figures(seen: dict[str, list[float]], wall: float, failures: list[str], raws: list[float],
            args: argparse.Namespace, where: dict[str, str]) -> dict[str, Any]:
    done = len(seen["delete"])
    rate = done / wall if wall else 0.0
    raw = sum(raws) / len(raws)
    return {
        "volumes": args.volumes, "clients": args.clients, "database": where["database"],
        "nats": where["nats"], "lives_completed": done, "wall_s": round(wall, 3),
        "volumes_per_second": round(rate, 2),
        "operations_per_second": round(sum(len(v) for v in seen.values()) / wall, 2)
        if wall else 0.0,
        "visible_ms": {step: {"n": len(seen[step]), "p50": ms(percentile(seen[step], 50)),
                              "p99": ms(percentile(seen[step], 99))} for step in STEPS},
        "failures": failures,
        "raw_volumes_per_second": round(raw, 2),
        "raw_before_after": [round(r, 2) for r in raws],
        "ratio": round(rate / raw, 3) if raw else None,
    }


def text(f: dict[str, Any], total: float) -> str:
    lines: list[str | tuple[str, str]] = [
        f"nimbus volume benchmark: {f['volumes']} volumes of 1 GB (sparse files, tgtd), "
        f"{f['clients']} clients, each attaching to its own server",
        ("database", f["database"]),
        ("nats", f["nats"]),
        ("volume lives", f"{f['volumes_per_second']:8.2f} /s  ({f['lives_completed']} create"
                         f"+attach+detach+delete in {f['wall_s']:.2f} s)"),
        ("operations", f"{f['operations_per_second']:8.2f} /s  (each waited for)"),
    ]
    for step in STEPS:
        v = f["visible_ms"][step]
        lines.append((f"{step} -> {SHOWS[step] or 'gone'}",
                      f"p50 {ms_text(v['p50'])}   p99 {ms_text(v['p99'])}   (n={v['n']})"))
    before, after = f["raw_before_after"]
    lines += [
        ("raw file + tgt export", f"{f['raw_volumes_per_second']:8.2f} /s  (mean of "
                                  f"{before:.1f} before and {after:.1f} after; made, "
                                  "exported, unexported, wiped, removed by a script)"),
        ("ratio", f"{f['ratio']:8.3f}    (volume lives/s / raw/s)"),
        ("total wall time", f"{total:8.2f} s"),
    ]
    if f["failures"]:
        lines += textwrap.wrap("failures: " + "; ".join(f["failures"]), 96,
                               subsequent_indent="  ")
    return table(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.volumes",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--volumes", type=int, default=20, help="volumes (20)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (4)")
    parser.add_argument("--poll-interval", type=float, default=0.02,
                        help="seconds between a client's GETs while it waits (0.02)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.volumes < 1 or args.clients < 1:
        parser.error("--volumes and --clients must be positive")
    began = time.perf_counter()
    raws = [raw_rate(args.volumes)]
    with place(baseline_rows=10) as at:
        seen, wall, failures = asyncio.run(run_stack(at, args))
    raws.append(raw_rate(args.volumes))
    found = figures(seen, wall, failures, raws, args, at.where)
    total = time.perf_counter() - began
    print(json.dumps({**found, "total_wall_s": round(total, 3)}, indent=2) if args.json
          else text(found, total))
    return 0 if not failures else 1


if __name__ == "__main__":
    raise SystemExit(main())
