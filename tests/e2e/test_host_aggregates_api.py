"""Host aggregates, availability zones and os-hosts over HTTP, on the whole
stack: an admin groups hosts into an aggregate, gives it metadata and a
zone, and the zone shows in os-availability-zone and os-hosts; Nova's
refusals (a taken name, a host twice, a host in two zones, an unknown host,
a member) come in Nova's words with nothing written."""

from __future__ import annotations

from typing import Any

from tests.e2e.test_flavors_api import member_token
from tests.e2e.test_microversions import log_head
from tests.support.stack import RunningStack

C = "/compute/v2.1"
A = f"{C}/os-aggregates"


def after(r: Any) -> dict[str, str]:
    return {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}


async def test_an_aggregate_with_hosts_and_a_zone_shows_in_zones_and_hosts(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    await running_stack.hosts_once_reported()
    r = await http.post(A, json={"aggregate": {"name": "rack-1", "availability_zone": "az1"}})
    assert r.status_code == 200, r.text
    created = r.json()["aggregate"]
    assert (created["name"], created["availability_zone"], created["deleted"]) == (
        "rack-1", "az1", False)
    assert "hosts" not in created and isinstance(created["id"], int)
    rack = f"{A}/{created['id']}"

    r = await http.post(f"{rack}/action", json={"add_host": {"host": "compute1"}})
    assert r.status_code == 200, r.text
    assert r.json()["aggregate"]["hosts"] == ["compute1"]
    r = await http.post(f"{rack}/action", json={"set_metadata": {"metadata": {
        "ssd": "true", "rack": "1"}}})
    assert r.json()["aggregate"]["metadata"] == {"availability_zone": "az1", "ssd": "true",
                                                 "rack": "1"}
    r = await http.post(f"{rack}/action", json={"set_metadata": {"metadata": {"rack": None}}})
    r = await http.put(rack, json={"aggregate": {"name": "rack-one"}})
    assert r.status_code == 200 and r.json()["aggregate"]["updated_at"]

    shown = (await http.get(rack, headers=after(r))).json()["aggregate"]
    assert (shown["name"], shown["hosts"], shown["metadata"]) == (
        "rack-one", ["compute1"], {"availability_zone": "az1", "ssd": "true"})
    listed = (await http.get(A, headers=after(r))).json()["aggregates"]
    assert [a["id"] for a in listed] == [created["id"]]

    zones = (await http.get(f"{C}/os-availability-zone", headers=after(r))).json()
    assert {z["zoneName"]: z["hosts"] for z in zones["availabilityZoneInfo"]} == {
        "az1": None, "nova": None}
    detail = (await http.get(f"{C}/os-availability-zone/detail")).json()
    hosts = {z["zoneName"]: z["hosts"] for z in detail["availabilityZoneInfo"]}
    assert set(hosts["az1"]) == {"compute1"} and set(hosts["nova"]) == {"compute2"}
    assert hosts["az1"]["compute1"]["nova-compute"]["available"] is True

    listed_hosts = (await http.get(f"{C}/os-hosts")).json()["hosts"]
    assert {(h["host_name"], h["zone"]) for h in listed_hosts} == {
        ("compute1", "az1"), ("compute2", "nova")}
    in_az1 = (await http.get(f"{C}/os-hosts", params={"zone": "az1"})).json()["hosts"]
    assert [h["host_name"] for h in in_az1] == ["compute1"]

    for zone, host in (("az1", "compute1"), ("nova", "compute2")):
        r = await http.post(f"{C}/servers", json={"server": {
            "name": f"in-{zone}", "flavorRef": "1", "imageRef": "cirros-0.6.2-x86_64-disk",
            "availability_zone": zone}})
        assert r.status_code == 202, r.text
        server = await running_stack.wait_for_status(r.json()["server"]["id"], "ACTIVE")
        assert (server["OS-EXT-SRV-ATTR:host"], server["OS-EXT-AZ:availability_zone"]) == (
            host, zone)
    r = await http.post(f"{C}/servers", json={"server": {
        "name": "nowhere", "flavorRef": "1", "imageRef": "cirros-0.6.2-x86_64-disk",
        "availability_zone": "az9"}})
    assert r.status_code == 400 and "availability zone is not available" in r.text

    r = await http.delete(rack)
    assert r.status_code == 400 and "not empty" in r.json()["badRequest"]["message"]
    r = await http.post(f"{rack}/action", json={"remove_host": {"host": "compute1"}})
    assert r.status_code == 200 and r.json()["aggregate"]["hosts"] == []
    assert (await http.delete(rack)).status_code == 200
    assert (await http.get(rack)).status_code == 404


async def test_aggregate_refusals_are_novas_and_write_nothing(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    await running_stack.hosts_once_reported()
    first = (await http.post(A, json={"aggregate": {"name": "a1", "availability_zone": "z1"}}))
    other = (await http.post(A, json={"aggregate": {"name": "a2", "availability_zone": "z2"}}))
    one, two = f"{A}/{first.json()['aggregate']['id']}", f"{A}/{other.json()['aggregate']['id']}"
    assert (await http.post(f"{one}/action", json={"add_host": {"host": "compute1"}})
            ).status_code == 200
    before = log_head(running_stack)
    member = member_token(running_stack, "p-aggregates")
    refusals = [
        (http.post(A, json={"aggregate": {"name": "a1"}}), 409, "Aggregate a1 already exists."),
        (http.post(A, json={"aggregate": {"name": ""}}), 400, "name"),
        (http.post(A, json={"aggregate": {"name": "x" * 256}}), 400, "name"),
        (http.post(f"{one}/action", json={"add_host": {"host": "compute1"}}), 409,
         "already has host compute1"),
        (http.post(f"{two}/action", json={"add_host": {"host": "compute1"}}), 400,
         "availability zone"),
        (http.post(f"{one}/action", json={"add_host": {"host": "nowhere"}}), 404,
         "Compute host nowhere could not be found."),
        (http.post(f"{two}/action", json={"remove_host": {"host": "compute2"}}), 404,
         "has no host compute2"),
        (http.delete(f"{A}/99999"), 404, "Aggregate 99999 could not be found."),
        (http.get(f"{A}/nonsense"), 404, "could not be found"),
        (http.get(A, headers=member), 403, "os-aggregates:index"),
        (http.post(A, headers=member, json={"aggregate": {"name": "m"}}), 403, "create"),
        (http.get(f"{C}/os-availability-zone/detail", headers=member), 403, "detail"),
    ]
    for call, status, words in refusals:
        r = await call
        assert r.status_code == status, (words, r.text)
        assert words in next(iter(r.json().values()))["message"], r.text
    assert log_head(running_stack) == before
    zones = (await http.get(f"{C}/os-availability-zone", headers=member)).json()
    assert {z["zoneName"] for z in zones["availabilityZoneInfo"]} == {"z1", "nova"}


async def test_os_hosts_enables_and_disables_and_refuses_what_libvirt_cannot(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    await running_stack.hosts_once_reported()
    r = await http.put(f"{C}/os-hosts/compute2", json={"status": "disable"})
    assert (r.status_code, r.json()) == (200, {"host": "compute2", "status": "disabled"})
    services = (await http.get(f"{C}/os-services", headers=after(r))).json()["services"]
    assert {s["host"]: s["status"] for s in services}["compute2"] == "disabled"
    r = await http.put(f"{C}/os-hosts/compute2", json={"status": "enable"})
    assert r.json()["status"] == "enabled"
    before = log_head(running_stack)
    for body, status in (({"status": "bad"}, 400), ({}, 400),
                         ({"maintenance_mode": "enable"}, 501)):
        assert (await http.put(f"{C}/os-hosts/compute1", json=body)).status_code == status
    assert (await http.put(f"{C}/os-hosts/nowhere", json={"status": "enable"})
            ).status_code == 404
    assert (await http.get(f"{C}/os-hosts/compute1/reboot")).status_code == 501
    assert (await http.get(f"{C}/os-hosts/nowhere/startup")).status_code == 404
    member = member_token(running_stack, "p-hosts")
    assert (await http.get(f"{C}/os-hosts", headers=member)).status_code == 403
    assert (await http.get(f"{C}/os-hosts/compute1/shutdown", headers=member)
            ).status_code == 403
    assert log_head(running_stack) == before
