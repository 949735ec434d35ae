"""A network host renders the log's plan again after a power loss, with the
whole stack: on a real namespace host (its bridges, veths, dnsmasq and nft
table gone with its namespace, then back) and on the recorded driver. A dry
run only says what it would do, and a second reconcile has nothing to do."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from runtime.stack import PARTS, network_namespace
from tests.support.guest_network import metadata_seen_by, server_on_private
from tests.support.host_recovery import power_loss, reconcile
from tests.support.netns import Namespaces, missing_tools
from tests.support.stack import RunningStack, stack_running
from workers.network import namespace
from workers.network.host import NamespaceNetworkHost
from workers.network.links import read_links
from workers.network.plan import guest_device
from workers.network.recorded import RecordedNetworkHost


@pytest.fixture
async def namespace_stack(database_url: str, nats_url: str, subject_prefix: str,
                          tmp_path: Path) -> AsyncIterator[RunningStack]:
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    if missing_tools():
        pytest.skip(f"missing tools: {', '.join(missing_tools())} (scripts/install.sh"
                    " installs them)")
    name = network_namespace(subject_prefix, "network1")
    try:
        async with stack_running(database_url, nats_url, subject_prefix, tmp_path,
                                 network_driver="namespace", parts=PARTS) as running:
            yield running
    finally:  # whatever happened: no namespace or dnsmasq left behind
        NamespaceNetworkHost(name, tmp_path / "network" / "network1").teardown()


async def test_a_network_host_that_lost_power_renders_its_bridges_and_rules_again(
        namespace_stack: RunningStack, tmp_path: Path) -> None:
    server, tap, address = await server_on_private(namespace_stack)
    name = network_namespace(namespace_stack.settings.subject_prefix, "network1")
    host = NamespaceNetworkHost(name, tmp_path / "network" / "network1")  # to look, not act
    held = host.observe()
    assert held is not None and {"br100", tap} <= set(read_links(name))

    cut = await power_loss(namespace_stack, "network1")
    assert cut.returncode == 0, cut.stderr
    lines = cut.stdout.splitlines()
    assert lines[0].startswith("network1: power lost;")
    assert {"  bridge br100", f"  veth {tap}", "  dnsmasq on br100",
            "  nft table (NAT and security groups)"} <= set(lines[1:])
    assert not namespace.exists(name) and host.dnsmasq.pids() == {}

    planned = await reconcile(namespace_stack, "network1", dry_run=True)
    assert planned.role == "network"
    assert "render bridge br100 for 10.0.0.0/24 (gateway 10.0.0.1, dnsmasq)" in planned.changes
    assert any(line.startswith(f"render port {tap} ") for line in planned.changes)
    assert not namespace.exists(name)  # a dry run changes nothing

    done = await reconcile(namespace_stack, "network1", dry_run=False)
    assert done.changes == planned.changes
    assert host.observe() == held  # links, dnsmasq and the nft table as rendered before
    assert {"br100", tap} <= set(read_links(name)) and "br100" in host.dnsmasq.pids()
    assert (await reconcile(namespace_stack, "network1", dry_run=False)).changes == []

    # the guest gets its address by DHCP again, and its metadata through the proxy
    spaces = Namespaces(tmp_path)
    try:
        guest = await asyncio.to_thread(spaces.create, "guest")
        await asyncio.to_thread(spaces.plug, name, guest_device(tap), guest)
        assert await asyncio.to_thread(spaces.lease, guest) == address
        document = json.loads(await asyncio.to_thread(metadata_seen_by, guest))
        assert document["uuid"] == server
    finally:
        spaces.cleanup()


async def test_a_recorded_network_host_that_lost_power_records_its_plan_again(
        running_stack: RunningStack, tmp_path: Path) -> None:
    server, tap, _address = await server_on_private(running_stack)
    host = RecordedNetworkHost(tmp_path / "network" / "network1")
    held = host.observe()
    assert held is not None
    assert (await reconcile(running_stack, "network1", dry_run=True)).changes == []

    cut = await power_loss(running_stack, "network1")
    assert cut.returncode == 0, cut.stderr
    assert cut.stdout.splitlines()[0] == "network1: power lost; 1 parts gone"
    assert host.observe() is None

    other = "0b7e8a52-0000-4000-8000-000000000000"
    assert (await reconcile(running_stack, "network1", dry_run=False, instance_id=other)
            ).changes == []  # no port of that instance: the test mode leaves the host
    assert host.observe() is None
    done = await reconcile(running_stack, "network1", dry_run=False, instance_id=server)
    assert any(line.startswith(f"render port {tap} ") for line in done.changes)
    assert host.observe() == held
    assert (await reconcile(running_stack, "network1", dry_run=False)).changes == []
