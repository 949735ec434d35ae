"""Glance v2 past create and upload, over HTTP: the versions and schemas a
client discovers, PATCH, tags, deactivation, members, and lists filtered,
sorted and paged. Every refusal leaves the log as it was."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.test_api_end_to_end import log_head
from tests.e2e.test_flavors_api import member_token
from tests.support.stack import RunningStack

IMAGES = "/image/v2/images"
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
RAW: dict[str, Any] = {"disk_format": "raw", "container_format": "bare"}


def at(r: httpx.Response) -> dict[str, str]:
    """Read-your-writes: the position a command answered with."""
    return {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}


async def image(stack: RunningStack, headers: dict[str, str] | None = None,
                data: bytes | None = None, **fields: Any) -> str:
    r = await stack.http.post(IMAGES, headers=headers or {}, json=fields)
    assert r.status_code == 201, r.text
    image_id: str = r.json()["id"]
    if data is not None:
        r = await stack.http.put(f"{IMAGES}/{image_id}/file", content=data, headers={
            **(headers or {}), "Content-Type": "application/octet-stream"})
        assert r.status_code == 204, r.text
    return image_id


async def test_the_image_root_answers_multiple_choices_and_the_schemas_are_served(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    root = await http.get("/image/")
    assert root.status_code == 300
    current = root.json()["versions"][0]
    assert (current["id"], current["status"]) == ("v2.16", "CURRENT")
    assert current["links"][0]["href"].endswith("/image/v2/")
    catalog = (await http.get("/identity/v3/auth/tokens", headers={
        "X-Subject-Token": http.headers["X-Auth-Token"]})).json()["token"]["catalog"]
    glance = next(e for e in catalog if e["type"] == "image")
    assert glance["endpoints"][0]["url"].endswith("/image")

    schema = (await http.get("/image/v2/schemas/image")).json()
    assert schema["name"] == "image" and schema["additionalProperties"] == {"type": "string"}
    assert "deactivated" in schema["properties"]["status"]["enum"]
    for name in ("images", "member", "members", "metadefs/namespace", "metadefs/tags"):
        r = await http.get(f"/image/v2/schemas/{name}")
        assert r.status_code == 200 and "properties" in r.json(), name
    assert (await http.get("/image/v2/schemas/nope")).status_code == 404
    assert (await http.get("/image/v2/info/import")).json()["import-methods"]["value"] == []
    assert (await http.get("/image/v2/info/stores")).json()["stores"][0]["id"] == "file"


async def test_a_patch_changes_attributes_and_properties_and_the_view_follows(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    image_id = await image(running_stack, name="before", os_distro="cirros", **RAW)
    r = await http.patch(f"{IMAGES}/{image_id}", headers=PATCH, json=[
        {"op": "replace", "path": "/name", "value": "after"},
        {"op": "add", "path": "/min_disk", "value": 2},
        {"op": "add", "path": "/hw_disk_bus", "value": "virtio"},
        {"op": "remove", "path": "/os_distro"},
        {"op": "replace", "path": "/tags", "value": ["x", "y"]}])
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["min_disk"]) == ("after", 2)
    shown = (await http.get(f"{IMAGES}/{image_id}", headers=at(r))).json()
    assert (shown["name"], shown["min_disk"], shown["hw_disk_bus"]) == ("after", 2, "virtio")
    assert "os_distro" not in shown and sorted(shown["tags"]) == ["x", "y"]


async def test_bad_patches_are_refused_as_glance_refuses_them_and_write_nothing(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    image_id = await image(running_stack, name="fixed", **RAW)
    head = log_head(running_stack)
    url = f"{IMAGES}/{image_id}"
    cases: list[tuple[dict[str, str], Any, int, str]] = [
        ({"Content-Type": "application/json"}, [], 415, "Unsupported Content-Type"),
        (PATCH, [{"op": "replace", "path": "/status", "value": "active"}], 403, "read-only"),
        (PATCH, [{"op": "replace", "path": "/nope", "value": "x"}], 409, "does not exist"),
        (PATCH, [{"op": "remove", "path": "/name"}], 403, "may not be removed"),
        (PATCH, [{"op": "replace", "path": "/min_ram", "value": "lots"}], 400, "min_ram"),
        (PATCH, [{"op": "add", "path": "/os_distro", "value": 3}], 400, "os_distro"),
        (PATCH, [{"op": "copy", "path": "/name", "value": "x"}], 400, "Invalid operation"),
        (PATCH, [{"path": "/name", "value": "x"}], 400, "Unable to find `op`"),
        (PATCH, {"op": "replace"}, 400, "JSON array"),
        # the first operation is fine, the second refused: nothing of the patch is kept
        (PATCH, [{"op": "replace", "path": "/name", "value": "changed"},
                 {"op": "replace", "path": "/size", "value": 1}], 403, "read-only"),
    ]
    for headers, body, status, words in cases:
        r = await http.patch(url, headers=headers, json=body)
        assert (r.status_code, words in r.text) == (status, True), (body, r.text)
    other = member_token(running_stack, "proj-other")
    assert (await http.patch(url, headers={**PATCH, **other}, json=[
        {"op": "replace", "path": "/name", "value": "x"}])).status_code == 404
    assert log_head(running_stack) == head
    assert (await http.get(url)).json()["name"] == "fixed"


async def test_a_patch_in_glances_older_v2_0_form_names_its_path_under_the_operation(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    url = f"{IMAGES}/{await image(running_stack, name='old', **RAW)}"
    draft_10 = {"Content-Type": "application/openstack-images-v2.0-json-patch"}
    r = await http.patch(url, headers=draft_10, json=[
        {"replace": "/name", "value": "renewed"}, {"add": "/os_distro", "value": "tiny"}])
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["os_distro"]) == ("renewed", "tiny")
    head = log_head(running_stack)
    r = await http.patch(url, headers=draft_10, json=[
        {"add": "/a", "replace": "/name", "value": "x"}])
    assert r.status_code == 400 and "exactly one member" in r.text
    assert log_head(running_stack) == head


async def test_a_protected_image_refuses_delete_until_unprotected(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    image_id = await image(running_stack, name="kept", protected=True, **RAW)
    r = await http.delete(f"{IMAGES}/{image_id}")
    assert r.status_code == 403 and "protected" in r.text
    r = await http.patch(f"{IMAGES}/{image_id}", headers=PATCH, json=[
        {"op": "replace", "path": "/protected", "value": False}])
    assert r.status_code == 200 and r.json()["protected"] is False
    assert (await http.delete(f"{IMAGES}/{image_id}")).status_code == 204


async def test_tags_are_put_and_deleted_one_at_a_time(running_stack: RunningStack) -> None:
    http = running_stack.http
    image_id = await image(running_stack, name="tagged", tags=["a"])
    r = await http.put(f"{IMAGES}/{image_id}/tags/b")
    assert r.status_code == 204
    head = log_head(running_stack)
    assert (await http.put(f"{IMAGES}/{image_id}/tags/b")).status_code == 204
    assert log_head(running_stack) == head, "a tag put twice is kept once, writing nothing"
    r = await http.delete(f"{IMAGES}/{image_id}/tags/a")
    assert r.status_code == 204
    assert (await http.get(f"{IMAGES}/{image_id}", headers=at(r))).json()["tags"] == ["b"]
    r = await http.delete(f"{IMAGES}/{image_id}/tags/a")
    assert r.status_code == 404 and "Tag a not found" in r.text
    r = await http.put(f"{IMAGES}/{image_id}/tags/{'t' * 256}")
    assert r.status_code == 400


async def test_a_deactivated_image_refuses_its_bytes_to_all_but_admins(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    image_id = await image(running_stack, data=b"public bytes", name="pub",
                           visibility="public", **RAW)
    member = member_token(running_stack, "proj-a")
    url = f"{IMAGES}/{image_id}"
    assert (await http.post(f"{url}/actions/deactivate", headers=member)).status_code == 403
    r = await http.post(f"{url}/actions/deactivate")
    assert r.status_code == 204
    shown = (await http.get(url, headers={**member, **at(r)})).json()
    assert shown["status"] == "deactivated"
    r = await http.get(f"{url}/file", headers=member)
    assert r.status_code == 403 and "deactivated" in r.text
    assert (await http.get(f"{url}/file")).content == b"public bytes"
    r = await http.post(f"{url}/actions/reactivate")
    assert r.status_code == 204
    assert (await http.get(f"{url}/file", headers={**member, **at(r)})).content == b"public bytes"
    queued = await image(running_stack, name="empty", **RAW)
    r = await http.post(f"{IMAGES}/{queued}/actions/deactivate")
    assert r.status_code == 403 and "status 'queued'" in r.text
    assert (await http.post(f"{url}/actions/explode")).status_code == 404


async def test_its_owner_deactivates_and_reactivates_an_image(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    owner = member_token(running_stack, "proj-keeper")
    url = f"{IMAGES}/{await image(running_stack, owner, data=b'mine', name='own', **RAW)}"
    r = await http.post(f"{url}/actions/deactivate", headers=owner)
    assert r.status_code == 204, r.text
    assert (await http.get(url, headers={**owner, **at(r)})).json()["status"] == "deactivated"
    assert (await http.get(f"{url}/file", headers=owner)).status_code == 403
    r = await http.post(f"{url}/actions/reactivate", headers=owner)
    assert r.status_code == 204, r.text
    assert (await http.get(url, headers={**owner, **at(r)})).json()["status"] == "active"


async def test_a_shared_image_is_seen_by_its_members_and_listed_once_accepted(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    owner, friend, stranger = (member_token(running_stack, p)
                               for p in ("proj-own", "proj-friend", "proj-stranger"))
    image_id = await image(running_stack, owner, name="ours", visibility="shared")
    members = f"{IMAGES}/{image_id}/members"
    r = await http.post(members, headers=owner, json={"member": "proj-friend"})
    assert r.status_code == 200, r.text
    assert (r.json()["member_id"], r.json()["status"]) == ("proj-friend", "pending")
    assert (await http.post(members, headers=owner,
                            json={"member": "proj-friend"})).status_code == 409
    assert (await http.get(f"{IMAGES}/{image_id}", headers={**friend, **at(r)})).status_code \
        == 200
    listed = (await http.get(IMAGES, headers=friend)).json()["images"]
    assert image_id not in [i["id"] for i in listed], "pending: not listed"
    assert (await http.get(f"{IMAGES}/{image_id}", headers=stranger)).status_code == 404

    r = await http.put(f"{members}/proj-friend", headers=owner, json={"status": "accepted"})
    assert r.status_code == 403, "the owner cannot answer for its member"
    r = await http.put(f"{members}/proj-friend", headers=friend, json={"status": "maybe"})
    assert r.status_code == 400
    r = await http.put(f"{members}/proj-friend", headers=friend, json={"status": "accepted"})
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    listed = (await http.get(IMAGES, headers={**friend, **at(r)})).json()["images"]
    assert image_id in [i["id"] for i in listed]
    seen = (await http.get(members, headers=friend)).json()["members"]
    assert [m["member_id"] for m in seen] == ["proj-friend"]

    r = await http.post(members, headers=owner, json={"member": "proj-third"})
    mine = (await http.get(members, headers={**friend, **at(r)})).json()["members"]
    assert [m["member_id"] for m in mine] == ["proj-friend"], "a member sees its own entry"
    everyone = (await http.get(members, headers=owner)).json()["members"]
    assert [m["member_id"] for m in everyone] == ["proj-friend", "proj-third"]

    r = await http.delete(f"{members}/proj-friend", headers=owner)
    assert r.status_code == 204
    assert (await http.get(f"{IMAGES}/{image_id}", headers={**friend, **at(r)})).status_code \
        == 404
    private = await image(running_stack, owner, name="alone", visibility="private")
    r = await http.post(f"{IMAGES}/{private}/members", headers=owner, json={"member": "x"})
    assert r.status_code == 403 and "shared" in r.text


async def test_an_image_created_without_a_visibility_is_shared_and_takes_members(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    owner, friend = (member_token(running_stack, p) for p in ("proj-plain", "proj-pal"))
    image_id = await image(running_stack, owner, name="plain", **RAW)
    shown = (await http.get(f"{IMAGES}/{image_id}", headers=owner)).json()
    assert shown["visibility"] == "shared"
    assert (await http.get(f"{IMAGES}/{image_id}", headers=friend)).status_code == 404
    r = await http.post(f"{IMAGES}/{image_id}/members", headers=owner,
                        json={"member": "proj-pal"})
    assert r.status_code == 200 and r.json()["status"] == "pending", r.text


async def test_lists_filter_sort_and_page_as_glance_does(running_stack: RunningStack) -> None:
    http = running_stack.http
    made = {}
    for name, size, extra in (("list-c", 30, {"tags": ["t1", "t2"], "os_type": "linux"}),
                              ("list-a", 10, {"tags": ["t1"], "protected": True}),
                              ("list-b", 20, {"visibility": "community"})):
        made[name] = await image(running_stack, data=b"x" * size, name=name, **RAW, **extra)
    r = await http.put(f"{IMAGES}/{made['list-b']}/tags/last")  # a write to wait for
    position = at(r)

    async def names(**params: Any) -> list[str]:
        r = await http.get(IMAGES, params=params, headers=position)
        assert r.status_code == 200, r.text
        return [i["name"] for i in r.json()["images"] if i["name"].startswith("list-")]

    assert await names(sort="name:asc") == ["list-a", "list-b", "list-c"]
    assert await names(sort_key="size", sort_dir="desc") == ["list-c", "list-b", "list-a"]
    assert await names(size_min=15, size_max=25) == ["list-b"]
    assert await names(tag=["t1", "t2"]) == ["list-c"]
    assert await names(protected="true") == ["list-a"]
    assert await names(os_type="linux") == ["list-c"]
    assert await names(visibility="community") == ["list-b"]
    assert await names(name="in:list-a,list-c", sort="name:asc") == ["list-a", "list-c"]

    stranger = member_token(running_stack, "proj-stranger")
    seen = (await http.get(IMAGES, headers=stranger)).json()["images"]
    assert "list-b" not in [i["name"] for i in seen], "community: not in default lists"
    assert (await http.get(f"{IMAGES}/{made['list-b']}", headers=stranger)).status_code == 200

    page = (await http.get(IMAGES, params={"sort": "name:asc", "limit": 2})).json()
    seen_names = [i["name"] for i in page["images"]]
    while "next" in page:
        page = (await http.get("/image" + page["next"])).json()
        seen_names += [i["name"] for i in page["images"]]
    assert seen_names == sorted(seen_names) and len(seen_names) == len(set(seen_names)) == 4

    for params, words in (({"sort_key": "colour"}, "Invalid sort key"),
                          ({"sort_dir": "up"}, "Invalid sort direction"),
                          ({"sort": "name", "sort_key": "size"}, "cannot be combined"),
                          ({"status": "gone"}, "Invalid status value"),
                          ({"visibility": "secret"}, "Invalid visibility value"),
                          ({"protected": "maybe"}, "protected"),
                          ({"size_min": "big"}, "size_min"),
                          ({"marker": "3f0c8a52-0000-4000-8000-000000000000"},
                           "Invalid marker")):
        r = await http.get(IMAGES, params=params)
        assert (r.status_code, words in r.text) == (400, True), (params, r.text)
