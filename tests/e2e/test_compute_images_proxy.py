"""Nova's image proxy over HTTP, on the whole stack: an image uploaded
through the image API is listed, filtered and shown in Nova's shape, its
metadata is the image's properties (written through the image service's
own patch, so both APIs agree), and Nova's refusals write nothing."""

from __future__ import annotations

from tests.e2e.test_flavors_api import member_token
from tests.e2e.test_microversions import log_head
from tests.support.shared import SHARED
from tests.support.stack import RunningStack

C = "/compute/v2.1"
IMAGES = f"{C}/images"


async def _uploaded(stack: RunningStack, name: str) -> str:
    http = stack.http
    r = await http.post("/image/v2/images", json={
        "name": name, "disk_format": "raw", "container_format": "bare",
        "visibility": "private", "os_distro": "cirros"})
    assert r.status_code == 201, r.text
    image_id: str = r.json()["id"]
    put = await http.put(f"/image/v2/images/{image_id}/file", content=b"*" * 1024,
                         headers={"Content-Type": "application/octet-stream"})
    assert put.status_code == 204, put.text
    return image_id


@SHARED
async def test_an_uploaded_image_is_listed_filtered_and_shown_in_novas_shape(
        module_stack: RunningStack) -> None:
    http = module_stack.http
    first = await _uploaded(module_stack, "proxy-image-1")
    await _uploaded(module_stack, "proxy-image-2")
    shown = (await http.get(f"{IMAGES}/{first}")).json()["image"]
    assert (shown["name"], shown["status"], shown["progress"], shown["minDisk"]) == (
        "proxy-image-1", "ACTIVE", 100, 0)
    assert shown["metadata"] == {"os_distro": "cirros"}
    assert shown["OS-EXT-IMG-SIZE:size"] == 1024
    assert {link["rel"] for link in shown["links"]} == {"self", "bookmark", "alternate"}

    named = (await http.get(IMAGES, params={"name": "proxy-image-1"})).json()["images"]
    assert [i["id"] for i in named] == [first] and set(named[0]) == {"id", "name", "links"}
    active = (await http.get(f"{IMAGES}/detail", params={"status": "ACTIVE"})).json()["images"]
    assert first in {i["id"] for i in active} and {i["status"] for i in active} == {"ACTIVE"}
    assert len((await http.get(IMAGES, params={"limit": "1"})).json()["images"]) == 1
    since = (await http.get(IMAGES, params={"changes-since": shown["created"]})).json()["images"]
    assert first in {i["id"] for i in since}
    assert (await http.get(IMAGES, params={"type": "snapshot", "name": "proxy-image-1"})
            ).json()["images"] == []


@SHARED
async def test_image_metadata_is_the_images_properties(module_stack: RunningStack) -> None:
    http = module_stack.http
    image = await _uploaded(module_stack, "proxy-meta")
    meta = f"{IMAGES}/{image}/metadata"
    r = await http.post(meta, json={"metadata": {"os_version": "0.6", "arch": "x86_64"}})
    assert (r.status_code, r.json()["metadata"]) == (200, {
        "os_distro": "cirros", "os_version": "0.6", "arch": "x86_64"})
    r = await http.put(meta, json={"metadata": {"arch": "aarch64"}})
    assert r.json()["metadata"] == {"arch": "aarch64"}
    r = await http.put(f"{meta}/kernel", json={"meta": {"kernel": "vmlinuz"}})
    assert (r.status_code, r.json()) == (200, {"meta": {"kernel": "vmlinuz"}})
    after = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
    glance = (await http.get(f"/image/v2/images/{image}", headers=after)).json()
    assert (glance["arch"], glance["kernel"]) == ("aarch64", "vmlinuz")
    assert (await http.get(f"{meta}/kernel", headers=after)).json() == {
        "meta": {"kernel": "vmlinuz"}}
    r = await http.delete(f"{meta}/arch")
    assert r.status_code == 204
    after = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
    assert (await http.get(meta, headers=after)).json() == {"metadata": {"kernel": "vmlinuz"}}

    before = log_head(module_stack)
    for call, status in (
        (http.put(f"{meta}/kernel", json={"meta": {"other": "x"}}), 400),
        (http.put(f"{meta}/kernel", json={"meta": {"kernel": "a", "b": "c"}}), 400),
        (http.get(f"{meta}/nothing"), 404),
        (http.delete(f"{meta}/nothing"), 404),
        (http.get(f"{IMAGES}/not-an-id"), 404),
        (http.post(meta, headers=member_token(module_stack, "p-other"),
                   json={"metadata": {"a": "b"}}), 404),
    ):
        r = await call
        assert r.status_code == status, r.text
    assert log_head(module_stack) == before

    assert (await http.delete(f"{IMAGES}/{image}")).status_code == 204
    assert (await http.get(f"{IMAGES}/{image}")).status_code == 404


@SHARED
async def test_a_boot_with_a_flavor_below_the_images_min_ram_is_refused(
        module_stack: RunningStack) -> None:
    http = module_stack.http
    image = await _uploaded(module_stack, "needs-ram")
    r = await http.patch(f"/image/v2/images/{image}",
                         json=[{"op": "replace", "path": "/min_ram", "value": 513}],
                         headers={"Content-Type": "application/openstack-images-v2.1-json-patch"})
    assert r.status_code == 200, r.text
    after = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
    assert (await http.get(f"{IMAGES}/{image}", headers=after)).json()["image"]["minRam"] == 513
    before = log_head(module_stack)
    r = await http.post(f"{C}/servers", json={"server": {
        "name": "too-small", "flavorRef": "1", "imageRef": image}})
    assert r.status_code == 400 and "Flavor's memory is too small" in r.text
    assert log_head(module_stack) == before
