"""The whole nimbus stack running in the test's event loop, on real servers.

``stack_running`` starts API, relay, projector, ingester, two hypervisor
workers (libvirt test driver) and a storage worker against a database and a
NATS subject prefix of the caller's, and gives an authenticated HTTP client;
``serving`` is the start and stop under it, which bench/ runs too.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import msgspec

from messaging import nats as bus
from messaging.subjects import Subjects
from runtime import stack
from runtime.settings import Settings, load
from tests.support.polling import eventually

ADMIN_PASSWORD = "test-admin-password"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def new_subject_prefix() -> str:
    """A NATS subject prefix of its own (and so JetStream streams of its own)."""
    return "t" + uuid.uuid4().hex[:12]


def auth_body(user: str, password: str, project: str) -> dict[str, Any]:
    return {"auth": {
        "identity": {"methods": ["password"], "password": {
            "user": {"name": user, "domain": {"name": "Default"}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"name": "Default"}}},
    }}


@dataclass
class RunningStack:
    settings: Settings
    database_url: str
    nats_url: str
    http: httpx.AsyncClient  # carries the admin's token

    async def guests(self, host: str) -> list[dict[str, Any]]:
        """What the host's hypervisor worker reports it runs (asked over NATS)."""
        nc = await bus.connect(self.nats_url)
        try:
            reply = await bus.request(nc, Subjects(self.settings.subject_prefix).inspect(host),
                                      b"")
        finally:
            await nc.close()
        found: list[dict[str, Any]] = msgspec.json.decode(reply)
        return found

    async def wait_for_status(self, server_id: str, status: str, timeout: float = 15) -> dict[
            str, Any]:
        async def reached() -> dict[str, Any] | None:
            r = await self.http.get(f"/compute/v2.1/servers/{server_id}")
            assert r.status_code == 200, r.text
            body: dict[str, Any] = r.json()["server"]
            return body if body["status"] == status else None
        return await eventually(reached, timeout=timeout, what=f"{server_id} becoming {status}")

    async def disks(self, host: str, server_id: str) -> list[dict[str, Any]]:
        """The iSCSI disks in the guest's libvirt definition, as its host reports them."""
        nc = await bus.connect(self.nats_url)
        try:
            reply = await bus.request(nc, Subjects(self.settings.subject_prefix).disks(host),
                                      server_id.encode())
        finally:
            await nc.close()
        found: list[dict[str, Any]] = msgspec.json.decode(reply)
        return found

    async def hosts_once_reported(self, timeout: float = 15,
                                  hosts: list[str] | None = None) -> list[dict[str, Any]]:
        """The hypervisors once every host's worker (of ``hosts``: all) has
        reported (libvirt's node info and a first heartbeat); until then a host
        shows as down."""
        wanted = set(self.settings.hosts if hosts is None else hosts)

        async def reported() -> list[dict[str, Any]] | None:
            r = await self.http.get("/compute/v2.1/os-hypervisors/detail")
            assert r.status_code == 200, r.text
            found: list[dict[str, Any]] = r.json()["hypervisors"]
            up = {h["hypervisor_hostname"] for h in found
                  if h["hypervisor_type"] == "TEST" and h["state"] == "up"}
            return found if wanted <= up else None
        return await eventually(reported, timeout=timeout, what="every host reporting")

    async def wait_until_gone(self, server_id: str, timeout: float = 15) -> None:
        async def gone() -> bool:
            r = await self.http.get(f"/compute/v2.1/servers/{server_id}")
            return r.status_code == 404
        await eventually(gone, timeout=timeout, what=f"{server_id} being deleted")


@contextlib.asynccontextmanager
async def serving(
    settings: Settings, database_url: str, nats_url: str, *, keep_streams: bool = False,
    **serve: Any,
) -> AsyncIterator[asyncio.Future[None]]:
    """``runtime.stack.serve`` in this loop, ready (or what stopped it raised);
    stopped, and its streams deleted (unless ``keep_streams``: a stack started
    again on them finds them as a restart does), on the way out. ``serve`` are
    its keyword arguments (``hosts``, ``parts``)."""
    stop = asyncio.Event()
    ready = asyncio.Event()
    task = asyncio.ensure_future(stack.serve(settings, database_url, nats_url, stop,
                                             on_ready=ready.set, **serve))
    try:
        waiter = asyncio.ensure_future(ready.wait())
        await asyncio.wait([task, waiter], timeout=30, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if task.done():
            task.result()  # raises what stopped the stack
        if not ready.is_set():
            raise RuntimeError("the stack did not become ready within 30 s")
        yield task
    finally:
        stop.set()
        try:
            await asyncio.wait_for(task, 30)
        finally:
            if not keep_streams:
                await _delete_streams(nats_url, settings)


async def _delete_streams(nats_url: str, settings: Settings) -> None:
    nc = await bus.connect(nats_url)
    try:
        await bus.delete_streams(nc.jetstream(), Subjects(settings.subject_prefix))
    finally:
        await nc.close()


@contextlib.asynccontextmanager
async def stack_running(
    database_url: str, nats_url: str, subject_prefix: str, state_dir: Path,
    *, worker_hosts: list[str] | None = None, parts: frozenset[str] = stack.PARTS - {"metadata"},
    keep_streams: bool = False, **settings: Any,
) -> AsyncIterator[RunningStack]:
    """The stack's ``parts`` (default: all but the metadata service, which only
    its own tests need: one port fewer to find free) with hosts compute1 and compute2,
    a hypervisor worker for each of ``worker_hosts`` (default: both) and a
    storage worker for storage1; ``settings`` over the defaults. ``keep_streams``:
    the streams stay for a stack started next on them (see ``serving``)."""
    loaded = load({
        "state_dir": str(state_dir), "api_port": free_port(), "metadata_port": free_port(),
        "subject_prefix": subject_prefix, "network_driver": "recorded",
        "admin_password": ADMIN_PASSWORD, "hosts": ["compute1", "compute2"], **settings,
    }, env={})
    async with (serving(loaded, database_url, nats_url, hosts=worker_hosts, parts=parts,
                        keep_streams=keep_streams),
                httpx.AsyncClient(base_url=loaded.base_url, timeout=20) as http):
        r = await http.post("/identity/v3/auth/tokens",
                            json=auth_body("admin", ADMIN_PASSWORD, "admin"))
        assert r.status_code == 201, r.text
        http.headers["X-Auth-Token"] = r.headers["X-Subject-Token"]
        running = RunningStack(loaded, database_url, nats_url, http)
        if "hypervisor" in parts and "api" in parts:
            # a host's first report registers it: done before the test, so a test
            # comparing the log's head before and after sees no registration land
            await running.hosts_once_reported(
                hosts=loaded.hosts if worker_hosts is None else worker_hosts)
        yield running
