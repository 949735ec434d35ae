"""The image write side on real PostgreSQL and a real directory: status
transitions, the size cap, and the file's life."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from commands.image_files import ImageFiles
from commands.images import NewImage
from commands.messages import Caller
from commands.services import Commands
from domain.errors import Forbidden, InvalidInput, InvalidState, NotFound, TooLarge

OWNER = Caller(user_id="u", project_id="p")
STRANGER = Caller(user_id="v", project_id="q")
RAW = NewImage(name="disk", disk_format="raw", container_format="bare")


@pytest.fixture
def commands(database_url: str, tmp_path: Path) -> Iterator[Commands]:
    opened = Commands.open(database_url, ["h1"])
    opened.image_files = ImageFiles(tmp_path, size_cap=1000)
    yield opened
    opened.close()


def upload(commands: Commands, image_id: str, data: bytes, request_id: str) -> str:
    commands.images.start_upload(image_id, OWNER, request_id)
    stored = commands.images.files.put(image_id, data)
    return commands.images.finish_upload(image_id, stored, request_id).state.status


def test_an_image_goes_queued_saving_active_with_checksums(commands: Commands) -> None:
    image_id = commands.images.create(RAW, OWNER, "req-c").state.id
    assert commands.images.image(image_id, OWNER).status == "queued"
    started = commands.images.start_upload(image_id, OWNER, "req-u")
    assert started.state.status == "saving"
    with pytest.raises(InvalidState, match="saving"):
        commands.images.start_upload(image_id, OWNER, "req-u2")
    stored = commands.images.files.put(image_id, b"abc")
    active = commands.images.finish_upload(image_id, stored, "req-u").state
    assert (active.status, active.size) == ("active", 3)
    assert active.checksum == hashlib.md5(b"abc").hexdigest()
    assert active.os_hash_value == hashlib.sha512(b"abc").hexdigest()
    assert commands.catalog.image(image_id, OWNER).id == image_id


def test_an_upload_over_the_cap_leaves_the_image_queued_and_no_file(
        commands: Commands, tmp_path: Path) -> None:
    image_id = commands.images.create(RAW, OWNER, "req-c").state.id
    commands.images.start_upload(image_id, OWNER, "req-u")
    writer = commands.images.files.upload(image_id)
    with pytest.raises(TooLarge):
        writer.write(b"x" * 600)
        writer.write(b"x" * 600)
    writer.abort()
    commands.images.fail_upload(image_id, "too large", "req-u")
    assert commands.images.image(image_id, OWNER).status == "queued"
    assert list(tmp_path.iterdir()) == []
    assert upload(commands, image_id, b"small", "req-u3") == "active"


def test_a_queued_or_foreign_image_cannot_be_booted(commands: Commands) -> None:
    image_id = commands.images.create(RAW, OWNER, "req-c").state.id
    with pytest.raises(InvalidInput, match="is not active"):
        commands.catalog.image(image_id, OWNER)
    upload(commands, image_id, b"data", "req-u")
    with pytest.raises(InvalidInput, match="could not be found"):
        commands.catalog.image(image_id, STRANGER)
    with pytest.raises(InvalidInput, match="could not be found"):
        commands.catalog.image("not-an-image", OWNER)


def test_only_the_owner_deletes_and_the_file_goes_with_the_image(
        commands: Commands, tmp_path: Path) -> None:
    image_id = commands.images.create(RAW, OWNER, "req-c").state.id
    upload(commands, image_id, b"data", "req-u")
    with pytest.raises(NotFound):
        commands.images.delete(image_id, STRANGER, "req-d0")
    assert (tmp_path / image_id).exists()
    commands.images.delete(image_id, OWNER, "req-d")
    assert not (tmp_path / image_id).exists()
    with pytest.raises(NotFound):
        commands.images.image(image_id, OWNER)


def test_a_retried_delete_answers_as_the_first_did_and_writes_nothing(
        commands: Commands) -> None:
    image_id = commands.images.create(RAW, OWNER, "req-c").state.id
    first = commands.images.delete(image_id, OWNER, "req-d")
    assert first.position is not None
    again = commands.images.delete(image_id, OWNER, "req-d")
    assert (again.position, again.state.status) == (None, "deleted")
    with pytest.raises(NotFound):
        commands.images.delete(image_id, OWNER, "req-d2")


def test_only_an_uploads_end_answers_it_so_a_failed_one_may_be_sent_again(
        commands: Commands) -> None:
    image_id = commands.images.create(RAW, OWNER, "req-c").state.id
    commands.images.start_upload(image_id, OWNER, "req-u")
    commands.images.fail_upload(image_id, "the client went away", "req-u")
    assert upload(commands, image_id, b"abc", "req-u") == "active"
    again = commands.images.start_upload(image_id, OWNER, "req-u")
    assert (again.position, again.state.status, again.state.size) == (None, "active", 3)


def test_only_an_admin_publishes_an_image(commands: Commands) -> None:
    public = NewImage(name="pub", visibility="public")
    with pytest.raises(Forbidden):
        commands.images.create(public, OWNER, "req-p")
    admin = Caller(user_id="a", project_id="adm", is_admin=True)
    image_id = commands.images.create(public, admin, "req-p2").state.id
    assert commands.images.image(image_id, STRANGER).visibility == "public"


def test_two_writers_of_one_image_at_once_both_finish_and_leave_the_bytes_whole(
        tmp_path: Path) -> None:
    files = ImageFiles(tmp_path)
    data = b"q" * 65536
    errors: list[BaseException] = []

    def write_often() -> None:
        try:
            for _ in range(200):
                files.put("seeded", data)
        except BaseException as error:
            errors.append(error)

    writers = [threading.Thread(target=write_often) for _ in range(4)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert errors == []
    assert files.path("seeded").read_bytes() == data and files.partial_uploads() == []


def test_removing_a_half_written_image_removes_every_writer_s_partial_file(
        tmp_path: Path) -> None:
    files = ImageFiles(tmp_path)
    (tmp_path / ".img.partial").write_bytes(b"a")
    (tmp_path / ".img.0f0f.partial").write_bytes(b"b")
    assert files.partial_uploads() == ["img"]
    files.remove_partial("img")
    assert files.partial_uploads() == [] and list(tmp_path.iterdir()) == []
