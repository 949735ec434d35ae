"""Volumes over Cinder's v3 API with the whole stack: a storage worker on
sparse files makes and wipes them; bad requests write nothing."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from projections.log import head
from tests.e2e.test_hosts_api import member
from tests.support.polling import eventually
from tests.support.stack import RunningStack, stack_running


def log_head(stack: RunningStack) -> int:
    with psycopg.connect(stack.database_url) as conn:
        return head(conn)


def volumes_of(project_id: str) -> str:
    return f"/volume/v3/{project_id}/volumes"


def volume_file(stack: RunningStack, volume_id: str) -> Path:
    return stack.settings.state_path / "volumes" / "storage1" / f"volume-{volume_id}"


async def wait_for(http: httpx.AsyncClient, url: str, key: str, status: str | None,
                   headers: dict[str, str] | None = None, timeout: float = 15) -> dict[str, Any]:
    """The ``key`` ("volume", "snapshot", "backup") once it shows ``status``
    (None: once it is gone)."""
    async def reached() -> dict[str, Any] | None:
        r = await http.get(url, headers=headers)
        if status is None:
            return {} if r.status_code == 404 else None
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()[key]
        assert body["status"] == status, f"{body['status']}: {r.text}"
        return body
    return await eventually(reached, timeout=timeout,
                            what=f"{url} becoming {status or 'gone'}")


async def wait_for_volume(http: httpx.AsyncClient, url: str, status: str | None,
                          headers: dict[str, str], timeout: float = 15) -> dict[str, Any]:
    return await wait_for(http, url, "volume", status, headers, timeout)


async def test_a_volume_is_made_on_the_storage_host_listed_then_wiped_and_deleted(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    alice = member(running_stack, "p-alice")
    base = volumes_of("p-alice")
    r = await http.post(base, headers=alice, json={"volume": {"size": 1, "name": "data"}})
    assert r.status_code == 202, r.text
    made = r.json()["volume"]
    assert (made["status"], made["size"], made["name"]) == ("creating", 1, "data")
    url = f"{base}/{made['id']}"

    shown = await wait_for_volume(http, url, "available", alice)
    assert shown["volume_type"] == "__DEFAULT__" and shown["attachments"] == []
    path = volume_file(running_stack, made["id"])
    assert path.stat().st_size == 1024**3 and path.stat().st_blocks == 0  # sparse
    listed = (await http.get(f"{base}/detail", headers=alice)).json()["volumes"]
    assert [v["id"] for v in listed] == [made["id"]]
    quota = (await http.get("/volume/v3/p-alice/os-quota-sets/p-alice",
                            headers=alice, params={"usage": "True"})).json()["quota_set"]
    assert (quota["volumes"]["in_use"], quota["gigabytes"]["in_use"]) == (1, 1)

    path.write_bytes(b"secret" * 10)  # what the guest wrote; the wipe must zero it
    keep = path.with_name("kept-link")
    keep.hardlink_to(path)
    r = await http.delete(url, headers=alice)
    assert r.status_code == 202, r.text
    await wait_for_volume(http, url, None, alice)
    assert not path.exists()
    assert set(keep.read_bytes()) <= {0}  # every byte zeroed before the removal
    assert (await http.get(base, headers=alice)).json()["volumes"] == []
    quota = (await http.get("/volume/v3/p-alice/os-quota-sets/p-alice",
                            headers=alice, params={"usage": "True"})).json()["quota_set"]
    assert quota["volumes"]["in_use"] == 0


async def test_bad_volume_requests_are_refused_in_cinders_words_and_write_nothing(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    alice, bob = member(running_stack, "p-alice"), member(running_stack, "p-bob")
    base = volumes_of("p-alice")
    r = await http.post(base, headers=alice, json={"volume": {"size": 1}})
    assert r.status_code == 202
    theirs = r.json()["volume"]["id"]
    await wait_for_volume(http, f"{base}/{theirs}", "available", alice)
    before = log_head(running_stack)

    cases: list[tuple[str, str, dict[str, str], Any, int, str]] = [
        ("POST", base, alice, {"volume": {"size": 0}}, 400, "greater than 0"),
        ("POST", base, alice, {"volume": {"size": "big"}}, 400, "size"),
        ("POST", base, alice, {"volume": {}}, 400, "size"),
        ("POST", base, alice, {"volume": {"size": 1, "volume_type": "gold"}}, 404,
         "Volume type with name gold could not be found"),
        ("POST", base, alice, {"volume": {"size": 1, "availability_zone": "mars"}}, 400,
         "'mars' is invalid"),
        ("POST", base, alice, {"volume": {"size": 2000}}, 413, "gigabytes quota"),
        ("POST", volumes_of("p-bob"), alice, {"volume": {"size": 1}}, 403, "Policy"),
        ("GET", f"{volumes_of('p-bob')}/{theirs}", bob, None, 404, "could not be found"),
        ("DELETE", f"{volumes_of('p-bob')}/{theirs}", bob, None, 404, "could not be found"),
    ]
    for method, url, who, body, status, words in cases:
        r = await http.request(method, url, headers=who, json=body)
        assert (r.status_code, words in r.text) == (status, True), (method, url, body, r.text)
    assert log_head(running_stack) == before

    r = await http.delete(f"{base}/{theirs}", headers=alice)
    assert r.status_code == 202
    r = await http.delete(f"{base}/{theirs}", headers=alice)  # now deleting: Cinder's 400
    assert r.status_code in (400, 404), r.text


async def iscsi_targets(portal: str, initiator: str) -> str:
    """What a userspace initiator (libiscsi's iscsi-ls) named ``initiator`` finds."""
    found = await asyncio.create_subprocess_exec(
        "iscsi-ls", "-i", initiator, "-s", f"iscsi://{portal}",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await found.communicate()
    return out.decode()


async def lun_size(portal: str, iqn: str, initiator: str) -> int | None:
    """The LUN's size as ``initiator`` reads it over iSCSI; None when refused."""
    probe = await asyncio.create_subprocess_exec(
        "iscsi-readcapacity16", "-i", initiator, f"iscsi://{portal}/{iqn}/1",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await probe.communicate()
    sizes = [line.split(":")[1] for line in out.decode().splitlines()
             if line.startswith("Total size:")]
    return int(sizes[0]) if sizes else None


async def booted(stack: RunningStack) -> dict[str, Any]:
    r = await stack.http.post("/compute/v2.1/servers", json={"server": {
        "name": "vm", "imageRef": "cirros-0.6.2-x86_64-disk", "flavorRef": "1"}})
    assert r.status_code == 202, r.text
    return await stack.wait_for_status(r.json()["server"]["id"], "ACTIVE")


async def test_a_volume_attaches_over_iscsi_to_a_server_and_detaches(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    server = await booted(running_stack)
    host = server["OS-EXT-SRV-ATTR:host"]
    admin_project = server["tenant_id"]
    base = volumes_of(admin_project)
    r = await http.post(base, json={"volume": {"size": 1, "name": "data"}})
    volume_id = r.json()["volume"]["id"]
    url = f"{base}/{volume_id}"
    await wait_for_volume(http, url, "available", {})

    attachments = f"/compute/v2.1/servers/{server['id']}/os-volume_attachments"
    r = await http.post(attachments, json={"volumeAttachment": {"volumeId": volume_id}})
    assert r.status_code == 200, r.text
    assert r.json()["volumeAttachment"] == {"id": volume_id, "volumeId": volume_id,
                                            "serverId": server["id"], "device": "/dev/vdb"}
    shown = await wait_for_volume(http, url, "in-use", {})
    assert [(a["server_id"], a["device"], a["host_name"]) for a in shown["attachments"]] == [
        (server["id"], "/dev/vdb", host)]
    listed = (await http.get(attachments)).json()["volumeAttachments"]
    assert [a["volumeId"] for a in listed] == [volume_id]
    shown_server = (await http.get(f"/compute/v2.1/servers/{server['id']}")).json()["server"]
    assert shown_server["os-extended-volumes:volumes_attached"] == [{"id": volume_id}]

    disks = await running_stack.disks(host, server["id"])
    iqn = f"iqn.2010-10.org.openstack:volume-{volume_id}"
    initiator = f"iqn.2010-10.org.openstack:initiator-{host}"
    assert [(d["device"], d["iqn"], d["lun"], d["initiator"]) for d in disks] == [
        ("/dev/vdb", iqn, 1, initiator)]
    portal = disks[0]["portal"]
    assert iqn in await iscsi_targets(portal, initiator)
    assert await lun_size(portal, iqn, initiator) == 1024**3
    stranger = "iqn.2010-10.org.openstack:initiator-elsewhere"
    assert await lun_size(portal, iqn, stranger) is None  # the export's ACL names the host

    r = await http.post(attachments, json={"volumeAttachment": {"volumeId": volume_id}})
    assert r.status_code == 409, r.text  # one attachment at a time
    r = await http.delete(url)
    assert r.status_code == 400, r.text  # attached: Cinder refuses

    r = await http.delete(f"{attachments}/{volume_id}")
    assert r.status_code == 202, r.text
    shown = await wait_for_volume(http, url, "available", {})
    assert shown["attachments"] == []
    assert await running_stack.disks(host, server["id"]) == []
    assert iqn not in await iscsi_targets(portal, initiator)
    assert (await http.get(attachments)).json()["volumeAttachments"] == []
    r = await http.delete(f"{attachments}/{volume_id}")
    assert r.status_code == 404, r.text  # not attached any more


async def test_attaching_to_someone_elses_or_a_deleted_server_is_refused(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    server = await booted(running_stack)
    alice = member(running_stack, "p-alice")
    r = await http.post(volumes_of("p-alice"), headers=alice, json={"volume": {"size": 1}})
    volume_id = r.json()["volume"]["id"]
    await wait_for_volume(http, f"{volumes_of('p-alice')}/{volume_id}", "available", alice)
    before = log_head(running_stack)
    attachments = f"/compute/v2.1/servers/{server['id']}/os-volume_attachments"
    r = await http.post(attachments, headers=alice,
                        json={"volumeAttachment": {"volumeId": volume_id}})
    assert r.status_code == 404, r.text  # alice cannot see the admin's server
    r = await http.post(attachments, json={"volumeAttachment": {"volumeId": volume_id,
                                                                "device": "/dev/vda"}})
    assert r.status_code == 400 and "in use" in r.text
    r = await http.post(attachments, json={"volumeAttachment": {}})
    assert r.status_code == 400 and "volumeId" in r.text
    assert log_head(running_stack) == before

    assert (await http.delete(f"/compute/v2.1/servers/{server['id']}")).status_code == 204
    await running_stack.wait_until_gone(server["id"])
    r = await http.post(attachments, json={"volumeAttachment": {"volumeId": volume_id}})
    assert r.status_code == 404, r.text


async def test_a_snapshot_keeps_the_bytes_a_new_volume_is_made_from(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    token = (await http.get("/identity/v3/auth/tokens", headers={
        "X-Subject-Token": http.headers["X-Auth-Token"]})).json()["token"]
    project = token["project"]["id"]
    base, snapshots = volumes_of(project), f"/volume/v3/{project}/snapshots"
    r = await http.post(base, json={"volume": {"size": 1, "name": "origin"}})
    origin = r.json()["volume"]["id"]
    await wait_for_volume(http, f"{base}/{origin}", "available", {})
    volume_file(running_stack, origin).write_bytes(b"before the snapshot")

    r = await http.post(snapshots, json={"snapshot": {"volume_id": origin, "name": "s1"}})
    assert r.status_code == 202, r.text
    snap = r.json()["snapshot"]
    assert (snap["status"], snap["size"], snap["volume_id"]) == ("creating", 1, origin)
    await wait_for(http, f"{snapshots}/{snap['id']}", "snapshot", "available")
    volume_file(running_stack, origin).write_bytes(b"after the snapshot!")

    r = await http.delete(f"{base}/{origin}")
    assert r.status_code == 400 and "has snapshots" in r.text
    r = await http.post(base, json={"volume": {"snapshot_id": snap["id"], "name": "copy"}})
    assert r.status_code == 202, r.text
    copy = r.json()["volume"]
    assert (copy["size"], copy["snapshot_id"]) == (1, snap["id"])
    await wait_for_volume(http, f"{base}/{copy['id']}", "available", {})
    with volume_file(running_stack, copy["id"]).open("rb") as made:
        assert made.read(19) == b"before the snapshot"
    quota = (await http.get(f"/volume/v3/{project}/os-quota-sets/{project}",
                            params={"usage": "True"})).json()["quota_set"]
    assert (quota["volumes"]["in_use"], quota["snapshots"]["in_use"],
            quota["gigabytes"]["in_use"]) == (2, 1, 3)

    r = await http.post(base, json={"volume": {"snapshot_id": snap["id"], "size": 0}})
    assert r.status_code == 400, r.text
    r = await http.delete(f"{snapshots}/{snap['id']}")
    assert r.status_code == 202, r.text
    await wait_for(http, f"{snapshots}/{snap['id']}", "snapshot", None)
    for volume_id in (origin, copy["id"]):
        assert (await http.delete(f"{base}/{volume_id}")).status_code == 202
        await wait_for_volume(http, f"{base}/{volume_id}", None, {})
    quota = (await http.get(f"/volume/v3/{project}/os-quota-sets/{project}",
                            params={"usage": "True"})).json()["quota_set"]
    assert (quota["volumes"]["in_use"], quota["snapshots"]["in_use"]) == (0, 0)


async def test_a_backup_keeps_only_used_data_and_restores_the_same_bytes(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    server = await booted(running_stack)  # its tenant_id is the admin's project
    project = server["tenant_id"]
    base, backups = volumes_of(project), f"/volume/v3/{project}/backups"
    origin = (await http.post(base, json={"volume": {"size": 1}})).json()["volume"]["id"]
    await wait_for(http, f"{base}/{origin}", "volume", "available")
    with volume_file(running_stack, origin).open("r+b") as data:
        data.write(b"first block")
        data.seek(512 * 1024 * 1024)
        data.write(b"middle of the volume")
    expected = hashlib.sha256(volume_file(running_stack, origin).read_bytes()).hexdigest()

    r = await http.post(backups, json={"backup": {"volume_id": origin, "name": "nightly"}})
    assert r.status_code == 202, r.text
    backup_id = r.json()["backup"]["id"]
    made = await wait_for(http, f"{backups}/{backup_id}", "backup", "available")
    assert made["metadata"]["sha256"] == expected
    assert 0 < int(made["metadata"]["stored_bytes"]) < 1024 * 1024
    archive = running_stack.settings.state_path / "backups" / "storage1" / \
        f"backup-{backup_id}.chunks.gz"
    assert archive.exists() and archive.with_name(archive.name + ".sha256").exists()

    r = await http.post(f"{backups}/{backup_id}/restore", json={"restore": {"name": "back"}})
    assert r.status_code == 202, r.text
    restored = r.json()["restore"]["volume_id"]
    await wait_for(http, f"{base}/{restored}", "volume", "available")
    got = hashlib.sha256(volume_file(running_stack, restored).read_bytes()).hexdigest()
    assert got == expected

    with archive.open("r+b") as damaged:  # a flipped byte: the checksum no longer matches
        damaged.seek(20)
        byte = damaged.read(1)
        damaged.seek(20)
        damaged.write(bytes([byte[0] ^ 0xFF]))
    r = await http.post(f"{backups}/{backup_id}/restore", json={"restore": {}})
    assert r.status_code == 202, r.text
    broken = await wait_for(http, f"{base}/{r.json()['restore']['volume_id']}", "volume",
                            "error")
    assert broken["status"] == "error"

    assert (await http.delete(f"{backups}/{backup_id}")).status_code == 202
    await wait_for(http, f"{backups}/{backup_id}", "backup", None)
    assert not archive.exists()


@pytest.fixture
async def gold_stack(database_url: str, nats_url: str, subject_prefix: str,
                     tmp_path: Path) -> AsyncIterator[RunningStack]:
    async with stack_running(database_url, nats_url, subject_prefix, tmp_path,
                             volume_types={"gold": ["storage1"]}) as running:
        yield running


async def test_volume_types_name_their_backends_and_a_volume_can_be_renamed(
        gold_stack: RunningStack) -> None:
    http = gold_stack.http
    alice = member(gold_stack, "p-alice")
    types = (await http.get("/volume/v3/p-alice/types", headers=alice)).json()["volume_types"]
    assert [t["name"] for t in types] == ["__DEFAULT__", "gold"]
    assert all(t["extra_specs"] == {} for t in types)  # backends are the admin's business
    admin_view = (await http.get("/volume/v3/p-alice/types")).json()["volume_types"]
    assert admin_view[1]["extra_specs"] == {"volume_backend_name": "storage1"}
    gold_id = types[1]["id"]
    assert (await http.get(f"/volume/v3/p-alice/types/{gold_id}", headers=alice)
            ).json()["volume_type"]["name"] == "gold"

    base = volumes_of("p-alice")
    r = await http.post(base, headers=alice, json={"volume": {"size": 1,
                                                              "volume_type": gold_id}})
    assert r.status_code == 202, r.text
    made = r.json()["volume"]
    assert made["volume_type"] == "gold"
    await wait_for_volume(http, f"{base}/{made['id']}", "available", alice)
    r = await http.put(f"{base}/{made['id']}", headers=alice,
                       json={"volume": {"name": "renamed", "description": "gold data"}})
    assert r.status_code == 200, r.text
    assert (r.json()["volume"]["name"], r.json()["volume"]["description"]) == (
        "renamed", "gold data")
    found = (await http.get(base, headers=alice, params={"name": "renamed"})).json()
    assert [v["id"] for v in found["volumes"]] == [made["id"]]
    assert (await http.get(base, headers=alice, params={"name": "other"})).json()[
        "volumes"] == []
