"""The whole stack on a real network host (its own namespace): a server booted
on the default network becomes ACTIVE only once its port is served; a guest
plugged into the port's guest end gets the server's address by DHCP from the
host's dnsmasq, and reads its own metadata at 169.254.169.254 through the
host's proxy. The namespace and dnsmasq are removed afterwards."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from runtime.stack import PARTS, network_namespace
from tests.support.guest_network import metadata_seen_by, server_on_private
from tests.support.netns import Namespaces, missing_tools
from tests.support.stack import RunningStack, stack_running
from workers.network.host import NamespaceNetworkHost
from workers.network.plan import guest_device

if os.geteuid() != 0:
    pytest.skip("network namespaces need root", allow_module_level=True)
if missing_tools():
    pytest.skip(f"missing tools: {', '.join(missing_tools())} (scripts/install.sh installs them)",
                allow_module_level=True)


@pytest.fixture
async def stack(database_url: str, nats_url: str, subject_prefix: str,
                tmp_path: Path) -> AsyncIterator[RunningStack]:
    namespace = network_namespace(subject_prefix, "network1")
    try:
        async with stack_running(database_url, nats_url, subject_prefix, tmp_path,
                                 network_driver="namespace", parts=PARTS) as running:
            yield running
    finally:  # whatever happened: no namespace or dnsmasq left behind
        NamespaceNetworkHost(namespace, tmp_path / "network" / "network1").teardown()


async def test_a_server_on_the_default_network_gets_its_address_by_dhcp(
        stack: RunningStack, tmp_path: Path) -> None:
    server, tap, address = await server_on_private(stack)  # ACTIVE once its port is served
    spaces = Namespaces(tmp_path)
    try:
        # (each in a thread: the stack answers from this test's event loop meanwhile)
        guest = await asyncio.to_thread(spaces.create, "guest")
        await asyncio.to_thread(
            spaces.plug, network_namespace(stack.settings.subject_prefix, "network1"),
            guest_device(tap), guest)
        assert await asyncio.to_thread(spaces.lease, guest) == address
        document = json.loads(await asyncio.to_thread(metadata_seen_by, guest))
        assert (document["uuid"], document["name"]) == (server, "vm")
    finally:
        spaces.cleanup()
