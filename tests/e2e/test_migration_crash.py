"""A resize and a live migration survive kill -9 of their hosts' workers and of
the control plane at every step: the cloud split into processes (api, relay,
projector, ingester, one ``nimbus run hypervisor --host H`` per host) over its
own PostgreSQL and nats-server. The worker of the host a step is addressed to
is killed before the step and kept down, so the move waits at that step; the
control plane is then killed too and comes back; then the worker does. A live
copy's worker is also killed during the copy, which starts again. At every
stop: one running guest at most, the instance recorded on a host that has its
guest, and a claim on each host exactly while the move needs it; at the end no
outcome was recorded twice and the views equal a replay.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import uuid
from collections.abc import AsyncIterator
from typing import Any

import msgspec

from messaging import nats as bus
from messaging.subjects import Subjects
from tests.e2e.test_crash_recovery import (
    NIMBUS,
    Cloud,
    Patient,
    Servers,
    duplicate_outcomes,
    replay,
    servers,  # noqa: F401 (the fixture)
    wait_until_settled,
)
from tests.support.stack import free_port

HOSTS = ("compute1", "compute2")
CONTROL = ("api", "relay", "projector", "ingester")
S = "/compute/v2.1/servers"


class MovingCloud(Cloud):
    """Two hypervisor hosts, each its own worker process (``hypervisor@host``)."""

    def env(self) -> dict[str, str]:
        return {**super().env(), "NIMBUS_HOSTS": ",".join(HOSTS),
                "NIMBUS_OPERATION_DEADLINE_SECONDS": "600"}

    def start(self, part: str) -> None:
        name, _, host = part.partition("@")
        args = [NIMBUS, "run", name, *(["--host", host] if host else [])]
        with (self.state / f"{part}.log").open("ab") as log:
            self.processes[part] = subprocess.Popen(
                args, env=self.env(), stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    def hold(self, host: str) -> None:
        """Kill -9 the host's worker and keep it down."""
        process = self.processes.pop(f"hypervisor@{host}")
        process.kill()
        process.wait(10)

    def release(self, host: str) -> None:
        self.start(f"hypervisor@{host}")

    def crash_control_plane(self) -> None:
        for part in CONTROL:
            self.kill(part)  # the supervisor starts each again

    async def guests(self, server_id: str) -> dict[str, str]:
        """The guest's state on each host whose worker runs (absent: none there)."""
        nc = await bus.connect(self.nats_url)
        found = {}
        try:
            for host in HOSTS:
                if f"hypervisor@{host}" not in self.processes:
                    continue
                reply = await self._ask(nc, Subjects(self.prefix).inspect(host))
                states = [g["state"] for g in msgspec.json.decode(reply)
                          if g["instance_id"] == server_id]
                found[host] = states[0] if states else "absent"
        finally:
            await nc.close()
        return found


    @staticmethod
    async def _ask(nc: bus.Connection, subject: str) -> bytes:
        """Ask a worker that may be starting (no responder yet): until it answers."""
        deadline = asyncio.get_running_loop().time() + 60
        while True:
            try:
                return await bus.request(nc, subject, b"", timeout=10)
            except Exception:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def moving_cloud(folders: Servers) -> AsyncIterator[MovingCloud]:
    state = folders.folder / "state"
    state.mkdir()
    cloud = MovingCloud(state, folders.postgres.url, folders.nats.url, free_port(),
                        "m" + uuid.uuid4().hex[:10])
    migrate = subprocess.run([NIMBUS, "db", "upgrade"], env=cloud.env(), capture_output=True,
                             text=True, timeout=120)
    assert migrate.returncode == 0, migrate.stderr
    for part in (*CONTROL, *(f"hypervisor@{h}" for h in HOSTS)):
        cloud.start(part)
    supervisor = asyncio.ensure_future(cloud.supervise())
    try:
        yield cloud
    finally:
        cloud.stopping = True
        supervisor.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await supervisor
        for process in cloud.processes.values():
            process.terminate()
        for process in cloud.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(30)


async def until(client: Patient, server_id: str, status: str, task: str | None,
                cloud: MovingCloud) -> dict[str, Any]:
    body = await client.settled(
        f"{S}/{server_id}", lambda b: (b["server"]["status"], b["server"]["OS-EXT-STS:task_state"])
        == (status, task))
    assert body is not None, cloud.logs()
    server: dict[str, Any] = body["server"]
    return server


async def claimed(client: Patient) -> dict[str, int]:
    r = await client.send("GET", "/compute/v2.1/os-hypervisors/detail")
    return {h["hypervisor_hostname"]: h["running_vms"] for h in r.json()["hypervisors"]}


async def claims_become(client: Patient, wanted: dict[str, int]) -> None:
    deadline = asyncio.get_running_loop().time() + 60
    while (now := await claimed(client)) != wanted:
        assert asyncio.get_running_loop().time() < deadline, now
        await asyncio.sleep(0.2)


async def test_a_resize_and_its_confirm_and_revert_survive_kill_9_at_every_step(
        servers: Servers) -> None:  # noqa: F811 (the fixture)
    async with moving_cloud(servers) as cloud:
        client = Patient(f"http://127.0.0.1:{cloud.port}")
        try:
            await client.login()
            r = await client.send("POST", S, key="mv-boot", json={"server": {
                "name": "mover", "imageRef": "cirros-0.6.2-x86_64-disk", "flavorRef": "1"}})
            assert r.status_code == 202, r.text
            sid = r.json()["server"]["id"]
            server = await until(client, sid, "ACTIVE", None, cloud)
            source = server["OS-EXT-SRV-ATTR:host"]
            dest = next(h for h in HOSTS if h != source)

            # the resize waits at its finish: the destination's worker is down
            cloud.hold(dest)
            r = await client.send("POST", f"{S}/{sid}/action", key="mv-resize",
                                  json={"resize": {"flavorRef": "2"}})
            assert r.status_code == 202, r.text
            server = await until(client, sid, "RESIZE", "resize_finish", cloud)
            assert server["OS-EXT-SRV-ATTR:host"] == source
            assert await cloud.guests(sid) == {source: "shutoff"}
            await claims_become(client, {source: 1, dest: 1})
            cloud.crash_control_plane()
            cloud.release(dest)
            server = await until(client, sid, "VERIFY_RESIZE", None, cloud)
            assert (server["OS-EXT-SRV-ATTR:host"], server["flavor"]["id"]) == (dest, "2")
            assert await cloud.guests(sid) == {source: "shutoff", dest: "running"}
            await claims_become(client, {source: 1, dest: 1})

            # the revert waits at its first step (the destination), then at its
            # second (the source), each time with the control plane killed too
            cloud.hold(dest)
            cloud.hold(source)
            r = await client.send("POST", f"{S}/{sid}/action", key="mv-revert",
                                  json={"revertResize": None})
            assert r.status_code == 202, r.text
            await until(client, sid, "REVERT_RESIZE", "resize_reverting", cloud)
            cloud.crash_control_plane()
            cloud.release(dest)
            await claims_become(client, {source: 1, dest: 1})
            assert await cloud.guests(sid) == {dest: "absent"}
            cloud.crash_control_plane()
            cloud.release(source)
            server = await until(client, sid, "ACTIVE", None, cloud)
            assert (server["OS-EXT-SRV-ATTR:host"], server["flavor"]["id"]) == (source, "1")
            assert await cloud.guests(sid) == {source: "running", dest: "absent"}
            await claims_become(client, {source: 1, dest: 0})

            # a cold migration's confirm waits at the source, killed with the control plane
            r = await client.send("POST", f"{S}/{sid}/action", key="mv-migrate",
                                  json={"migrate": None})
            assert r.status_code == 202, r.text
            await until(client, sid, "VERIFY_RESIZE", None, cloud)
            cloud.hold(source)
            r = await client.send("POST", f"{S}/{sid}/action", key="mv-confirm",
                                  json={"confirmResize": None})
            assert r.status_code == 204, r.text
            cloud.crash_control_plane()
            await claims_become(client, {source: 1, dest: 1})
            cloud.release(source)
            server = await until(client, sid, "ACTIVE", None, cloud)
            assert server["OS-EXT-SRV-ATTR:host"] == dest
            assert await cloud.guests(sid) == {source: "absent", dest: "running"}
            await claims_become(client, {source: 0, dest: 1})
        finally:
            await client.http.aclose()
        assert await wait_until_settled(cloud.database_url) == [], cloud.logs()
        assert duplicate_outcomes(cloud.database_url) == []
        replayed = await replay(cloud)
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        assert "the rebuilt views equal the old ones" in replayed.stdout


async def live_status(client: Patient, sid: str) -> str:
    r = await client.send("GET", f"/compute/v2.1/os-migrations?instance_uuid={sid}")
    found = r.json()["migrations"]
    return str(found[0]["status"]) if found else ""


async def status_becomes(client: Patient, sid: str, wanted: str) -> None:
    deadline = asyncio.get_running_loop().time() + 60
    while (now := await live_status(client, sid)) != wanted:
        assert asyncio.get_running_loop().time() < deadline, now
        await asyncio.sleep(0.2)


async def on_host(client: Patient, sid: str, host: str, status: str,
                  cloud: MovingCloud) -> dict[str, Any]:
    body = await client.settled(f"{S}/{sid}", lambda b: (
        b["server"]["OS-EXT-SRV-ATTR:host"], b["server"]["status"]) == (host, status))
    assert body is not None, cloud.logs()
    server: dict[str, Any] = body["server"]
    return server


async def copied_so_far(client: Patient, sid: str, cloud: MovingCloud) -> tuple[int, int]:
    """(id, memory processed) of the server's running live migration, once it reports."""
    deadline = asyncio.get_running_loop().time() + 60
    while True:
        r = await client.http.get(f"{S}/{sid}/migrations", headers={
            "X-Auth-Token": client.token, "OpenStack-API-Version": "compute 2.25"})
        running = [m for m in r.json().get("migrations", []) if m["memory_processed_bytes"]]
        if running:
            return running[0]["id"], running[0]["memory_processed_bytes"]
        if asyncio.get_running_loop().time() > deadline:
            ended = await client.send("GET", f"/compute/v2.1/os-migrations?instance_uuid={sid}")
            raise AssertionError(f"no copy running: {ended.text}\n{cloud.logs()}")
        await asyncio.sleep(0.2)


async def test_a_live_migration_survives_kill_9_at_every_step_and_during_its_copy(
        servers: Servers) -> None:  # noqa: F811 (the fixture)
    async with moving_cloud(servers) as cloud:
        client = Patient(f"http://127.0.0.1:{cloud.port}")
        live = {"os-migrateLive": {"host": None, "block_migration": False,
                                   "disk_over_commit": False}}
        try:
            await client.login()
            r = await client.send("POST", S, key="lv-boot", json={"server": {
                "name": "live", "imageRef": "cirros-0.6.2-x86_64-disk", "flavorRef": "1"}})
            sid = r.json()["server"]["id"]
            server = await until(client, sid, "ACTIVE", None, cloud)
            source = server["OS-EXT-SRV-ATTR:host"]
            dest = next(h for h in HOSTS if h != source)

            cloud.hold(dest)  # it waits at the prepare
            r = await client.send("POST", f"{S}/{sid}/action", key="lv-live", json=live)
            assert r.status_code == 202, r.text
            await status_becomes(client, sid, "preparing")
            assert await cloud.guests(sid) == {source: "running"}
            await claims_become(client, {source: 1, dest: 1})
            cloud.crash_control_plane()

            cloud.hold(source)  # then at the copy
            cloud.release(dest)
            await status_becomes(client, sid, "running")
            assert await cloud.guests(sid) == {dest: "shutoff"}
            cloud.crash_control_plane()

            cloud.hold(dest)  # then, past the switchover, at the destination's start
            cloud.release(source)
            await on_host(client, sid, dest, "MIGRATING", cloud)
            assert await cloud.guests(sid) == {source: "paused"}
            cloud.crash_control_plane()

            cloud.hold(source)  # then at the source's cleanup
            cloud.release(dest)
            deadline = asyncio.get_running_loop().time() + 60
            while (await cloud.guests(sid)).get(dest) != "running":
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.2)
            await claims_become(client, {source: 1, dest: 1})
            cloud.crash_control_plane()
            cloud.release(source)
            await on_host(client, sid, dest, "ACTIVE", cloud)
            await status_becomes(client, sid, "completed")
            assert await cloud.guests(sid) == {source: "absent", dest: "running"}
            await claims_become(client, {source: 0, dest: 1})

            # back again, a copy that does not converge: its worker killed during it
            r = await client.send("POST", f"{S}/{sid}/metadata", key="lv-md", json={
                "metadata": {"nimbus:sim-dirty-rate-mbps": "400"}})
            assert r.status_code == 200, r.text
            r = await client.send("POST", f"{S}/{sid}/action", key="lv-back", json=live)
            assert r.status_code == 202, r.text
            memory = 512 * 1024 * 1024
            deadline = asyncio.get_running_loop().time() + 60
            while (copied := await copied_so_far(client, sid, cloud))[1] < 2 * memory:  # 2 rounds
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.2)
            mid = copied[0]
            cloud.kill(f"hypervisor@{dest}")  # the supervisor starts it again
            deadline = asyncio.get_running_loop().time() + 90
            while (await copied_so_far(client, sid, cloud))[1] >= 2 * memory:  # it began again
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.2)
            assert await cloud.guests(sid) == {source: "shutoff", dest: "running"}
            r = await client.http.post(
                f"{S}/{sid}/migrations/{mid}/action", json={"force_complete": None},
                headers={"X-Auth-Token": client.token, "OpenStack-API-Version": "compute 2.25"})
            assert r.status_code == 202, r.text
            await on_host(client, sid, source, "ACTIVE", cloud)
            await status_becomes(client, sid, "completed")
            assert await cloud.guests(sid) == {source: "running", dest: "absent"}
            await claims_become(client, {source: 1, dest: 0})
        finally:
            await client.http.aclose()
        assert await wait_until_settled(cloud.database_url) == [], cloud.logs()
        assert duplicate_outcomes(cloud.database_url) == []
        replayed = await replay(cloud)
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        assert "the rebuilt views equal the old ones" in replayed.stdout
