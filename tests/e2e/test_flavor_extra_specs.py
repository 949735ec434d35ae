"""Flavor extra specs and the minDisk/minRam list filters over HTTP, on the
whole stack: an admin sets, replaces one of and deletes a flavor's extra
specs, anyone who sees the flavor reads them, and Nova's refusals (a member,
a key the path does not name, a missing key) write nothing."""

from __future__ import annotations

from tests.e2e.test_flavors_api import member_token
from tests.e2e.test_microversions import log_head
from tests.support.shared import SHARED
from tests.support.stack import RunningStack

C = "/compute/v2.1"


async def _flavor(stack: RunningStack, flavor_id: str, ram: int = 512, disk: int = 1) -> str:
    r = await stack.http.post(f"{C}/flavors", json={"flavor": {
        "name": f"f-{flavor_id}", "id": flavor_id, "ram": ram, "vcpus": 1, "disk": disk}})
    assert r.status_code == 200, r.text
    return f"{C}/flavors/{flavor_id}/os-extra_specs"


@SHARED
async def test_extra_specs_are_set_replaced_read_and_deleted(
        module_stack: RunningStack) -> None:
    http = module_stack.http
    specs = await _flavor(module_stack, "specs-1")
    r = await http.post(specs, json={"extra_specs": {"hw:numa_nodes": "1",
                                                     "hw:cpu_policy": "shared"}})
    assert (r.status_code, r.json()) == (200, {"extra_specs": {
        "hw:numa_nodes": "1", "hw:cpu_policy": "shared"}})
    r = await http.put(f"{specs}/hw:numa_nodes", json={"hw:numa_nodes": 2})
    assert (r.status_code, r.json()) == (200, {"hw:numa_nodes": "2"})
    listed = await http.get(specs, headers={"Nimbus-Log-Position":
                                            r.headers["Nimbus-Log-Position"]})
    assert listed.json() == {"extra_specs": {"hw:numa_nodes": "2", "hw:cpu_policy": "shared"}}
    member = member_token(module_stack, "p-specs")
    assert (await http.get(f"{specs}/hw:cpu_policy", headers=member)).json() == {
        "hw:cpu_policy": "shared"}
    r = await http.delete(f"{specs}/hw:cpu_policy")
    assert r.status_code == 200
    after = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
    assert (await http.get(specs, headers=after)).json() == {"extra_specs": {
        "hw:numa_nodes": "2"}}
    missing = await http.get(f"{specs}/hw:cpu_policy")
    assert missing.status_code == 404 and "no extra specs with key" in missing.text


@SHARED
async def test_extra_spec_refusals_write_nothing(module_stack: RunningStack) -> None:
    http = module_stack.http
    specs = await _flavor(module_stack, "specs-2")
    member = member_token(module_stack, "p-specs")
    before = log_head(module_stack)
    for call, status in (
        (http.post(specs, headers=member, json={"extra_specs": {"a": "1"}}), 403),
        (http.put(f"{specs}/a", headers=member, json={"a": "1"}), 403),
        (http.delete(f"{specs}/a", headers=member), 403),
        (http.delete(f"{specs}/a"), 404),
        (http.put(f"{specs}/a", json={"b": "1"}), 400),
        (http.put(f"{specs}/a", json={"a": "1", "b": "2"}), 400),
        (http.post(specs, json={"extra_specs": {"bad/key": "1"}}), 400),
        (http.post(specs, json={"extra_specs": {"a": "x" * 256}}), 400),
        (http.post(f"{C}/flavors/no-such/os-extra_specs", json={"extra_specs": {"a": "1"}}),
         404),
    ):
        r = await call
        assert r.status_code == status, r.text
    assert log_head(module_stack) == before


@SHARED
async def test_min_disk_and_min_ram_keep_the_flavors_with_at_least_that_much(
        module_stack: RunningStack) -> None:
    http = module_stack.http
    await _flavor(module_stack, "big-9", ram=65536, disk=900)
    r = await http.get(f"{C}/flavors/detail", params={"minRam": "65536", "minDisk": "900"})
    assert [f["id"] for f in r.json()["flavors"]] == ["big-9"]
    r = await http.get(f"{C}/flavors", params={"minDisk": "2"})
    assert "1" not in {f["id"] for f in r.json()["flavors"]}
    bad = await http.get(f"{C}/flavors", params={"minRam": "lots"})
    assert bad.status_code == 400 and "Invalid minRam filter" in bad.text
