"""createImage over HTTP, with the whole stack on real parts: the guest's real
qcow2 root disk is copied by ``qemu-img convert`` on its host, stored as the
image's bytes with their checksums, and a server boots from the image; the
refusals write nothing; a failing ``qemu-img`` leaves no image behind."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import httpx
import psycopg

from tests.e2e.test_flavors_api import member_token
from tests.e2e.test_instances_http import act, boot, log_head, settled
from tests.e2e.test_volumes_api import booted, volumes_of, wait_for_volume
from tests.support.polling import eventually
from tests.support.stack import RunningStack, stack_running

S = "/compute/v2.1/servers"
IMAGES = "/image/v2/images"


def create_image(name: Any = "snap", **extra: Any) -> dict[str, Any]:
    return {"createImage": {"name": name, **extra}}


def image_of(answer: httpx.Response) -> str:
    """The image id a createImage answer names (its Location, as before 2.45)."""
    assert answer.status_code == 202, answer.text
    return answer.headers["Location"].rsplit("/", 1)[1]


async def image_once(stack: RunningStack, image_id: str, status: str,
                     headers: dict[str, str] | None = None) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        r = await stack.http.get(f"{IMAGES}/{image_id}", headers=headers)
        shown: dict[str, Any] = r.json() if r.status_code == 200 else {}
        return shown if shown.get("status") == status else None
    return await eventually(reached, what=f"image {image_id} {status}")


async def image_gone(stack: RunningStack, image_id: str) -> None:
    async def gone() -> bool:
        return (await stack.http.get(f"{IMAGES}/{image_id}")).status_code == 404
    await eventually(gone, what=f"image {image_id} deleted")


async def task_cleared(stack: RunningStack, server_id: str) -> dict[str, Any]:
    async def cleared() -> dict[str, Any] | None:
        server: dict[str, Any] = (await stack.http.get(f"{S}/{server_id}")).json()["server"]
        return server if server["OS-EXT-STS:task_state"] is None else None
    return await eventually(cleared, what=f"{server_id} with no task")


def events_named(stack: RunningStack, aggregate_id: str) -> list[str]:
    with psycopg.connect(stack.database_url) as conn:
        rows = conn.execute("SELECT topic FROM nimbus_events WHERE originator_id = %s"
                            " ORDER BY originator_version", (aggregate_id,)).fetchall()
    return [row[0].rsplit(":", 1)[1] for row in rows]


async def test_a_snapshot_of_a_server_is_an_active_private_image_of_its_disk_that_boots(
        running_stack: RunningStack) -> None:
    stack = running_stack
    server_id = await boot(stack, "origin")
    r = await act(stack.http, server_id, create_image("img1", metadata={"purpose": "test"}))
    image_id = image_of(r)
    assert r.content == b""  # before 2.45 the Location alone names it
    reserved = (await stack.http.get(f"{IMAGES}/{image_id}")).json()
    assert reserved["name"] == "img1" and reserved["status"] in ("queued", "saving", "active")
    image = await image_once(stack, image_id, "active")
    project = (await stack.http.get(f"{S}/{server_id}")).json()["server"]["tenant_id"]
    assert (image["visibility"], image["owner"], image["disk_format"],
            image["container_format"]) == ("private", project, "qcow2", "bare")
    assert (image["instance_uuid"], image["image_type"], image["purpose"]) == (
        server_id, "snapshot", "test")
    assert image["base_image_ref"] == "2a9b8f3e-1c4d-4e5f-8a6b-7c8d9e0f1a2b"
    data = (await stack.http.get(f"{IMAGES}/{image_id}/file")).content
    assert data[:4] == b"QFI\xfb" and len(data) == image["size"]
    assert hashlib.md5(data).hexdigest() == image["checksum"]
    assert (image["os_hash_algo"], image["os_hash_value"]) == (
        "sha512", hashlib.sha512(data).hexdigest())
    info = subprocess.run(["qemu-img", "info", "--output=json", "-f", "qcow2",
                           str(stack.settings.state_path / "images" / image_id)],
                          capture_output=True, text=True, check=True)
    assert '"virtual-size": 1073741824' in info.stdout  # the flavor's 1 GiB root disk
    server = await task_cleared(stack, server_id)
    assert server["status"] == "ACTIVE"
    assert events_named(stack, server_id)[-4:] == [
        "InstanceSnapshotRequested", "InstanceSnapshotTaken", "InstanceSnapshotUploading",
        "InstanceSnapshotted"]
    assert events_named(stack, image_id) == [
        "ImageCreated", "ImageUploadStarted", "ImageActivated"]
    actions = (await stack.http.get(f"{S}/{server_id}/os-instance-actions")).json()
    assert actions["instanceActions"][0]["action"] == "createImage"
    outbox = stack.settings.state_path / "hosts" / f"{server['OS-EXT-SRV-ATTR:host']}-snapshots"
    assert not list(outbox.glob("*"))  # the host's copy went once stored

    from_snapshot = await stack.http.post(S, json={"server": {
        "name": "from-snapshot", "imageRef": image_id, "flavorRef": "1"}})
    assert from_snapshot.status_code == 202, from_snapshot.text
    await stack.wait_for_status(from_snapshot.json()["server"]["id"], "ACTIVE")


async def test_a_stopped_server_is_snapshotted_and_stays_stopped(
        running_stack: RunningStack) -> None:
    server_id = await boot(running_stack, "stopped")
    await act(running_stack.http, server_id, {"os-stop": None})
    await running_stack.wait_for_status(server_id, "SHUTOFF")
    await task_cleared(running_stack, server_id)
    image_id = image_of(await act(running_stack.http, server_id, create_image()))
    await image_once(running_stack, image_id, "active")
    assert (await task_cleared(running_stack, server_id))["status"] == "SHUTOFF"


async def test_refused_snapshots_write_nothing_and_say_why(
        running_stack: RunningStack) -> None:
    stack, http = running_stack, running_stack.http
    server_id = await boot(stack, "refusals")
    before = log_head(stack)
    for body, status, words in (
            ({"createImage": {}}, 400, "'name' is a required property"),
            (create_image(""), 400, "1 to 255 characters"),
            (create_image("x" * 256), 400, "1 to 255 characters"),
            (create_image(7), 400, "is not of type 'string'"),
            (create_image(" edge"), 400, "leading or trailing spaces"),
            (create_image(metadata={"k": 1}), 400, "metadata"),
            (create_image(metadata={f"k{i}": "v" for i in range(129)}), 403,
             "Maximum number of metadata items exceeds 128"),
            ({"createImage": {"name": "n", "extra": 1}}, 400, "'extra' were unexpected")):
        r = await act(http, server_id, body)
        assert r.status_code == status and words in r.text, (body, r.text)
    other = member_token(stack, "proj-other")
    r = await http.post(f"{S}/{server_id}/action", json=create_image(), headers=other)
    assert r.status_code == 404 and "could not be found" in r.text
    assert log_head(stack) == before  # nothing written

    paused = await act(http, server_id, {"pause": None})
    r = await act(http, server_id, create_image("busy"))  # the pause is in flight
    if r.status_code != 202:  # (unless the host was quicker than this request)
        assert r.status_code == 409, r.text
        assert (f"Cannot 'createImage' instance {server_id} while it is in task_state "
                "pausing") in r.text
    await settled(stack, server_id, "PAUSED", paused)
    image_id = image_of(await act(http, server_id, create_image("of-paused")))
    await image_once(stack, image_id, "active")
    assert (await task_cleared(stack, server_id))["status"] == "PAUSED"

    member = member_token(stack, "proj-locked")
    mine = await http.post(S, headers=member, json={"server": {
        "name": "locked", "imageRef": "2a9b8f3e-1c4d-4e5f-8a6b-7c8d9e0f1a2b",
        "flavorRef": "1"}})
    mine_id = mine.json()["server"]["id"]
    await stack.wait_for_status(mine_id, "ACTIVE")
    await http.post(f"{S}/{mine_id}/action", json={"lock": None}, headers=member)
    r = await http.post(f"{S}/{mine_id}/action", json=create_image(), headers=member)
    assert r.status_code == 409 and f"Instance {mine_id} is locked" in r.text

    await http.delete(f"{S}/{server_id}")
    await stack.wait_until_gone(server_id)
    r = await act(http, server_id, create_image())
    assert r.status_code == 404, r.text


async def test_a_failing_qemu_img_deletes_the_image_and_records_the_error(
        database_url: str, nats_url: str, subject_prefix: str, tmp_path: Path) -> None:
    failing = tmp_path / "qemu-img"
    failing.write_text('#!/bin/sh\nif [ "$1" = convert ]; then echo "disk on fire" >&2;'
                       ' exit 1; fi\nexec qemu-img "$@"\n')
    failing.chmod(0o755)
    async with stack_running(database_url, nats_url, subject_prefix, tmp_path / "state",
                             qemu_img=str(failing)) as stack:
        server_id = await boot(stack, "doomed")
        image_id = image_of(await act(stack.http, server_id, create_image()))
        await image_gone(stack, image_id)
        server = await task_cleared(stack, server_id)
        assert server["status"] == "ACTIVE"
        actions = (await stack.http.get(f"{S}/{server_id}/os-instance-actions")).json()
        request_id = actions["instanceActions"][0]["request_id"]
        assert actions["instanceActions"][0]["action"] == "createImage"
        shown = (await stack.http.get(f"{S}/{server_id}/os-instance-actions/{request_id}",
                                      headers={"OpenStack-API-Version": "compute 2.21"})).json()
        assert "disk on fire" in str(shown), shown
        assert events_named(stack, image_id) == ["ImageCreated", "ImageDeleted"]


async def test_a_server_with_a_volume_attached_is_snapshotted_root_disk_only(
        running_stack: RunningStack) -> None:
    stack, http = running_stack, running_stack.http
    server = await booted(stack)
    base = volumes_of(server["tenant_id"])
    volume_id = (await http.post(base, json={"volume": {"size": 2}})).json()["volume"]["id"]
    await wait_for_volume(http, f"{base}/{volume_id}", "available", {})
    attachments = f"{S}/{server['id']}/os-volume_attachments"
    r = await http.post(attachments, json={"volumeAttachment": {"volumeId": volume_id}})
    assert r.status_code == 200, r.text
    await wait_for_volume(http, f"{base}/{volume_id}", "in-use", {})
    image_id = image_of(await act(http, server["id"], create_image("with-volume")))
    image = await image_once(stack, image_id, "active")
    root = stack.settings.state_path / "hosts" / f"{server['OS-EXT-SRV-ATTR:host']}-disks"
    info = subprocess.run(["qemu-img", "info", "--output=json", "-f", "qcow2",
                           str(stack.settings.state_path / "images" / image_id)],
                          capture_output=True, text=True, check=True)
    assert '"virtual-size": 1073741824' in info.stdout  # the 1 GiB root disk, not the 2 GiB volume
    assert (root / f"{server['id']}.qcow2").exists() and image["size"] > 0
    shown = await wait_for_volume(http, f"{base}/{volume_id}", "in-use", {})
    assert [a["server_id"] for a in shown["attachments"]] == [server["id"]]  # still there
