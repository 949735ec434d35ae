"""The unmodified ``openstack image`` commands past create and list: set
(openstacksdk's JSON patch), tags, sharing with a project, and a protected
image's refusal to go."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.clients import OpenStackCli
from tests.support.shared import SHARED
from tests.support.stack import RunningStack

IMAGES = "/image/v2/images"


@pytest.fixture
def cli(module_stack: RunningStack, tmp_path: Path) -> OpenStackCli:
    home = tmp_path / "home"
    home.mkdir()
    return OpenStackCli(module_stack, home)


@SHARED
async def test_image_set_changes_properties_tags_and_protection(
        module_stack: RunningStack, cli: OpenStackCli) -> None:
    created = await cli.json("image", "create", "--disk-format", "raw", "--container-format",
                             "bare", "osc-set")
    image_id = created["id"]
    await cli.ok("image", "set", "--property", "os_distro=cirros", "--min-ram", "256",
                 "--tag", "fast", "--protected", "--name", "osc-set-renamed", image_id)
    shown = (await module_stack.http.get(f"{IMAGES}/{image_id}")).json()
    assert (shown["name"], shown["min_ram"], shown["protected"]) == ("osc-set-renamed", 256,
                                                                     True)
    assert shown["os_distro"] == "cirros" and shown["tags"] == ["fast"]

    refused = await cli.run("image", "delete", image_id)
    assert refused.returncode != 0
    await cli.ok("image", "unset", "--property", "os_distro", "--tag", "fast", image_id)
    await cli.ok("image", "set", "--unprotected", image_id)
    shown = (await module_stack.http.get(f"{IMAGES}/{image_id}")).json()
    assert "os_distro" not in shown and shown["tags"] == [] and shown["protected"] is False
    await cli.ok("image", "delete", image_id)


@SHARED
async def test_image_add_project_shares_a_shared_image(module_stack: RunningStack,
                                                        cli: OpenStackCli) -> None:
    created = await cli.json("image", "create", "--disk-format", "raw", "--container-format",
                             "bare", "--shared", "osc-shared")
    image_id = created["id"]
    r = await module_stack.http.post("/identity/v3/projects",
                                     json={"project": {"name": "osc-friends"}})
    assert r.status_code == 201, r.text
    project = r.json()["project"]["id"]  # the CLI looks the project up in Keystone
    await cli.ok("image", "add", "project", image_id, "osc-friends")
    members = (await module_stack.http.get(f"{IMAGES}/{image_id}/members")).json()["members"]
    assert [(m["member_id"], m["status"]) for m in members] == [(project, "pending")]
    listed = await cli.json("image", "member", "list", image_id)
    assert [m["Member ID"] for m in listed] == [project]
    await cli.ok("image", "remove", "project", image_id, "osc-friends")
    members = (await module_stack.http.get(f"{IMAGES}/{image_id}/members")).json()["members"]
    assert members == []
    await cli.ok("image", "delete", image_id)
