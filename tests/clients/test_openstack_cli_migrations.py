"""The unmodified ``openstack`` CLI moves servers between nimbus's two hosts:
``server migrate --wait``, ``server resize --flavor --wait``, ``server resize
confirm`` / ``revert``, ``server migrate --live-migration --wait``, ``server
migration list``, ``force complete`` and ``abort``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.clients.test_openstack_cli import boot
from tests.support.clients import OpenStackCli
from tests.support.polling import eventually
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


async def test_server_migrate_live_wait_moves_a_running_server(
        running_stack: RunningStack, own_cli: OpenStackCli) -> None:
    await running_stack.hosts_once_reported()
    sid = await boot(running_stack, "vm-live")
    source = (await own_cli.json("server", "show", sid))["OS-EXT-SRV-ATTR:host"]
    dest = "compute2" if source == "compute1" else "compute1"
    # at 2.25 the other host is chosen; OSC sends --host from 2.30 on
    await own_cli.ok("--os-compute-api-version", "2.25", "server", "migrate",
                     "--live-migration", "--wait", sid, timeout=120)
    shown = await own_cli.json("server", "show", sid)
    assert (shown["status"], shown["OS-EXT-SRV-ATTR:host"]) == ("ACTIVE", dest)
    await own_cli.ok("--os-compute-api-version", "2.30", "server", "migrate",
                     "--live-migration", "--host", source, "--wait", sid, timeout=120)
    shown = await own_cli.json("server", "show", sid)
    assert (shown["status"], shown["OS-EXT-SRV-ATTR:host"]) == ("ACTIVE", source)
    listed = await own_cli.json("--os-compute-api-version", "2.25", "server", "migration",
                                "list", "--server", sid)
    assert [(m["Status"], m["Type"]) for m in listed] \
        == [("completed", "live-migration")] * 2


async def test_server_migration_force_complete_ends_a_live_copy_that_does_not_converge(
        running_stack: RunningStack, own_cli: OpenStackCli) -> None:
    from tests.e2e.test_live_migration_api import copying, dirty, live_migrate

    await running_stack.hosts_once_reported()
    sid = await boot(running_stack, "vm-live-busy")
    await dirty(running_stack, sid, 400)
    assert (await live_migrate(running_stack, sid)).status_code == 202
    running = await copying(running_stack, sid)
    cli = ("--os-compute-api-version", "2.25")
    # (`server migration show SERVER ID` cannot be used: this OSC hands the SDK's
    # get_server_migration(server_migration, server) its arguments the other way
    # round and asks for /servers/ID/migrations/SERVER; the API answers it below)
    shown = await running_stack.http.get(
        f"/compute/v2.1/servers/{sid}/migrations/{running['id']}",
        headers={"OpenStack-API-Version": "compute 2.25"})
    assert shown.json()["migration"]["memory_total_bytes"] == 512 * 1024 * 1024
    await own_cli.ok(*cli, "server", "migration", "force", "complete", sid, str(running["id"]))
    await running_stack.wait_for_status(sid, "ACTIVE", timeout=30)
    listed = await own_cli.json(*cli, "server", "migration", "list", "--server", sid)
    assert [m["Status"] for m in listed] == ["completed"]


async def test_server_migration_abort_leaves_the_server_on_its_source(
        running_stack: RunningStack, own_cli: OpenStackCli) -> None:
    from tests.e2e.test_live_migration_api import copying, dirty, live_migrate

    await running_stack.hosts_once_reported()
    sid = await boot(running_stack, "vm-live-abort")
    source = (await own_cli.json("server", "show", sid))["OS-EXT-SRV-ATTR:host"]
    await dirty(running_stack, sid, 400)
    assert (await live_migrate(running_stack, sid)).status_code == 202
    running = await copying(running_stack, sid)
    cli = ("--os-compute-api-version", "2.25")
    await own_cli.ok(*cli, "server", "migration", "abort", sid, str(running["id"]))

    async def cancelled() -> list[Any] | None:
        listed = await own_cli.json(*cli, "server", "migration", "list", "--server", sid)
        return listed if [m["Status"] for m in listed] == ["cancelled"] else None
    await eventually(cancelled, timeout=30, what="the migration cancelled")
    server = await running_stack.wait_for_status(sid, "ACTIVE")
    assert server["OS-EXT-SRV-ATTR:host"] == source
