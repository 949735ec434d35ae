"""createImage on the write side, on real PostgreSQL and real directories:
each way a snapshot can be cut short ends either with the image active or
with it deleted and the server's task clear, never ``queued`` or ``saving``
for a snapshot nobody will finish.

A process "dies" here as it would under kill -9 where it matters: its
upload lease (a PostgreSQL session, commands/upload_lease.py) is gone, what
it wrote to disk stays, and the host's report it had not acked comes again
to the next process.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest

from commands.deadlines import Deadlines
from commands.image_files import ImageFiles, Stored
from commands.messages import BootInstance, Caller, DeleteInstance
from commands.server_images import CreateServerImage, ServerImageCommands
from commands.services import Commands
from domain import image as image_model
from domain import instance as model
from domain.registry import IMAGE as IMAGE_KIND
from messaging.wire import HostOutcome
from tests.service.test_deadlines import START
from tests.support.clock import SetClock
from tests.support.cloud import IMAGE, open_cloud

OWNER = Caller(user_id="u", project_id="p")


class Died(Exception):
    """Where the process is cut off."""


class DiesAfterStoring(ImageFiles):
    """Stores the bytes as every process does, then dies before activating them."""

    def adopt(self, image_id: str, source: Path) -> Stored:
        super().adopt(image_id, source)
        raise Died


@pytest.fixture
def cloud(database_url: str, tmp_path: Path) -> Iterator[Commands]:
    opened = open_cloud(database_url, ["compute1"])
    opened.image_files = ImageFiles(tmp_path / "images")
    opened.app.clock = SetClock(START)
    yield opened
    opened.close()


def booted(cloud: Commands, name: str) -> str:
    accepted = cloud.instances.boot(BootInstance(request_id=f"boot-{name}", caller=OWNER,
                                                 name=name, flavor_ref="1", image_ref=IMAGE))
    cloud.server_images.record_outcome(HostOutcome(
        instance_id=accepted.instance_id, request_id=f"boot-{name}", host="compute1", ok=True,
        at=START))
    return accepted.instance_id


def host_copy(tmp_path: Path, image_id: str) -> Path:
    """What the host's worker leaves in its outbox: a real qcow2 copy."""
    outbox = tmp_path / "compute1-snapshots"
    outbox.mkdir(exist_ok=True)
    path = outbox / f"{image_id}.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "1G"], check=True)
    return path


def requested(cloud: Commands, server_id: str, request_id: str) -> str:
    written = cloud.server_images.create_image(CreateServerImage(
        request_id=request_id, caller=OWNER, instance_id=server_id, name="snap"))
    assert written.state.snapshot_image is not None
    return written.state.snapshot_image


def copied(image_id: str, server_id: str, request_id: str, path: Path,
           ok: bool = True) -> HostOutcome:
    return HostOutcome(instance_id=server_id, request_id=request_id, host="compute1", ok=ok,
                       at=START, image_file=str(path) if ok else "",
                       reason="" if ok else "qemu-img convert failed")


def image(cloud: Commands, image_id: str) -> image_model.ImageState:
    found = cloud.app.find(IMAGE_KIND, UUID(image_id))
    assert found is not None
    return found.state


def server(cloud: Commands, server_id: str) -> model.Instance:
    return cloud.instances.instance(server_id, OWNER)


def test_a_snapshot_is_queued_then_taken_then_active_with_the_copy_s_checksums(
        cloud: Commands, tmp_path: Path) -> None:
    server_id = booted(cloud, "plain")
    image_id = requested(cloud, server_id, "snap-1")
    assert image(cloud, image_id).status == "queued"
    assert server(cloud, server_id).task_state == "image_snapshot"
    path = host_copy(tmp_path, image_id)
    data = path.read_bytes()
    outcome = copied(image_id, server_id, "snap-1", path)
    cloud.server_images.record_outcome(outcome)
    done = image(cloud, image_id)
    assert (done.status, done.size, done.checksum, done.os_hash_value) == (
        "active", len(data), hashlib.md5(data).hexdigest(), hashlib.sha512(data).hexdigest())
    assert (tmp_path / "images" / image_id).read_bytes() == data
    assert not path.exists()  # the host's copy went once stored
    assert server(cloud, server_id).task_state is None
    assert cloud.server_images.record_outcome(outcome) is None  # delivered again: nothing


def test_a_control_plane_that_dies_after_storing_the_bytes_finishes_on_the_next(
        cloud: Commands, database_url: str, tmp_path: Path) -> None:
    server_id = booted(cloud, "cut")
    image_id = requested(cloud, server_id, "snap-cut")
    path = host_copy(tmp_path, image_id)
    outcome = copied(image_id, server_id, "snap-cut", path)
    dying = ServerImageCommands(cloud.app, cloud.instances,
                                DiesAfterStoring(tmp_path / "images"), cloud.upload_lease)
    with pytest.raises(Died):
        dying.record_outcome(outcome)
    assert (image(cloud, image_id).status, server(cloud, server_id).task_state) == (
        "saving", "image_uploading")
    cloud.upload_lease.close()  # the process is gone, and its lease with it

    after = open_cloud(database_url, ["compute1"])
    try:
        after.image_files = ImageFiles(tmp_path / "images")
        assert after.images.recover_cut_uploads() == [image_id]  # as every start does
        assert image(after, image_id).status == "queued"
        after.server_images.record_outcome(outcome)  # the report it had not acked
        assert image(after, image_id).status == "active"
        assert server(after, server_id).task_state is None
        assert (tmp_path / "images" / image_id).exists() and not path.exists()
    finally:
        after.close()


def test_a_host_s_refusal_deletes_the_image_and_clears_the_task(
        cloud: Commands, tmp_path: Path) -> None:
    server_id = booted(cloud, "refused")
    image_id = requested(cloud, server_id, "snap-no")
    cloud.server_images.record_outcome(copied(image_id, server_id, "snap-no", tmp_path,
                                              ok=False))
    assert image(cloud, image_id).status == "deleted"
    state = server(cloud, server_id)
    assert (state.task_state, state.vm_state, state.fault) == (
        None, "active", "qemu-img convert failed")


def test_a_copy_that_is_gone_before_it_is_stored_fails_the_snapshot(
        cloud: Commands, tmp_path: Path) -> None:
    server_id = booted(cloud, "lost")
    image_id = requested(cloud, server_id, "snap-lost")
    cloud.server_images.record_outcome(copied(image_id, server_id, "snap-lost",
                                              tmp_path / "nowhere.qcow2"))
    assert image(cloud, image_id).status == "deleted"
    assert "is gone" in (server(cloud, server_id).fault or "")


def test_a_snapshot_past_its_deadline_ends_failed_and_its_image_goes(
        cloud: Commands, tmp_path: Path) -> None:
    server_id = booted(cloud, "late")
    image_id = requested(cloud, server_id, "snap-late")
    sweeper = Deadlines(cloud.app, lambda _: [("instance", UUID(server_id))],
                        deadline_seconds=300, clock=lambda: START + timedelta(seconds=301))
    assert sweeper.sweep() == [UUID(server_id)]
    assert image(cloud, image_id).status == "deleted"
    assert server(cloud, server_id).task_state is None
    # the host's late answer stores nothing and leaves nothing behind
    path = host_copy(tmp_path, image_id)
    cloud.server_images.record_outcome(copied(image_id, server_id, "snap-late", path))
    assert not path.exists() and not (tmp_path / "images" / image_id).exists()


def test_a_server_deleted_during_its_snapshot_takes_the_image_with_it(
        cloud: Commands) -> None:
    server_id = booted(cloud, "gone")
    image_id = requested(cloud, server_id, "snap-gone")
    cloud.instances.act(DeleteInstance(request_id="del", caller=OWNER, instance_id=server_id))
    assert image(cloud, image_id).status == "deleted"


def test_an_image_deleted_by_its_owner_during_the_snapshot_fails_it_and_stores_nothing(
        cloud: Commands, tmp_path: Path) -> None:
    server_id = booted(cloud, "unwanted")
    image_id = requested(cloud, server_id, "snap-unwanted")
    cloud.images.delete(image_id, OWNER, "delete-unwanted")
    path = host_copy(tmp_path, image_id)
    cloud.server_images.record_outcome(copied(image_id, server_id, "snap-unwanted", path))
    state = server(cloud, server_id)
    assert (state.task_state, image(cloud, image_id).status) == (None, "deleted")
    assert "cannot be stored" in (state.fault or "")
    assert not path.exists() and not (tmp_path / "images" / image_id).exists()
