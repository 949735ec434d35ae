"""Images over HTTP (the Glance v2 subset): create, upload with checksums,
download, list with filters and pages, visibility per project, delete."""

from __future__ import annotations

import hashlib

from tests.e2e.test_api_end_to_end import log_head
from tests.e2e.test_flavors_api import member_token
from tests.support.stack import RunningStack

IMAGES = "/image/v2/images"
CIRROS = "2a9b8f3e-1c4d-4e5f-8a6b-7c8d9e0f1a2b"


async def test_the_default_image_is_public_active_and_downloadable(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    image = (await http.get(f"{IMAGES}/{CIRROS}")).json()
    assert (image["name"], image["status"], image["visibility"]) == (
        "cirros-0.6.2-x86_64-disk", "active", "public")
    data = (await http.get(f"{IMAGES}/{CIRROS}/file")).content
    assert data[:4] == b"QFI\xfb" and len(data) == image["size"]
    assert hashlib.md5(data).hexdigest() == image["checksum"]
    found = (await http.get(IMAGES, params={"name": "cirros-0.6.2-x86_64-disk"})).json()["images"]
    assert [i["id"] for i in found] == [CIRROS]


async def test_an_image_is_created_uploaded_downloaded_and_deleted(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    member = member_token(running_stack, "proj-a")
    r = await http.post(IMAGES, headers=member, json={
        "name": "mine", "disk_format": "raw", "container_format": "bare", "min_ram": 64,
        "os_distro": "tiny"})
    assert r.status_code == 201, r.text
    image = r.json()
    assert (image["status"], image["visibility"], image["owner"]) == ("queued", "shared",
                                                                     "proj-a")
    assert image["os_distro"] == "tiny"
    image_id = image["id"]

    data = bytes(range(256)) * 4000
    r = await http.put(f"{IMAGES}/{image_id}/file", content=data,
                       headers={**member, "Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    position = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
    shown = (await http.get(f"{IMAGES}/{image_id}", headers={**member, **position})).json()
    assert shown["status"] == "active" and shown["size"] == len(data)
    assert shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["os_hash_algo"] == "sha512"
    assert shown["os_hash_value"] == hashlib.sha512(data).hexdigest()
    assert (await http.get(f"{IMAGES}/{image_id}/file", headers=member)).content == data

    again = await http.put(f"{IMAGES}/{image_id}/file", content=b"x",
                           headers={**member, "Content-Type": "application/octet-stream"})
    assert again.status_code == 409

    other = member_token(running_stack, "proj-b")
    assert (await http.get(f"{IMAGES}/{image_id}", headers=other)).status_code == 404
    others_list = (await http.get(IMAGES, headers=other)).json()["images"]
    assert [i["id"] for i in others_list] == [CIRROS]
    assert (await http.delete(f"{IMAGES}/{image_id}", headers=other)).status_code == 404

    r = await http.delete(f"{IMAGES}/{image_id}", headers=member)
    assert r.status_code == 204
    position = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
    gone = await http.get(f"{IMAGES}/{image_id}", headers={**member, **position})
    assert gone.status_code == 404
    assert not (running_stack.settings.state_path / "images" / image_id).exists()


async def test_an_admin_creates_an_image_for_another_project_and_a_member_cannot(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    r = await http.post(IMAGES, json={"name": "given", "owner": "proj-given"})
    assert r.status_code == 201, r.text
    assert r.json()["owner"] == "proj-given"
    given = member_token(running_stack, "proj-given")
    shown = await http.get(f"{IMAGES}/{r.json()['id']}", headers={
        **given, "Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]})
    assert shown.status_code == 200 and shown.json()["owner"] == "proj-given"
    member = member_token(running_stack, "proj-a")
    head = log_head(running_stack)
    r = await http.post(IMAGES, headers=member, json={"name": "x", "owner": "proj-given"})
    assert r.status_code == 403 and "owned by 'proj-given'" in r.text
    assert log_head(running_stack) == head
    r = await http.post(IMAGES, headers=member, json={"name": "mine", "owner": "proj-a"})
    assert r.status_code == 201 and r.json()["owner"] == "proj-a"


async def test_an_admin_gives_an_image_to_another_project_and_its_owner_cannot(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    member = member_token(running_stack, "proj-a")
    r = await http.post(IMAGES, headers=member, json={"name": "kept"})
    url = f"{IMAGES}/{r.json()['id']}"
    patch = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
    head = log_head(running_stack)
    r = await http.patch(url, headers={**member, **patch}, json=[
        {"op": "replace", "path": "/owner", "value": "proj-b"}])
    assert r.status_code == 403 and "owner" in r.text
    assert log_head(running_stack) == head
    r = await http.patch(url, headers=patch, json=[
        {"op": "replace", "path": "/owner", "value": "proj-b"}])
    assert r.status_code == 200 and r.json()["owner"] == "proj-b", r.text
    position = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
    theirs = member_token(running_stack, "proj-b")
    shown = await http.get(url, headers={**theirs, **position})
    assert shown.status_code == 200 and shown.json()["owner"] == "proj-b"
    assert (await http.get(url, headers=member)).status_code == 404


async def test_the_images_path_with_an_empty_id_is_not_found(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    assert (await http.get(f"{IMAGES}/")).status_code == 404
    assert (await http.delete(f"{IMAGES}/")).status_code == 404


async def queued_image(running_stack: RunningStack, headers: dict[str, str]) -> str:
    r = await running_stack.http.post(IMAGES, headers=headers, json={
        "name": "retried", "disk_format": "raw", "container_format": "bare"})
    assert r.status_code == 201, r.text
    image_id: str = r.json()["id"]
    return image_id


async def test_a_retried_upload_with_the_same_idempotency_key_answers_204_and_keeps_its_bytes(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    member = member_token(running_stack, "proj-a")
    image_id = await queued_image(running_stack, member)
    data = b"the first upload's bytes"
    put = {**member, "Content-Type": "application/octet-stream", "Idempotency-Key": "up-1"}
    assert (await http.put(f"{IMAGES}/{image_id}/file", content=data,
                           headers=put)).status_code == 204
    head = log_head(running_stack)
    again = await http.put(f"{IMAGES}/{image_id}/file", content=b"other bytes", headers=put)
    assert again.status_code == 204, again.text
    assert log_head(running_stack) == head
    assert (await http.get(f"{IMAGES}/{image_id}/file", headers=member)).content == data


async def test_a_retried_delete_with_the_same_idempotency_key_answers_204_not_404(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    member = member_token(running_stack, "proj-a")
    image_id = await queued_image(running_stack, member)
    delete = {**member, "Idempotency-Key": "del-1"}
    assert (await http.delete(f"{IMAGES}/{image_id}", headers=delete)).status_code == 204
    head = log_head(running_stack)
    retried = await http.delete(f"{IMAGES}/{image_id}", headers=delete)
    assert retried.status_code == 204, retried.text
    assert log_head(running_stack) == head
    assert (await http.get(f"{IMAGES}/{image_id}", headers=member)).status_code == 404


async def test_image_lists_filter_and_page(running_stack: RunningStack) -> None:
    http = running_stack.http
    made = []
    for n in range(3):
        r = await http.post(IMAGES, json={"name": f"img{n}", "disk_format": "qcow2",
                                     "container_format": "bare"})
        made.append(r.json()["id"])
    position = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
    r = await http.get(IMAGES, params={"status": "queued"}, headers=position)
    queued = r.json()["images"]
    assert {i["id"] for i in queued} == set(made)
    wanted = f"in:{made[0]},{made[2]}"
    by_id = (await http.get(IMAGES, params={"id": wanted})).json()["images"]
    assert {i["id"] for i in by_id} == {made[0], made[2]}
    assert (await http.get(IMAGES, params={"os_hidden": "True"})).json()["images"] == []

    page = (await http.get(IMAGES, params={"limit": 2})).json()
    assert len(page["images"]) == 2 and page["next"].startswith("/v2/images?marker=")
    seen = [i["id"] for i in page["images"]]
    while "next" in page:  # a full page links to the next one, as Glance does
        page = (await http.get("/image" + page["next"])).json()
        seen += [i["id"] for i in page["images"]]
    assert seen == [*reversed(made), CIRROS], "newest first, each once"


async def test_bad_image_requests_are_refused(running_stack: RunningStack) -> None:
    http = running_stack.http
    member = member_token(running_stack, "proj-a")
    r = await http.post(IMAGES, headers=member, json={"name": "pub", "visibility": "public"})
    assert r.status_code == 403
    r = await http.post(IMAGES, json={"name": "x", "disk_format": "floppy"})
    assert r.status_code == 400 and "disk_format" in r.text
    r = await http.post(IMAGES, json={"name": "x", "status": "active"})
    assert r.status_code == 403 and "read-only" in r.text
    assert (await http.get(f"{IMAGES}/not-a-uuid")).status_code == 404
    r = await http.post(IMAGES, json={"name": "noformat"})
    r = await http.put(f"{IMAGES}/{r.json()['id']}/file", content=b"abc",
                       headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 400 and "disk_format" in r.text


async def test_a_server_cannot_boot_from_a_queued_or_unknown_image(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    queued = (await http.post(IMAGES, json={"name": "empty", "disk_format": "raw",
                                            "container_format": "bare"})).json()["id"]
    for ref, words in ((queued, "is not active"),
                       ("3f0c8a52-0000-4000-8000-000000000000", "could not be found")):
        r = await http.post("/compute/v2.1/servers", json={
            "server": {"name": "vm", "imageRef": ref, "flavorRef": "1"}})
        assert r.status_code == 400 and words in r.json()["badRequest"]["message"]
