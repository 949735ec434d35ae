"""A crash of any one process loses nothing: kill -9 each kind mid-workload.

The cloud runs as an operator would split it: one ``nimbus run PART`` process
per part (api, relay, projector, ingester, hypervisor, storage) over its own
PostgreSQL and nats-server, each restarted by a supervisor when it exits (as
systemd's ``Restart=always`` would). Two clients drive a bounded mixed
workload (boot, pause, unpause, volume create/attach/detach/delete, server
delete), retrying each request with its Idempotency-Key until it is answered.
In the middle, one process is killed with SIGKILL and started again.

Afterwards: every accepted command reached a terminal state, no host outcome
was recorded twice, the views equal a replay of the log, and once the cloud
is stopped no process of it is left running.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg import sql

from domain import events as ev
from domain import volume
from projections.log import read_after
from runtime.embedded import EmbeddedNats, EmbeddedPostgres
from tests.support.processes import alive, descendants, identity, state_folder, wait_until_gone
from tests.support.stack import ADMIN_PASSWORD, auth_body, free_port

NIMBUS = str(Path(sys.executable).with_name("nimbus"))
IMAGE = "cirros-0.6.2-x86_64-disk"
PARTS = ("api", "relay", "projector", "ingester", "hypervisor", "storage")
KINDS = (*PARTS, "nats-server", "postgresql")
WORKLOAD_SECONDS = 120.0  # a bound, not a measurement: the workload takes a few seconds
SETTLE_SECONDS = 60.0
CLIENTS = 2
TRANSITIONAL_VOLUME = {"creating", "attaching", "detaching", "deleting", "reserved"}


# -- the cloud as processes ----------------------------------------------------


@dataclass
class Cloud:
    """nimbus split into one process per part, over servers of its own."""

    state: Path
    database_url: str
    nats_url: str
    port: int
    prefix: str
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    seen: dict[tuple[int, str], str] = field(default_factory=dict)  # every process it ran
    children: set[tuple[int, str]] = field(default_factory=set)  # and what they started
    stopping: bool = False

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NIMBUS_", "OS_"))}
        env.update(
            NIMBUS_STATE_DIR=str(self.state), NIMBUS_DATABASE_URL=self.database_url,
            NIMBUS_NATS_URL=self.nats_url, NIMBUS_SUBJECT_PREFIX=self.prefix,
            NIMBUS_API_PORT=str(self.port), NIMBUS_METADATA_PORT=str(free_port()),
            NIMBUS_NETWORK_DRIVER="recorded",
            NIMBUS_HOSTS="compute1",
            NIMBUS_STORAGE_HOSTS="storage1", NIMBUS_ADMIN_PASSWORD=ADMIN_PASSWORD,
            NIMBUS_REPORT_INTERVAL="1", NIMBUS_QUOTA_INSTANCES="-1", NIMBUS_QUOTA_CORES="-1",
            NIMBUS_QUOTA_RAM="-1",
        )
        return env

    def start(self, part: str) -> None:
        with (self.state / f"{part}.log").open("ab") as log:
            process = subprocess.Popen([NIMBUS, "run", part], env=self.env(),
                                       stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.processes[part] = process
        known = identity(process.pid)
        if known:
            self.seen[known] = part

    def kill(self, part: str) -> None:
        """SIGKILL a part; ``supervise`` starts it again."""
        process = self.processes[part]
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGKILL)
        process.wait(10)

    async def supervise(self) -> None:
        """Start again every part that exited (a lost database makes parts exit),
        and note every process the parts start (tgtd, for one)."""
        while not self.stopping:
            for part, process in list(self.processes.items()):
                self.children |= set(descendants(process.pid))
                if process.poll() is not None and not self.stopping:
                    self.start(part)
            await asyncio.sleep(0.2)

    def stop(self) -> list[str]:
        """SIGTERM every part; the parts still running after a while."""
        self.stopping = True
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(30)
        left = wait_until_gone(list(self.seen))
        return [f"{part} ({pid})" for (pid, _), part in self.seen.items() if pid in left]

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
                         for p in sorted(self.state.glob("*.log")))


@dataclass
class Servers:
    """The cloud's own PostgreSQL and nats-server, which a test may kill too."""

    folder: Path
    postgres: EmbeddedPostgres
    nats: EmbeddedNats

    def kill_and_restart(self, kind: str) -> None:
        server = self.postgres if kind == "postgresql" else self.nats
        assert server.pid is not None
        os.kill(server.pid, signal.SIGKILL)
        server.stop()  # reaps it
        time.sleep(0.5)
        server.start()


@pytest.fixture
def servers() -> Iterator[Servers]:
    with state_folder("nimbus-crash-") as folder:
        postgres, nats = EmbeddedPostgres(folder), EmbeddedNats(folder)
        with postgres.start(), nats.start():
            yield Servers(folder, postgres, nats)


@contextlib.asynccontextmanager
async def cloud_running(servers: Servers) -> AsyncIterator[Cloud]:
    state = servers.folder / "state"
    state.mkdir()
    cloud = Cloud(state, servers.postgres.url, servers.nats.url, free_port(),
                  "c" + uuid.uuid4().hex[:10])
    migrate = subprocess.run([NIMBUS, "db", "upgrade"], env=cloud.env(), capture_output=True,
                             text=True, timeout=120)
    assert migrate.returncode == 0, migrate.stderr
    for part in PARTS:
        cloud.start(part)
    supervisor = asyncio.ensure_future(cloud.supervise())
    try:
        yield cloud
    finally:
        cloud.stopping = True
        supervisor.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await supervisor
        leftovers = cloud.stop()
        assert not leftovers, f"nimbus processes outlived SIGTERM: {leftovers}\n{cloud.logs()}"


# -- a client that keeps asking ------------------------------------------------


class Patient:
    """An HTTP client that retries a request, with the same Idempotency-Key,
    until the cloud answers it with something other than a fault."""

    def __init__(self, base: str) -> None:
        self.http = httpx.AsyncClient(base_url=base, timeout=10)
        self.token = ""
        self.project = ""

    async def login(self) -> None:
        r = await self.send("POST", "/identity/v3/auth/tokens",
                            json=auth_body("admin", ADMIN_PASSWORD, "admin"), auth=False)
        assert r.status_code == 201, r.text
        self.token = r.headers["x-subject-token"]
        self.project = r.json()["token"]["project"]["id"]

    async def send(self, method: str, path: str, *, json: Any = None, key: str | None = None,
                   auth: bool = True) -> httpx.Response:
        headers = {"X-Auth-Token": self.token} if auth else {}
        if key:
            headers["Idempotency-Key"] = key
        deadline = time.monotonic() + WORKLOAD_SECONDS
        while True:
            try:
                r = await self.http.request(method, path, json=json, headers=headers)
                if r.status_code < 500:
                    return r
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{method} {path} was never answered")
            await asyncio.sleep(0.2)

    async def settled(self, path: str, done: Any) -> dict[str, Any] | None:
        """Poll ``path`` until ``done(body)``; None once it is gone (404)."""
        deadline = time.monotonic() + WORKLOAD_SECONDS
        while True:
            r = await self.send("GET", path)
            if r.status_code == 404:
                return None
            assert r.status_code == 200, r.text
            body: dict[str, Any] = r.json()
            if done(body):
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"{path} never settled: {body}")
            await asyncio.sleep(0.1)


def server_settled(body: dict[str, Any]) -> bool:
    return body["server"]["OS-EXT-STS:task_state"] is None \
        and body["server"]["status"] not in ("BUILD", "DELETED")


def volume_settled(body: dict[str, Any]) -> bool:
    return body["volume"]["status"] not in TRANSITIONAL_VOLUME


async def workload(client: Patient, n: int, halfway: asyncio.Event) -> None:
    """One client's life of a server and a volume, each step waited for;
    ``halfway`` is set once the attach is asked for."""
    key = f"crash-{n}-{uuid.uuid4().hex[:6]}"
    servers, volumes = "/compute/v2.1/servers", f"/volume/v3/{client.project}/volumes"
    r = await client.send("POST", servers, key=f"{key}-boot", json={"server": {
        "name": f"vm{n}", "imageRef": IMAGE, "flavorRef": "1"}})
    assert r.status_code == 202, r.text
    server = r.json()["server"]["id"]
    r = await client.send("POST", volumes, key=f"{key}-volume",
                          json={"volume": {"size": 1, "name": f"v{n}"}})
    assert r.status_code == 202, r.text
    vol = r.json()["volume"]["id"]
    await client.settled(f"{servers}/{server}", server_settled)
    await client.settled(f"{volumes}/{vol}", volume_settled)
    for action in ("pause", "unpause"):
        await client.send("POST", f"{servers}/{server}/action", key=f"{key}-{action}",
                          json={action: None})
        await client.settled(f"{servers}/{server}", server_settled)
    attachments = f"{servers}/{server}/os-volume_attachments"
    await client.send("POST", attachments, key=f"{key}-attach",
                      json={"volumeAttachment": {"volumeId": vol}})
    halfway.set()
    await client.settled(f"{volumes}/{vol}", volume_settled)
    await client.send("DELETE", f"{attachments}/{vol}", key=f"{key}-detach")
    await client.settled(f"{volumes}/{vol}", volume_settled)
    await client.send("DELETE", f"{volumes}/{vol}", key=f"{key}-volume-delete")
    await client.settled(f"{volumes}/{vol}", volume_settled)
    await client.send("DELETE", f"{servers}/{server}", key=f"{key}-delete")
    await client.settled(f"{servers}/{server}", server_settled)


# -- what must hold afterwards -------------------------------------------------


OUTCOMES = (ev.InstanceOutcome, volume.VolumeExported, volume.VolumeSucceeded,
            volume.VolumeFailed)


def duplicate_outcomes(database_url: str) -> list[tuple[str, str, str]]:
    """Host outcomes recorded more than once for the same request."""
    with psycopg.connect(database_url) as conn:
        entries = read_after(conn, 0, 10_000_000)
    seen: Counter[tuple[str, str, str]] = Counter()
    for entry in entries:
        event = entry.decode()
        if isinstance(event, OUTCOMES):
            seen[(str(entry.aggregate_id), event.request_id, entry.event_type)] += 1
    return [k for k, count in seen.items() if count > 1]


def unsettled(database_url: str) -> list[tuple[Any, ...]]:
    """Instances with a task still pending, and volumes still in transition."""
    with psycopg.connect(database_url) as conn:
        instances = conn.execute(
            "SELECT id, status, task_state FROM views.instances"
            " WHERE task_state IS NOT NULL AND deleted_at IS NULL").fetchall()
        volumes = conn.execute(
            sql.SQL("SELECT id, status FROM views.volumes WHERE status = ANY(%s)"),
            (list(TRANSITIONAL_VOLUME),)).fetchall()
    return [*instances, *volumes]


async def wait_until_settled(database_url: str) -> list[tuple[Any, ...]]:
    deadline = time.monotonic() + SETTLE_SECONDS
    while (left := await asyncio.to_thread(unsettled, database_url)) \
            and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    return left


async def replay(cloud: Cloud) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, [NIMBUS, "replay"], env=cloud.env(), capture_output=True, text=True,
        timeout=120)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_process_killed_mid_workload_loses_no_command_and_leaves_nothing_behind(
        kind: str, servers: Servers) -> None:
    async with cloud_running(servers) as cloud:
        clients = [Patient(f"http://127.0.0.1:{cloud.port}") for _ in range(CLIENTS)]
        try:
            for client in clients:
                await client.login()
            halfway = asyncio.Event()
            running = [asyncio.ensure_future(workload(c, n, halfway))
                       for n, c in enumerate(clients)]
            await asyncio.wait_for(halfway.wait(), WORKLOAD_SECONDS)
            if kind in PARTS:
                cloud.kill(kind)  # the supervisor starts it again
            else:
                await asyncio.to_thread(servers.kill_and_restart, kind)
            results = await asyncio.gather(*running, return_exceptions=True)
        finally:
            for client in clients:
                await client.http.aclose()
        failures = [r for r in results if isinstance(r, BaseException)]
        assert not failures, f"{failures}\n{cloud.logs()}"
        assert await wait_until_settled(cloud.database_url) == [], cloud.logs()
        assert duplicate_outcomes(cloud.database_url) == []
        replayed = await replay(cloud)
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        assert "the rebuilt views equal the old ones" in replayed.stdout
    # cloud_running has stopped every part; what they started must be gone too
    assert cloud.children, "the parts were seen to start no process (tgtd)"
    assert [p for p in cloud.children if alive(p)] == []
