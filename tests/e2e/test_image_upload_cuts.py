"""An image upload that does not complete never leaves the image ``saving``:
a client that goes away, a process that is killed, a delete in the middle."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
import msgspec
import pytest

from commands.application import NimbusApplication
from commands.image_files import ImageFiles
from commands.images import NewImage
from commands.messages import Caller
from commands.services import Commands
from domain import image as model
from domain.errors import InvalidState, NotFound
from tests.e2e.test_flavors_api import member_token
from tests.support.cloud import events_of
from tests.support.polling import eventually, eventually_sync
from tests.support.stack import ADMIN_PASSWORD, RunningStack, auth_body, free_port

IMAGES = "/image/v2/images"
DATA = bytes(range(256)) * 4096  # 1 MiB
NIMBUS = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "nimbus")


def partials(image_dir: Path) -> list[str]:
    return sorted(p.name for p in image_dir.glob(".*.partial")) if image_dir.exists() else []


async def new_image(http: httpx.AsyncClient, headers: dict[str, str]) -> str:
    r = await http.post(IMAGES, headers=headers, json={
        "name": "half", "disk_format": "raw", "container_format": "bare"})
    assert r.status_code == 201, r.text
    image_id: str = r.json()["id"]
    return image_id


@contextlib.asynccontextmanager
async def half_sent(base_url: str, image_id: str, headers: dict[str, str],
                    image_dir: Path) -> AsyncIterator[asyncio.StreamWriter]:
    """An upload of DATA whose first half is sent and on disk; the rest never comes."""
    url = urlparse(base_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    head = "".join(f"{k}: {v}\r\n" for k, v in {
        "Host": url.netloc, "Content-Type": "application/octet-stream",
        "Content-Length": str(len(DATA)), **headers}.items())
    writer.write(f"PUT {IMAGES}/{image_id}/file HTTP/1.1\r\n{head}\r\n".encode())
    writer.write(DATA[:len(DATA) // 2])
    await writer.drain()
    partial = image_dir / f".{image_id}.partial"

    async def half_written() -> bool:
        return partial.exists() and partial.stat().st_size >= len(DATA) // 2
    await eventually(half_written, what="half the upload being written")
    try:
        yield writer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
        del reader


async def status_of(http: httpx.AsyncClient, image_id: str, headers: dict[str, str],
                    wanted: str) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        r = await http.get(f"{IMAGES}/{image_id}", headers=headers)
        found: dict[str, Any] = r.json() if r.status_code == 200 else {}
        return found if found.get("status") == wanted else None
    return await eventually(reached, what=f"{image_id} becoming {wanted}")


async def upload_works(http: httpx.AsyncClient, image_id: str,
                       headers: dict[str, str]) -> None:
    r = await http.put(f"{IMAGES}/{image_id}/file", content=DATA,
                       headers={**headers, "Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    shown = await status_of(http, image_id, headers, "active")
    assert shown["size"] == len(DATA)
    assert (await http.get(f"{IMAGES}/{image_id}/file", headers=headers)).content == DATA


async def test_a_client_that_goes_away_mid_upload_leaves_the_image_queued_and_no_partial(
        running_stack: RunningStack) -> None:
    http, member = running_stack.http, member_token(running_stack, "proj-a")
    image_dir = running_stack.settings.state_path / "images"
    image_id = await new_image(http, member)
    async with half_sent(running_stack.settings.base_url, image_id, member, image_dir):
        await status_of(http, image_id, member, "saving")
    await status_of(http, image_id, member, "queued")
    assert partials(image_dir) == []
    await upload_works(http, image_id, member)


async def test_deleting_an_image_mid_upload_removes_the_partial_and_the_image_stays_gone(
        running_stack: RunningStack) -> None:
    http, member = running_stack.http, member_token(running_stack, "proj-a")
    image_dir = running_stack.settings.state_path / "images"
    image_id = await new_image(http, member)
    async with half_sent(running_stack.settings.base_url, image_id, member, image_dir) as w:
        r = await http.delete(f"{IMAGES}/{image_id}", headers=member)
        assert r.status_code == 204, r.text
        assert partials(image_dir) == []
        w.write(DATA[len(DATA) // 2:])  # the rest arrives after the delete
        await w.drain()
    assert (await http.get(f"{IMAGES}/{image_id}", headers=member)).status_code == 404
    assert partials(image_dir) == [] and not (image_dir / image_id).exists()


@contextlib.contextmanager
def command_api(database_url: str, nats_url: str, prefix: str, state_dir: Path,
                port: int) -> Iterator[subprocess.Popen[bytes]]:
    """``nimbus run api --role command`` as its own process (killed at the end)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NIMBUS_", "OS_"))}
    env.update(NIMBUS_DATABASE_URL=database_url, NIMBUS_NATS_URL=nats_url,
               NIMBUS_SUBJECT_PREFIX=prefix, NIMBUS_STATE_DIR=str(state_dir),
               NIMBUS_API_PORT=str(port), NIMBUS_ADMIN_PASSWORD=ADMIN_PASSWORD)
    with (state_dir / "api.log").open("ab") as log:
        process = subprocess.Popen([NIMBUS, "run", "api", "--role", "command"], env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)


async def admin_token(base_url: str, process: subprocess.Popen[bytes]) -> dict[str, str]:
    """The admin's token once the API answers."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        while True:
            assert process.poll() is None, "the API process stopped"
            with contextlib.suppress(httpx.TransportError):
                r = await http.post("/identity/v3/auth/tokens",
                                    json=auth_body("admin", ADMIN_PASSWORD, "admin"))
                if r.status_code == 201:
                    return {"X-Auth-Token": r.headers["X-Subject-Token"]}
            await asyncio.sleep(0.1)


def stored_image(database_url: str, image_id: str) -> tuple[model.ImageState, list[str]]:
    """The image as the write side knows it, and the reasons its uploads failed."""
    app = NimbusApplication(database_url)
    try:
        found = app.load(uuid.UUID(image_id))
        assert found is not None
    finally:
        app.close()
    reasons = [msgspec.json.decode(e.state, type=model.ImageUploadFailed).reason
               for e in events_of(database_url, image_id) if e.event_type == "ImageUploadFailed"]
    return found.state, reasons


async def test_an_upload_cut_by_a_killed_api_process_is_given_up_when_it_starts_again(
        database_url: str, nats_url: str, subject_prefix: str, tmp_path: Path) -> None:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    image_dir = tmp_path / "images"
    with command_api(database_url, nats_url, subject_prefix, tmp_path, port) as process:
        admin = await admin_token(base_url, process)
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
            image_id = await new_image(http, admin)
            async with half_sent(base_url, image_id, admin, image_dir):
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=30)
    state, _ = stored_image(database_url, image_id)
    assert state.status == "saving" and partials(image_dir) == [f".{image_id}.partial"]

    with command_api(database_url, nats_url, subject_prefix, tmp_path, port) as process:
        admin = await admin_token(base_url, process)
        state, reasons = stored_image(database_url, image_id)
        assert state.status == "queued"
        assert reasons == ["the upload was cut off: the process receiving it stopped before "
                           "it completed"]
        assert partials(image_dir) == []
        async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
            r = await http.put(f"{IMAGES}/{image_id}/file", content=DATA,
                               headers={**admin, "Content-Type": "application/octet-stream"})
            assert r.status_code == 204, r.text
        state, _ = stored_image(database_url, image_id)
        assert (state.status, state.size) == ("active", len(DATA))
        assert (image_dir / image_id).read_bytes() == DATA


OWNER = Caller(user_id="u", project_id="p")


@contextlib.contextmanager
def process(database_url: str, image_dir: Path) -> Iterator[Commands]:
    """The command services as one API process has them (its own upload lease)."""
    opened = Commands.open(database_url, ["h1"])
    opened.image_files = ImageFiles(image_dir)
    try:
        yield opened
    finally:
        opened.close()


def test_an_upload_is_taken_over_only_once_its_receiving_process_is_gone(
        database_url: str, tmp_path: Path) -> None:
    with process(database_url, tmp_path) as first, process(database_url, tmp_path) as second:
        image_id = first.images.create(NewImage(name="disk", disk_format="raw",
                                                container_format="bare"), OWNER, "r-c").state.id
        first.images.start_upload(image_id, OWNER, "r-up-1")
        with pytest.raises(InvalidState, match="saving"):  # its receiver is alive
            second.images.start_upload(image_id, OWNER, "r-up-2")
        assert second.images.recover_cut_uploads() == []
        first.upload_lease.close()  # as when the first process dies: its session ends
        # the server ends the session (and its lock) once it sees the client gone
        eventually_sync(lambda: not second.upload_lease.alive(first.upload_lease.owner),
                        what="the first process's lease ended")
        started = second.images.start_upload(image_id, OWNER, "r-up-2").state
        assert (started.status, started.upload_request) == ("saving", "r-up-2")
        assert [e.event_type for e in events_of(database_url, image_id)][-2:] == [
            "ImageUploadFailed", "ImageUploadStarted"]

        stored = first.images.files.put(image_id, b"late bytes")  # the first one's, late
        with pytest.raises(InvalidState, match="given up"):
            first.images.finish_upload(image_id, stored, "r-up-1")
        assert first.images.fail_upload(image_id, "late", "r-up-1").position is None
        done = second.images.finish_upload(
            image_id, second.images.files.put(image_id, DATA), "r-up-2").state
        assert (done.status, done.size) == ("active", len(DATA))


def test_a_late_upload_to_a_deleted_image_leaves_no_bytes_and_no_image(
        database_url: str, tmp_path: Path) -> None:
    with process(database_url, tmp_path) as cloud:
        image_id = cloud.images.create(NewImage(name="disk", disk_format="raw",
                                                container_format="bare"), OWNER, "r-c").state.id
        cloud.images.start_upload(image_id, OWNER, "r-up")
        upload = cloud.images.files.upload(image_id)
        upload.write(DATA[:1000])
        cloud.images.delete(image_id, OWNER, "r-del")
        assert partials(tmp_path) == []
        upload.write(DATA[1000:])
        with pytest.raises(OSError):  # its half-written file went with the image
            upload.finish()
        stored = cloud.images.files.put(image_id, DATA)  # had it been renamed in time
        with pytest.raises(InvalidState):
            cloud.images.finish_upload(image_id, stored, "r-up")
        assert not (tmp_path / image_id).exists()
        with pytest.raises(NotFound):
            cloud.images.image(image_id, OWNER)
