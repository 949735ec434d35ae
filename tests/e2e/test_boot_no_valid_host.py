"""A boot no host has room for, over HTTP with the whole stack: accepted (202)
and ended in ERROR with Nova's fault, as Nova's scheduler ends it; it counts
in the project's quota until it is deleted, holds no host's capacity, and is
deleted at once, since no host would answer. (Its access IPs are kept as given.)"""

from __future__ import annotations

from typing import Any

from tests.support.polling import eventually
from tests.support.stack import RunningStack

C = "/compute/v2.1"
IMAGE = "cirros-0.6.2-x86_64-disk"


async def _used(stack: RunningStack) -> dict[str, Any]:
    absolute: dict[str, Any] = (await stack.http.get(f"{C}/limits")).json()["limits"][
        "absolute"]
    return absolute


async def test_a_boot_no_host_has_room_for_ends_in_error_and_holds_only_its_quota(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    await running_stack.hosts_once_reported()
    r = await http.post(f"{C}/flavors", json={"flavor": {
        "name": "too-big", "id": "too-big", "ram": 512, "vcpus": 1, "disk": 1_000_000}})
    assert r.status_code == 200, r.text
    hypervisors_before = (await http.get(f"{C}/os-hypervisors/statistics")).json()

    r = await http.post(f"{C}/servers", json={"server": {
        "name": "nowhere", "imageRef": IMAGE, "flavorRef": "too-big",
        "accessIPv4": "192.0.2.7", "accessIPv6": "2001:db8::7"}})
    assert r.status_code == 202, r.text
    server_id = r.json()["server"]["id"]
    server = await running_stack.wait_for_status(server_id, "ERROR")
    assert server["fault"]["code"] == 500
    assert server["fault"]["message"] == (
        "No valid host was found. There are not enough hosts available.")
    assert server["OS-EXT-SRV-ATTR:host"] is None and server["addresses"] == {}
    assert (server["accessIPv4"], server["accessIPv6"]) == ("192.0.2.7", "2001:db8::7")
    used = await _used(running_stack)
    assert (used["totalInstancesUsed"], used["totalCoresUsed"]) == (1, 1)
    for field, bad in (("accessIPv4", "2001:db8::7"), ("accessIPv6", "not-an-ip")):
        r = await http.post(f"{C}/servers", json={"server": {
            "name": "bad-ip", "imageRef": IMAGE, "flavorRef": "1", field: bad}})
        assert r.status_code == 400 and field in r.text
    assert (await http.get(f"{C}/os-hypervisors/statistics")).json() == hypervisors_before

    refused = await http.post(f"{C}/servers/{server_id}/action", json={"os-stop": None})
    assert refused.status_code == 409 and "is not ready" in refused.text

    assert (await http.delete(f"{C}/servers/{server_id}")).status_code == 204

    async def gone() -> bool:
        return (await http.get(f"{C}/servers/{server_id}")).status_code == 404

    assert await eventually(gone)
    used = await _used(running_stack)
    assert (used["totalInstancesUsed"], used["totalCoresUsed"]) == (0, 0)
