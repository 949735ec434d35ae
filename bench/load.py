"""The load: OpenStack-style HTTP clients in a process of their own.

Why a process of its own: clients that share the stack's event loop and
interpreter take turns with it, so they measure each other. This process
logs in as a user with a password (Keystone v3), finds the compute endpoint
in the token's catalog, and talks to it with one httpx client per simulated
user, as openstacksdk would. It reads one JSON task on stdin and prints one
JSON result on stdout (bench/run.py starts it):

* ``unloaded``: one client boots servers one after the other, each POST
  followed by GETs of that server until it shows ACTIVE; then takes each
  through pause, unpause, a metadata change and delete, waiting for each to
  show (POST -> visible per operation);
* ``saturating``: ``clients`` clients POST boots back to back while one
  watcher lists the ACTIVE servers changed recently; boots accepted/s and
  POST -> ACTIVE visible per server;
* ``latency``: ``count`` metadata changes of one server, one after the
  other: how long a command takes to be answered;
* ``volumes``: volume lives (bench/volumes.py).

Times are taken with ``time.perf_counter`` in this process; nothing here
knows how the stack is built.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench import volumes
from tests.support.stack import auth_body

IMAGE = "cirros-0.6.2-x86_64-disk"
FLAVOR = "1"  # m1.tiny


class Cloud:
    """One logged-in user's endpoints, as a client library finds them."""

    def __init__(self, token: str, endpoints: dict[str, str]) -> None:
        self.token = token
        self.endpoints = endpoints  # service type -> public URL

    @classmethod
    async def login(cls, task: dict[str, Any]) -> Cloud:
        async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
            r = await http.post(f"{task['base_url']}/identity/v3/auth/tokens", json=auth_body(
                task["user"], task["password"], task["project"]))
            r.raise_for_status()
            catalog = r.json()["token"]["catalog"]
        return cls(r.headers["X-Subject-Token"], {
            s["type"]: e["url"] for s in catalog for e in s["endpoints"]
            if e["interface"] == "public"})

    def client(self, service: str = "compute") -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.endpoints[service],
                                 headers={"X-Auth-Token": self.token}, timeout=60,
                                 trust_env=False)


def boot_body(name: str) -> dict[str, Any]:
    return {"server": {"name": name, "imageRef": IMAGE, "flavorRef": FLAVOR}}


async def shows(http: httpx.AsyncClient, server: str, status: str | None, interval: float,
                deadline: float) -> float | None:
    """The time the first GET showing ``server`` in ``status`` (None: gone)
    was answered; None if the deadline passed first. ERROR is a failure."""
    while time.perf_counter() < deadline:
        r = await http.get(f"/servers/{server}")
        if status is None and r.status_code == 404:
            return time.perf_counter()
        if r.status_code == 200:
            found = r.json()["server"]["status"]
            if found == status:
                return time.perf_counter()
            if found == "ERROR":
                raise RuntimeError(f"server {server} went to ERROR")
        await asyncio.sleep(interval)
    return None


# -- unloaded -----------------------------------------------------------------------------

STEPS: tuple[tuple[str, str | None], ...] = (  # an operation, what it shows once done
    ("pause", "PAUSED"), ("unpause", "ACTIVE"), ("metadata", "ACTIVE"), ("delete", None))


async def unloaded(task: dict[str, Any]) -> dict[str, Any]:
    cloud = await Cloud.login(task)
    interval, boots = task["poll_interval"], task["boots"]
    answered: dict[str, list[float]] = {"boot": [], **{s[0]: [] for s in STEPS}}
    visible: dict[str, list[float]] = {"boot": [], **{s[0]: [] for s in STEPS}}
    failures: Counter[str] = Counter()
    async with cloud.client() as http:
        servers = []
        for i in range(boots):
            sent = time.perf_counter()
            r = await http.post("/servers", json=boot_body(f"bench-alone-{i}"))
            if r.status_code != 202:
                failures[f"boot: {r.status_code}"] += 1
                continue
            answered["boot"].append(time.perf_counter() - sent)
            server = r.json()["server"]["id"]
            seen = await shows(http, server, "ACTIVE", interval, sent + task["timeout"])
            if seen is None:
                failures["boot: not ACTIVE in time"] += 1
                continue
            visible["boot"].append(seen - sent)
            servers.append(server)
        if task.get("lifecycle"):
            for server in servers:
                for operation, status in STEPS:
                    sent = time.perf_counter()
                    if operation == "delete":
                        r = await http.delete(f"/servers/{server}")
                    elif operation == "metadata":
                        r = await http.post(f"/servers/{server}/metadata",
                                            json={"metadata": {"bench": "yes"}})
                    else:
                        r = await http.post(f"/servers/{server}/action",
                                            json={operation: None})
                    if r.status_code not in (200, 202, 204):
                        failures[f"{operation}: {r.status_code}"] += 1
                        break
                    answered[operation].append(time.perf_counter() - sent)
                    seen = await shows(http, server, status, interval, sent + task["timeout"])
                    if seen is None:
                        failures[f"{operation}: not visible in time"] += 1
                        break
                    visible[operation].append(seen - sent)
    return {"answered_s": answered, "visible_s": visible, "failures": dict(failures)}


# -- saturating ---------------------------------------------------------------------------


async def saturating(task: dict[str, Any]) -> dict[str, Any]:
    cloud = await Cloud.login(task)
    total, deadline_after = task["servers"], task["timeout"]
    started: dict[str, float] = {}  # server -> when its POST was sent
    seen: dict[str, float] = {}  # server -> when the watcher first saw it ACTIVE
    posts: list[float] = []
    failures: Counter[str] = Counter()
    numbers = iter(range(total))
    first = time.perf_counter()
    deadline = first + deadline_after
    last_answer = first
    since = (datetime.now(UTC) - timedelta(seconds=5)).isoformat()

    async def poster() -> None:
        nonlocal last_answer
        async with cloud.client() as http:
            for i in numbers:
                if time.perf_counter() > deadline:
                    break
                sent = time.perf_counter()
                try:
                    r = await http.post("/servers", json=boot_body(f"bench-{i}"))
                except httpx.HTTPError as error:
                    failures[f"POST: {type(error).__name__}"] += 1
                    continue
                done = time.perf_counter()
                if r.status_code == 202:
                    posts.append(done - sent)
                    started[r.json()["server"]["id"]] = sent
                    last_answer = max(last_answer, done)
                else:
                    failures[f"POST {r.status_code}"] += 1

    polls = 0

    async def watcher(posting: asyncio.Future[Any]) -> None:
        nonlocal polls
        async with cloud.client() as http:
            while time.perf_counter() < deadline:
                await asyncio.sleep(task["watch_interval"])
                url = "/servers"
                params: dict[str, str] | None = {"status": "ACTIVE", "changes-since": since}
                while url:
                    try:
                        r = await http.get(url, params=params)
                    except httpx.HTTPError:
                        break
                    answered = time.perf_counter()
                    polls += 1
                    if r.status_code != 200:
                        break
                    body = r.json()
                    for server in body["servers"]:
                        seen.setdefault(server["id"], answered)
                    links = body.get("servers_links") or []
                    url, params = (links[0]["href"], None) if links else ("", None)
                if posting.done() and all(s in seen for s in started):
                    return

    posting = asyncio.gather(*(poster() for _ in range(task["clients"])))
    watching = asyncio.ensure_future(watcher(posting))
    await posting
    await watching
    visible = [seen[s] - sent for s, sent in started.items() if s in seen]
    missing = len(started) - len(visible)
    if missing:
        failures["not seen ACTIVE within the timeout"] += missing
    return {"accepted": len(posts), "posts_wall_s": last_answer - first, "post_s": posts,
            "visible_s": visible, "polls": polls, "failures": dict(failures),
            "servers": sorted(s for s in started if s in seen)}


# -- latency ------------------------------------------------------------------------------


async def latency(task: dict[str, Any]) -> dict[str, Any]:
    cloud = await Cloud.login(task)
    times: list[float] = []
    failures: Counter[str] = Counter()
    async with cloud.client() as http:
        for i in range(task["warmup"] + task["count"]):
            sent = time.perf_counter()
            r = await http.post(f"/servers/{task['server']}/metadata",
                                json={"metadata": {"bench": str(i)}})
            took = time.perf_counter() - sent
            if r.status_code != 200:
                failures[f"metadata {r.status_code}"] += 1
            elif i >= task["warmup"]:
                times.append(took)
    return {"answered_s": times, "failures": dict(failures)}


# -- volumes ------------------------------------------------------------------------------


async def volume_lives(task: dict[str, Any]) -> dict[str, Any]:
    cloud = await Cloud.login(task)
    numbers = iter(range(task["volumes"]))

    async def user(n: int) -> tuple[dict[str, list[float]], list[str]]:
        async with cloud.client() as compute, cloud.client("volumev3") as volume:
            return await volumes.lives(compute, volume, boot_body(f"bench-vm-{n}"), task,
                                       numbers)

    began = time.perf_counter()
    found = await asyncio.gather(*(user(n) for n in range(task["clients"])))
    wall = time.perf_counter() - began
    seen = {step: [s for one, _ in found for s in one.get(step, [])] for step in volumes.STEPS}
    return {"visible_s": seen, "wall_s": wall, "failures": [f for _, fs in found for f in fs]}


MODES = {"unloaded": unloaded, "saturating": saturating, "latency": latency,
         "volumes": volume_lives}


def main() -> int:
    task = json.loads(sys.stdin.read())
    result = asyncio.run(MODES[task["mode"]](task))
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
