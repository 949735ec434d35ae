"""The whole stack on a real network host (its own namespace): a server booted
on the default network becomes ACTIVE only once its port is served; a guest
plugged into the port's guest end gets the server's address by DHCP from the
host's dnsmasq, and reads its own metadata at 169.254.169.254 through the
host's proxy. The namespace and dnsmasq are removed afterwards."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from runtime.stack import PARTS, network_namespace
from tests.support.cloud import IMAGE
from tests.support.netns import Namespaces, missing_tools
from tests.support.stack import RunningStack, stack_running
from workers.network.host import NamespaceNetworkHost
from workers.network.plan import guest_device
from workers.network.planner import device

if os.geteuid() != 0:
    pytest.skip("network namespaces need root", allow_module_level=True)
if missing_tools():
    pytest.skip(f"missing tools: {', '.join(missing_tools())} (scripts/install.sh installs them)",
                allow_module_level=True)


GUEST_GET = """
import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode(), end="")
"""


def metadata_seen_by(guest: str) -> str:
    done = subprocess.run(
        ["ip", "netns", "exec", guest, sys.executable, "-c", GUEST_GET,
         "http://169.254.169.254/openstack/latest/meta_data.json"],
        capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


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
    http = stack.http
    networks = (await http.get("/compute/v2.1/os-networks")).json()["networks"]
    private = next(n["id"] for n in networks if n["label"] == "private")
    booted = await http.post("/compute/v2.1/servers", json={"server": {
        "name": "vm", "flavorRef": "1", "imageRef": IMAGE, "networks": [{"uuid": private}]}})
    assert booted.status_code == 202, booted.text
    server = booted.json()["server"]["id"]
    await stack.wait_for_status(server, "ACTIVE")  # only once the port is served
    ports = (await http.get("/network/v2.0/ports", params={"device_id": server})).json()
    (port,) = ports["ports"]
    assert port["status"] == "ACTIVE"
    address = port["fixed_ips"][0]["ip_address"]
    spaces = Namespaces(tmp_path)
    try:
        # (each in a thread: the stack answers from this test's event loop meanwhile)
        guest = await asyncio.to_thread(spaces.create, "guest")
        await asyncio.to_thread(
            spaces.plug, network_namespace(stack.settings.subject_prefix, "network1"),
            guest_device(device(port["id"])), guest)
        assert await asyncio.to_thread(spaces.lease, guest) == address
        document = json.loads(await asyncio.to_thread(metadata_seen_by, guest))
        assert (document["uuid"], document["name"]) == (server, "vm")
    finally:
        spaces.cleanup()
