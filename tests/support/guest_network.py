"""A guest on the stack's network host, as the namespace-host e2e tests use it:
a server booted on the default network until its port is served, and what a
guest namespace plugged into that port reads from the metadata service."""

from __future__ import annotations

import subprocess
import sys

from tests.support.cloud import IMAGE
from tests.support.stack import RunningStack
from workers.network.planner import device

GUEST_GET = """
import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode(), end="")
"""


def metadata_seen_by(guest: str) -> str:
    """The metadata document a guest namespace reads at 169.254.169.254."""
    done = subprocess.run(
        ["ip", "netns", "exec", guest, sys.executable, "-c", GUEST_GET,
         "http://169.254.169.254/openstack/latest/meta_data.json"],
        capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


async def server_on_private(stack: RunningStack) -> tuple[str, str, str]:
    """A server booted on the default network, ACTIVE only once its port is
    served: its id, its port's host-side device and its address."""
    http = stack.http
    networks = (await http.get("/compute/v2.1/os-networks")).json()["networks"]
    private = next(n["id"] for n in networks if n["label"] == "private")
    booted = await http.post("/compute/v2.1/servers", json={"server": {
        "name": "vm", "flavorRef": "1", "imageRef": IMAGE, "networks": [{"uuid": private}]}})
    assert booted.status_code == 202, booted.text
    server = booted.json()["server"]["id"]
    await stack.wait_for_status(server, "ACTIVE")
    (port,) = (await http.get("/network/v2.0/ports", params={"device_id": server})).json()[
        "ports"]
    assert port["status"] == "ACTIVE"
    return server, device(port["id"]), port["fixed_ips"][0]["ip_address"]
