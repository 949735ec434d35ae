"""``nimbus image upload`` and ``nimbus backup create|restore`` against a
running stack, as a user types them: a qcow2 made by qemu-img goes up and is
active with its size and checksums; a volume's backup restores into a new
volume holding the same bytes; bad input is one line and exit 1."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

from tests.e2e.test_cli_end_to_end import cli_home, fields, nimbus, one_error_line, user_env
from tests.e2e.test_volumes_api import volume_file, volumes_of, wait_for_volume
from tests.support.stack import RunningStack

__all__ = ["cli_home"]  # the fixture, used by name

MARK = b"nimbus backup round trip\n"


def a_qcow2(folder: Path, name: str) -> Path:
    path = folder / name
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "16M"], check=True)
    return path


async def test_an_uploaded_qcow2_is_active_with_its_size_and_checksums(
        running_stack: RunningStack, cli_home: Path, tmp_path: Path) -> None:
    env = user_env(running_stack, cli_home)
    disk = a_qcow2(tmp_path, "tiny.qcow2")
    data = disk.read_bytes()

    ran = await nimbus(env, "image", "upload", "--name", "tiny", "--json", str(disk))
    assert ran.code == 0 and ran.stderr == "", ran
    out = json.loads(ran.stdout)
    image = out["image"]
    assert (image["name"], image["status"], image["disk_format"],
            image["container_format"]) == ("tiny", "active", "qcow2", "bare")
    assert image["size"] == len(data) and image["checksum"] == hashlib.md5(data).hexdigest()
    assert (out["upload"]["done"], out["upload"]["unit"]) == (len(data), "bytes")
    r = await running_stack.http.get(f"/image/v2/images/{image['id']}")
    assert (r.json()["status"], r.json()["size"]) == ("active", len(data))
    assert r.json()["os_hash_value"] == hashlib.sha512(data).hexdigest()

    ran = await nimbus(env, "image", "upload", "--name", "tiny-again", str(disk))
    assert ran.code == 0, ran
    assert fields(ran.stdout)["status"] == "active"
    summary = ran.stderr.splitlines()  # no terminal: the summary lines, no bar
    assert summary[0].startswith(f"uploading tiny.qcow2: {len(data) / 1024:,.1f} KiB in ")
    assert summary[-1].startswith(f"image {fields(ran.stdout)['id']}: active in ")


async def test_an_upload_of_a_missing_file_or_a_bad_format_is_one_line(
        running_stack: RunningStack, cli_home: Path, tmp_path: Path) -> None:
    env = user_env(running_stack, cli_home)
    missing = await nimbus(env, "image", "upload", "--name", "x", str(tmp_path / "nope.qcow2"))
    assert one_error_line(missing) == f"no image file at {tmp_path / 'nope.qcow2'}"
    disk = a_qcow2(tmp_path, "bad.qcow2")
    refused = await nimbus(env, "image", "upload", "--name", "x", "--disk-format", "floppy",
                           str(disk))
    assert "disk_format" in one_error_line(refused)


async def test_a_backup_taken_and_restored_with_wait_gives_a_volume_with_the_same_bytes(
        running_stack: RunningStack, cli_home: Path) -> None:
    http = running_stack.http
    env = user_env(running_stack, cli_home)
    project = (await http.get("/identity/v3/projects", params={"name": "admin"})
               ).json()["projects"][0]["id"]
    base = volumes_of(project)
    r = await http.post(base, json={"volume": {"size": 1, "name": "kept"}})
    assert r.status_code == 202, r.text
    volume_id = r.json()["volume"]["id"]
    await wait_for_volume(http, f"{base}/{volume_id}", "available", {})
    with volume_file(running_stack, volume_id).open("r+b") as f:
        f.write(MARK)  # what the backup must carry over

    ran = await nimbus(env, "backup", "create", "kept", "--name", "b-kept", "--wait", "--json")
    assert ran.code == 0 and ran.stderr == "", ran
    taken = json.loads(ran.stdout)
    backup = taken["backup"]
    assert (backup["name"], backup["status"], backup["volume_id"]) == (
        "b-kept", "available", volume_id)
    assert taken["wait"]["status"] == "available"

    ran = await nimbus(env, "backup", "restore", "b-kept", "--volume", "kept-again",
                       "--wait", "--json")
    assert ran.code == 0 and ran.stderr == "", ran
    restored = json.loads(ran.stdout)
    assert restored["restore"]["backup_id"] == backup["id"]
    volume = restored["volume"]
    assert (volume["name"], volume["status"], volume["size"]) == ("kept-again", "available", 1)
    assert volume["id"] == restored["restore"]["volume_id"] != volume_id
    with volume_file(running_stack, volume["id"]).open("rb") as f:
        assert f.read(len(MARK)) == MARK


async def test_a_backup_of_an_unknown_volume_is_one_line(
        running_stack: RunningStack, cli_home: Path) -> None:
    env = user_env(running_stack, cli_home)
    ran = await nimbus(env, "backup", "create", "no-such-volume", "--wait")
    assert one_error_line(ran) == "404 No volume with a name or ID of 'no-such-volume' exists."
    ran = await nimbus(env, "backup", "restore", "no-such-backup")
    assert one_error_line(ran) == "404 No backup with a name or ID of 'no-such-backup' exists."


async def test_a_backup_that_the_storage_host_fails_ends_the_wait_with_exit_1(
        running_stack: RunningStack, cli_home: Path) -> None:
    http = running_stack.http
    env = user_env(running_stack, cli_home)
    project = (await http.get("/identity/v3/projects", params={"name": "admin"})
               ).json()["projects"][0]["id"]
    base = volumes_of(project)
    volume_id = (await http.post(base, json={"volume": {"size": 1, "name": "lost"}})
                 ).json()["volume"]["id"]
    await wait_for_volume(http, f"{base}/{volume_id}", "available", {})
    volume_file(running_stack, volume_id).unlink()  # the storage host cannot read it

    ran = await nimbus(env, "backup", "create", volume_id, "--wait")
    assert ran.code == 1, ran
    assert fields(ran.stdout)["status"] == "error"
    last = ran.stderr.splitlines()[-1]
    assert last.startswith(f"nimbus: error: backup {fields(ran.stdout)['id']} is error: "), ran
    assert "Traceback" not in ran.stderr
