"""The calls Horizon (the OpenStack dashboard) makes on its pages that nimbus
once answered wrongly, over HTTP on the whole stack (scripts/horizon.sh walks
Horizon itself): Neutron's quota details on the overview, Cinder's transfer
lists beside every volume list, and a volume without Cinder 3.13's group_id,
which would send Horizon after the volume groups, placement's providers on the
admin Hypervisors page, and Glance's metadata definitions."""

from __future__ import annotations

from tests.e2e.test_flavors_api import member_token
from tests.e2e.test_volumes_api import volumes_of, wait_for_volume
from tests.support.stack import RunningStack

NEUTRON_DETAILED = ("network", "subnet", "port", "router", "floatingip", "security_group",
                    "security_group_rule")


async def test_a_projects_network_quota_details_name_every_neutron_quota(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    alice = member_token(running_stack, "p-horizon")
    made = await http.post("/network/v2.0/networks", headers=alice,
                           json={"network": {"name": "horizon-net"}})
    assert made.status_code == 201, made.text

    for path in ("details", "details.json"):
        r = await http.get(f"/network/v2.0/quotas/p-horizon/{path}", headers=alice)
        assert r.status_code == 200, r.text
        details = r.json()["quota"]
        assert set(details) == set(NEUTRON_DETAILED)
        assert details["network"] == {"limit": -1, "used": 1, "reserved": 0}
        assert details["subnet"]["used"] == details["router"]["used"] == 0
        assert details["security_group"]["limit"] > 0
    plain = (await http.get("/network/v2.0/quotas/p-horizon", headers=alice)).json()["quota"]
    assert set(plain) == {"floatingip", "security_group", "security_group_rule"}
    bob = member_token(running_stack, "p-other")
    assert (await http.get("/network/v2.0/quotas/p-horizon/details", headers=bob)
            ).status_code == 403


async def test_a_projects_volume_transfers_are_an_empty_list(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    alice = member_token(running_stack, "p-horizon")
    for path in ("os-volume-transfer", "os-volume-transfer/detail", "volume-transfers",
                 "volume-transfers/detail"):
        r = await http.get(f"/volume/v3/p-horizon/{path}", headers=alice)
        assert (r.status_code, r.json()) == (200, {"transfers": []}), path
    assert (await http.get("/volume/v3/p-horizon/os-volume-transfer/detail",
                           headers=member_token(running_stack, "p-other"))).status_code == 403


async def test_a_volume_at_cinders_base_version_has_no_group(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    alice = member_token(running_stack, "p-horizon")
    base = volumes_of("p-horizon")
    r = await http.post(base, headers=alice, json={"volume": {"size": 1, "name": "data"}})
    assert r.status_code == 202, r.text
    shown = await wait_for_volume(http, f"{base}/{r.json()['volume']['id']}", "available", alice)
    assert "group_id" not in shown and shown["consistencygroup_id"] is None
    (listed,) = (await http.get(f"{base}/detail", headers=alice)).json()["volumes"]
    assert "group_id" not in listed


async def test_each_compute_host_is_a_resource_provider_with_its_capacity_and_use(
        running_stack: RunningStack) -> None:
    """Horizon's admin Hypervisors page reads placement's providers."""
    http = running_stack.http
    r = await http.post("/compute/v2.1/servers", json={"server": {
        "name": "placed", "flavorRef": "1", "imageRef": "cirros-0.6.2-x86_64-disk"}})
    assert r.status_code == 202, r.text
    server = await running_stack.wait_for_status(r.json()["server"]["id"], "ACTIVE")
    host = server["OS-EXT-SRV-ATTR:host"]
    hypervisors = {h["hypervisor_hostname"]: h for h in (
        await http.get("/compute/v2.1/os-hypervisors/detail")).json()["hypervisors"]}

    providers = (await http.get("/placement/resource_providers")).json()["resource_providers"]
    assert sorted(p["name"] for p in providers) == sorted(hypervisors)
    assert all(p["parent_provider_uuid"] is None for p in providers)
    placed = next(p for p in providers if p["name"] == host)
    base = f"/placement/resource_providers/{placed['uuid']}"
    inventories = (await http.get(f"{base}/inventories")).json()["inventories"]
    assert inventories["VCPU"]["total"] == hypervisors[host]["vcpus"]
    assert inventories["MEMORY_MB"]["total"] == hypervisors[host]["memory_mb"]
    assert inventories["VCPU"]["allocation_ratio"] == 1.0
    usages = (await http.get(f"{base}/usages")).json()["usages"]
    assert (usages["VCPU"], usages["MEMORY_MB"]) == (1, 512)
    assert (await http.get(f"{base}x/usages")).status_code == 404
    member = member_token(running_stack, "p-horizon")
    assert (await http.get("/placement/resource_providers", headers=member)).status_code == 403


async def test_the_metadata_definitions_catalog_lists_no_namespace(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    r = await http.get("/image/v2/metadefs/namespaces",
                       params={"resource_type": "OS::Glance::Image"})
    assert r.status_code == 200, r.text
    assert r.json()["namespaces"] == []
    assert (await http.get("/image/v2/metadefs/namespaces", headers={"X-Auth-Token": "nope"})
            ).status_code == 401
