"""A snapshot (createImage) survives kill -9 of its host and of the control plane.

The cloud runs split, as an operator would run it: the control plane as one
``nimbus run api relay projector ingester`` process and the compute host as
``nimbus run hypervisor``, on the test's PostgreSQL database and NATS
subjects, sharing one state dir (one machine: the image store and the host's
outbox are on one file system). Each test kills both with SIGKILL at one
step of a snapshot and starts them again; afterwards the image is active
with the bytes of the guest's disk and the server has no task. To cut the
control plane after it stored the bytes and before it activated them, the
test holds the event table's lock (as a busy writer would) from the moment
the upload is recorded, so the activation cannot commit, and kills it once
the bytes are in the image store; tests/service/test_server_image_crash.py
cuts the same step on the write side alone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tests.support.nimbus_process import NIMBUS
from tests.support.polling import eventually, eventually_sync
from tests.support.stack import ADMIN_PASSWORD, auth_body, free_port

IMAGE = "cirros-0.6.2-x86_64-disk"
S = "/compute/v2.1/servers"
REDELIVERY_SECONDS = 120.0  # a bound: a killed host's request comes back after ack_wait (30 s)


@dataclass
class SplitCloud:
    """The control plane and one compute host, each its own process."""

    state: Path
    database_url: str
    nats_url: str
    prefix: str
    qemu_img: Path
    port: int = field(default_factory=free_port)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NIMBUS_", "OS_"))}
        env.update(NIMBUS_STATE_DIR=str(self.state), NIMBUS_DATABASE_URL=self.database_url,
                   NIMBUS_NATS_URL=self.nats_url, NIMBUS_SUBJECT_PREFIX=self.prefix,
                   NIMBUS_API_PORT=str(self.port), NIMBUS_METADATA_PORT=str(free_port()),
                   NIMBUS_NETWORK_DRIVER="recorded", NIMBUS_HOSTS="compute1",
                   NIMBUS_ADMIN_PASSWORD=ADMIN_PASSWORD, NIMBUS_REPORT_INTERVAL="1",
                   NIMBUS_QEMU_IMG=str(self.qemu_img))
        return env

    def start(self, name: str) -> None:
        parts = ["api", "relay", "projector", "ingester"] if name == "control" else [name]
        with (self.state / f"{name}.log").open("ab") as log:
            self.processes[name] = subprocess.Popen(
                [NIMBUS, "run", *parts], env=self.env(), stdin=subprocess.DEVNULL,
                stdout=log, stderr=log)

    def kill(self, name: str) -> None:
        process = self.processes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGKILL)
        process.wait(30)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()

    def log(self, name: str) -> str:
        return (self.state / f"{name}.log").read_text(errors="replace")


@contextlib.contextmanager
def split_cloud(database_url: str, nats_url: str, prefix: str,
                tmp_path: Path) -> Iterator[SplitCloud]:
    state = tmp_path / "state"
    state.mkdir()
    hang, mark = tmp_path / "hang-once", tmp_path / "converting"
    wrapper = tmp_path / "qemu-img"
    # the first convert after ``hang`` is made hangs (its pid in ``mark``), as a
    # long copy would; every other call is qemu-img's own
    wrapper.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = convert ] && [ -e {hang} ]; then rm -f {hang}; echo $$ > {mark};'
        " exec sleep 600; fi\n"
        'exec qemu-img "$@"\n')
    wrapper.chmod(0o755)
    cloud = SplitCloud(state, database_url, nats_url, prefix, wrapper)
    try:
        yield cloud
    finally:
        cloud.stop()
        if mark.exists():  # the hung copy, if the test did not end it
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(mark.read_text()), signal.SIGKILL)


@contextlib.asynccontextmanager
async def admin_client(cloud: SplitCloud) -> AsyncIterator[httpx.AsyncClient]:
    """An admin's client, once the control plane answers."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{cloud.port}",
                                 timeout=20) as http:
        http.headers["X-Auth-Token"] = await eventually(
            lambda: _token(http), timeout=60, what="the control plane answering")
        yield http


async def _token(http: httpx.AsyncClient) -> str | None:
    try:
        r = await http.post("/identity/v3/auth/tokens",
                            json=auth_body("admin", ADMIN_PASSWORD, "admin"))
    except httpx.TransportError:
        return None
    return r.headers["X-Subject-Token"] if r.status_code == 201 else None


async def booted(http: httpx.AsyncClient) -> str:
    async def placed() -> str | None:
        r = await http.post(S, json={"server": {"name": "vm", "imageRef": IMAGE,
                                                "flavorRef": "1"}})
        return str(r.json()["server"]["id"]) if r.status_code == 202 else None
    server_id = await eventually(placed, timeout=60, what="a boot accepted (the host is up)")
    await server_settled(http, server_id)
    return server_id


async def server_settled(http: httpx.AsyncClient, server_id: str,
                         timeout: float = 60) -> dict[str, Any]:
    async def settled() -> dict[str, Any] | None:
        r = await http.get(f"{S}/{server_id}")
        server: dict[str, Any] = r.json()["server"]
        if server["status"] == "ACTIVE" and server["OS-EXT-STS:task_state"] is None:
            return server
        return None
    return await eventually(settled, timeout=timeout, what=f"{server_id} ACTIVE, no task")


async def snapshot(http: httpx.AsyncClient, server_id: str) -> str:
    r = await http.post(f"{S}/{server_id}/action", json={"createImage": {"name": "snap"}})
    assert r.status_code == 202, r.text
    return r.headers["Location"].rsplit("/", 1)[1]


async def image_active(http: httpx.AsyncClient, image_id: str) -> dict[str, Any]:
    async def active() -> dict[str, Any] | None:
        r = await http.get(f"/image/v2/images/{image_id}")
        image: dict[str, Any] = r.json()
        return image if image["status"] == "active" else None
    return await eventually(active, timeout=REDELIVERY_SECONDS, what=f"{image_id} active")


def ended_while_waiting(conn: psycopg.Connection[Any]) -> None:
    """End the sessions waiting on the event table's lock (a killed process's
    write) and wait until they are gone, so none commits once the lock goes."""
    conn.execute("SELECT pg_terminate_backend(pid, 30000) FROM pg_locks"
                 " WHERE relation = 'nimbus_events'::regclass AND NOT granted"
                 " AND pid <> pg_backend_pid()")


def image_status_in_log(database_url: str, image_id: str) -> list[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT topic FROM nimbus_events WHERE originator_id = %s"
                            " ORDER BY originator_version", (image_id,)).fetchall()
    return [row[0].rsplit(":", 1)[1] for row in rows]


async def finished_after_restart(cloud: SplitCloud, server_id: str, image_id: str, *,
                                 cut_upload: bool = False) -> None:
    """Start both again: the snapshot ends with the image active, the task clear
    (``cut_upload``: after the upload the killed process was making is given up)."""
    cloud.start("control")
    cloud.start("hypervisor")
    async with admin_client(cloud) as http:
        image = await image_active(http, image_id)
        stored = cloud.state / "images" / image_id
        assert stored.read_bytes()[:4] == b"QFI\xfb" and stored.stat().st_size == image["size"]
        await server_settled(http, server_id, timeout=REDELIVERY_SECONDS)
    given_up = ["ImageUploadFailed", "ImageUploadStarted"] if cut_upload else []
    assert image_status_in_log(cloud.database_url, image_id) == [
        "ImageCreated", "ImageUploadStarted", *given_up, "ImageActivated"]


def fill(disk: Path, megabytes: int) -> None:
    """The guest's disk as if it had written ``megabytes`` MiB: the copy and
    its checksums then take long enough to be cut in the middle of."""
    raw = disk.with_suffix(".raw")
    with raw.open("wb") as data:
        for _ in range(megabytes):
            data.write(os.urandom(1 << 20))
    subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(disk)],
                   check=True)
    raw.unlink()


def logged(conn: psycopg.Connection[Any], aggregate_id: str, event_type: str) -> bool:
    return conn.execute("SELECT 1 FROM nimbus_events WHERE originator_id = %s AND topic"
                        " LIKE %s", (aggregate_id, f"%:{event_type}")).fetchone() is not None


async def test_a_snapshot_recorded_while_its_host_is_down_survives_a_killed_control_plane(
        database_url: str, nats_url: str, subject_prefix: str, tmp_path: Path) -> None:
    with split_cloud(database_url, nats_url, subject_prefix, tmp_path) as cloud:
        cloud.start("control")
        cloud.start("hypervisor")
        async with admin_client(cloud) as http:
            server_id = await booted(http)
            cloud.kill("hypervisor")
            image_id = await snapshot(http, server_id)  # the request is recorded, no more
            shown = (await http.get(f"{S}/{server_id}")).json()["server"]
            assert shown["OS-EXT-STS:task_state"] == "image_snapshot"
        cloud.kill("control")
        await finished_after_restart(cloud, server_id, image_id)


async def test_a_snapshot_whose_host_and_control_plane_die_while_converting_is_made_again(
        database_url: str, nats_url: str, subject_prefix: str, tmp_path: Path) -> None:
    with split_cloud(database_url, nats_url, subject_prefix, tmp_path) as cloud:
        cloud.start("control")
        cloud.start("hypervisor")
        async with admin_client(cloud) as http:
            server_id = await booted(http)
            (tmp_path / "hang-once").touch()
            image_id = await snapshot(http, server_id)
            converting = tmp_path / "converting"
            eventually_sync(lambda: converting.exists() and converting.read_text().strip(),
                            timeout=60, what="the host converting the disk")
        cloud.kill("hypervisor")
        cloud.kill("control")
        os.kill(int(converting.read_text()), signal.SIGKILL)  # the copy dies with its host
        outbox = cloud.state / "hosts" / "compute1-snapshots"
        assert [p.name for p in outbox.glob("*.qcow2")] == []  # nothing complete was left
        await finished_after_restart(cloud, server_id, image_id)
        assert list(outbox.iterdir()) == []  # the cut copy's remains went too


async def test_a_control_plane_killed_after_storing_the_bytes_activates_them_after_restart(
        database_url: str, nats_url: str, subject_prefix: str, tmp_path: Path) -> None:
    with split_cloud(database_url, nats_url, subject_prefix, tmp_path) as cloud:
        cloud.start("control")
        cloud.start("hypervisor")
        async with admin_client(cloud) as http:
            server_id = await booted(http)
            fill(cloud.state / "hosts" / "compute1-disks" / f"{server_id}.qcow2", 256)
            with psycopg.connect(database_url) as conn:
                image_id = await snapshot(http, server_id)
                eventually_sync(lambda: logged(conn, server_id, "InstanceSnapshotUploading"),
                                timeout=60, interval=0.005, what="the upload recorded")
                conn.execute("LOCK TABLE nimbus_events IN EXCLUSIVE MODE")  # no commit now
                stored = cloud.state / "images" / image_id
                eventually_sync(stored.exists, timeout=60, interval=0.005,
                                what="the bytes in the image store")
                cloud.kill("control")
                cloud.kill("hypervisor")
                assert not logged(conn, image_id, "ImageActivated")  # cut before activation
                # the activation may wait on the lock whole, its commit sent with it
                # (a pipeline): it would commit once the lock goes, dead client or not
                ended_while_waiting(conn)
                conn.rollback()
        await finished_after_restart(cloud, server_id, image_id, cut_upload=True)
