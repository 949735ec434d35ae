"""The unmodified ``glance`` CLI (python-glanceclient, image API v2) drives nimbus.

glanceclient finds the image endpoint in the catalog, appends ``/v2``
itself, reads ``/v2/schemas/image`` and builds its PATCH bodies from it, so
each test here runs the real client as a child process and checks what it
prints and what the API then says.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from tests.e2e.test_flavors_api import member_token
from tests.support.clients import GlanceCli
from tests.support.shared import SHARED
from tests.support.stack import RunningStack

IMAGES = "/image/v2/images"


@pytest.fixture
def glance(module_stack: RunningStack, tmp_path: Path) -> GlanceCli:
    home = tmp_path / "home"
    home.mkdir()
    return GlanceCli(module_stack, home)


@SHARED
async def test_image_create_with_a_file_uploads_it_and_download_gives_it_back(
        module_stack: RunningStack, glance: GlanceCli, tmp_path: Path) -> None:
    data = bytes(range(256)) * 64
    source = tmp_path / "disk.raw"
    source.write_bytes(data)
    created = await glance.table("image-create", "--name", "glance-cli-one", "--disk-format",
                                 "raw", "--container-format", "bare", "--file", str(source))
    assert created["status"] == "active", created
    assert created["checksum"] == hashlib.md5(data).hexdigest()
    image_id = created["id"]

    listed = await glance.table("image-list")
    assert listed.get(image_id) == "glance-cli-one"
    shown = await glance.table("image-show", image_id)
    assert (shown["name"], shown["size"]) == ("glance-cli-one", str(len(data)))

    target = tmp_path / "back.raw"
    await glance.ok("image-download", image_id, "--file", str(target))
    assert target.read_bytes() == data

    await glance.ok("image-delete", image_id)
    r = await module_stack.http.get(f"{IMAGES}/{image_id}")
    assert r.status_code == 404


@SHARED
async def test_image_update_patches_attributes_and_properties(
        module_stack: RunningStack, glance: GlanceCli) -> None:
    created = await glance.table("image-create", "--name", "glance-cli-two", "--disk-format",
                                 "qcow2", "--container-format", "bare", "--property",
                                 "os_distro=cirros")
    image_id = created["id"]
    updated = await glance.table("image-update", image_id, "--name", "glance-cli-renamed",
                                 "--min-ram", "128", "--protected", "True", "--property",
                                 "hw_disk_bus=virtio", "--remove-property", "os_distro")
    assert (updated["name"], updated["min_ram"], updated["protected"]) == (
        "glance-cli-renamed", "128", "True")
    assert updated["hw_disk_bus"] == "virtio" and "os_distro" not in updated

    refused = await glance.run("image-delete", image_id)  # the CLI words the 403 itself
    assert refused.returncode != 0 and "not permitted to delete" in refused.stderr
    r = await module_stack.http.delete(f"{IMAGES}/{image_id}")
    assert r.status_code == 403 and "protected" in r.text
    await glance.table("image-update", image_id, "--protected", "False")
    await glance.ok("image-delete", image_id)


@SHARED
async def test_image_tags_are_added_and_deleted(module_stack: RunningStack,
                                                glance: GlanceCli) -> None:
    image_id = (await glance.table("image-create", "--name", "glance-cli-tags"))["id"]
    await glance.ok("image-tag-update", image_id, "fast")
    await glance.ok("image-tag-update", image_id, "small")
    shown = (await module_stack.http.get(f"{IMAGES}/{image_id}")).json()
    assert sorted(shown["tags"]) == ["fast", "small"]
    await glance.ok("image-tag-delete", image_id, "fast")
    shown = (await module_stack.http.get(f"{IMAGES}/{image_id}")).json()
    assert shown["tags"] == ["small"]
    await glance.ok("image-delete", image_id)


@SHARED
async def test_members_are_created_listed_and_deleted(module_stack: RunningStack,
                                                      glance: GlanceCli) -> None:
    image_id = (await glance.table("image-create", "--name", "glance-cli-shared",
                                   "--visibility", "shared"))["id"]
    made = await glance.run("member-create", image_id, "proj-glance")
    assert made.returncode == 0, made.explain()
    assert "pending" in made.stdout
    listed = await glance.run("member-list", "--image-id", image_id)
    assert listed.returncode == 0 and "proj-glance" in listed.stdout, listed.explain()

    member = member_token(module_stack, "proj-glance")
    r = await module_stack.http.put(f"{IMAGES}/{image_id}/members/proj-glance", headers=member,
                                    json={"status": "accepted"})
    assert r.status_code == 200, r.text
    position = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
    seen = (await module_stack.http.get(IMAGES, headers={**member, **position})).json()
    assert image_id in [i["id"] for i in seen["images"]]

    await glance.ok("member-delete", image_id, "proj-glance")
    listed = await glance.run("member-list", "--image-id", image_id)
    assert listed.returncode == 0 and "proj-glance" not in listed.stdout, listed.explain()
    await glance.ok("image-delete", image_id)


@SHARED
async def test_an_uploaded_image_is_deactivated_and_reactivated_by_an_admin(
        module_stack: RunningStack, glance: GlanceCli, tmp_path: Path) -> None:
    source = tmp_path / "disk.raw"
    source.write_bytes(b"deactivated bytes")
    image_id = (await glance.table("image-create", "--name", "glance-cli-off", "--disk-format",
                                   "raw", "--container-format", "bare"))["id"]
    await glance.ok("image-upload", image_id, "--file", str(source))
    assert (await glance.table("image-show", image_id))["status"] == "active"
    await glance.ok("image-deactivate", image_id)
    assert (await glance.table("image-show", image_id))["status"] == "deactivated"
    await glance.ok("image-reactivate", image_id)
    assert (await glance.table("image-show", image_id))["status"] == "active"
    await glance.ok("image-delete", image_id)
