"""The unmodified ``openstack`` CLI moves servers between nimbus's two hosts:
``server migrate --wait``, ``server resize --flavor --wait``, ``server resize
confirm`` / ``revert`` and ``server migration list``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.clients.test_openstack_cli import boot
from tests.support.clients import OpenStackCli
from tests.support.stack import RunningStack

C = "/compute/v2.1"


@pytest.fixture
def own_cli(running_stack: RunningStack, tmp_path: Path) -> OpenStackCli:
    home = tmp_path / "home"
    home.mkdir()
    return OpenStackCli(running_stack, home)


async def test_server_migrate_wait_then_resize_confirm_moves_it_to_the_other_host(
        running_stack: RunningStack, own_cli: OpenStackCli) -> None:
    await running_stack.hosts_once_reported()
    sid = await boot(running_stack, "vm-cold")
    source = (await own_cli.json("server", "show", sid))["OS-EXT-SRV-ATTR:host"]
    await own_cli.ok("server", "migrate", "--wait", sid, timeout=120)
    shown = await own_cli.json("server", "show", sid)
    assert shown["status"] == "VERIFY_RESIZE" and shown["OS-EXT-SRV-ATTR:host"] != source
    listed = await own_cli.json("server", "migration", "list", "--server", sid)
    assert [(m["Status"], m["Source Compute"]) for m in listed] == [("finished", source)]
    await own_cli.ok("server", "resize", "confirm", sid)
    server = await running_stack.wait_for_status(sid, "ACTIVE")
    assert server["OS-EXT-SRV-ATTR:host"] != source


async def test_server_resize_flavor_wait_then_revert_brings_back_the_old_flavor(
        running_stack: RunningStack, own_cli: OpenStackCli) -> None:
    await running_stack.hosts_once_reported()
    sid = await boot(running_stack, "vm-resize")
    source = (await own_cli.json("server", "show", sid))["OS-EXT-SRV-ATTR:host"]
    await own_cli.ok("server", "resize", "--flavor", "m1.small", "--wait", sid, timeout=120)
    shown = await own_cli.json("server", "show", sid)
    assert shown["status"] == "VERIFY_RESIZE"
    assert shown["flavor"] == "m1.small (2)", shown["flavor"]
    await own_cli.ok("server", "resize", "revert", sid)
    server = await running_stack.wait_for_status(sid, "ACTIVE")
    assert server["OS-EXT-SRV-ATTR:host"] == source and server["flavor"]["id"] == "1"
    refused = await own_cli.run("server", "resize", "--flavor", "m1.tiny", sid)
    assert refused.returncode != 0
    assert "When resizing, instances must change flavor!" in refused.stderr
