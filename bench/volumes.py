"""Volume lives: create, attach, detach and delete small volumes through the API,
next to what the same bytes cost without nimbus.

Why: a volume's life crosses every part of nimbus (the API and the event
store, the relay, the storage worker's files and iSCSI target, the
hypervisor worker's libvirt definition, the outcome ingester, the projector)
and twice crosses from one host to another (export, then disk; disk, then
unexport). ``lives`` runs in the load process (bench/load.py, mode
``volumes``): each client boots one server, then runs its share of volumes
one after the other, waiting for each step to show. ``raw_rate`` is a script
doing the same file and tgt export directly, in the same run.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

from workers.storage.file_backing import FileBacking
from workers.storage.tgt_daemon import TgtDaemon

STEPS = ("create", "attach", "detach", "delete")
SHOWS = {"create": "available", "attach": "in-use", "detach": "available", "delete": None}


async def _until(http: httpx.AsyncClient, url: str, key: str, wanted: str | None,
                 poll: float, timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while True:
        r = await http.get(url)
        if wanted is None and r.status_code == 404:
            return
        if r.status_code == 200 and r.json()[key]["status"] == wanted:
            return
        if r.status_code == 200 and r.json()[key]["status"].lower().startswith("error"):
            raise RuntimeError(f"{url} went to {r.json()[key]['status']}")
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{url} never became {wanted}")
        await asyncio.sleep(poll)


async def lives(compute: httpx.AsyncClient, volume: httpx.AsyncClient, boot: dict[str, Any],
                task: dict[str, Any], numbers: Any) -> tuple[dict[str, list[float]], list[str]]:
    """One client's volume lives: seconds from each step's request to its effect."""
    seen: dict[str, list[float]] = defaultdict(list)
    failures: list[str] = []
    poll, timeout = task["poll_interval"], task["timeout"]
    r = await compute.post("/servers", json=boot)
    server = r.json()["server"]["id"]
    await _until(compute, f"/servers/{server}", "server", "ACTIVE", poll, timeout)
    attachments = f"/servers/{server}/os-volume_attachments"
    for n in numbers:
        try:
            sent = time.perf_counter()
            r = await volume.post("/volumes", json={"volume": {"size": 1, "name": f"bench-{n}"}})
            url = f"/volumes/{r.json()['volume']['id']}"
            for step in STEPS:
                if step == "attach":
                    sent = time.perf_counter()
                    await compute.post(attachments, json={
                        "volumeAttachment": {"volumeId": url.rpartition("/")[2]}})
                elif step == "detach":
                    sent = time.perf_counter()
                    await compute.delete(f"{attachments}/{url.rpartition('/')[2]}")
                elif step == "delete":
                    sent = time.perf_counter()
                    await volume.delete(url)
                await _until(volume, url, "volume", SHOWS[step], poll, timeout)
                seen[step].append(time.perf_counter() - sent)
        except (RuntimeError, KeyError, httpx.HTTPError) as error:
            failures.append(f"volume {n}: {error}")
    return seen, failures


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
