"""Quotas, limits, services and hypervisors over HTTP on a running stack, whose
two hypervisor workers register their hosts and send heartbeats over real NATS."""

from __future__ import annotations

from typing import Any

from api.tokens import TokenSigner
from runtime import credentials
from tests.support.stack import RunningStack

C = "/compute/v2.1"


def member(stack: RunningStack, project_id: str) -> dict[str, str]:
    signer = TokenSigner(credentials.token_secret(stack.settings), 3600)
    token, _ = signer.issue(user_id=f"user-{project_id}", user_name=f"user-{project_id}",
                            project_id=project_id, project_name=project_id, roles=["member"])
    return {"X-Auth-Token": token}


async def test_both_hosts_register_with_libvirts_capacity_and_show_up(
        running_stack: RunningStack) -> None:
    found = await running_stack.hosts_once_reported()
    assert [(h["id"], h["hypervisor_hostname"]) for h in found] == [(1, "compute1"),
                                                                     (2, "compute2")]
    first = found[0]
    assert (first["vcpus"], first["memory_mb"], first["local_gb"]) == (16, 32768, 500)
    assert first["status"] == "enabled" and first["service"]["host"] == "compute1"
    services = (await running_stack.http.get(f"{C}/os-services")).json()["services"]
    assert {(s["binary"], s["host"], s["state"], s["status"]) for s in services} == {
        ("nova-compute", "compute1", "up", "enabled"),
        ("nova-compute", "compute2", "up", "enabled")}


async def test_a_disabled_host_gets_no_new_instances_and_usage_shows_in_the_hypervisor(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    await running_stack.hosts_once_reported()
    r = await http.put(f"{C}/os-services/disable-log-reason", json={
        "host": "compute1", "binary": "nova-compute", "disabled_reason": "maintenance"})
    assert r.status_code == 200, r.text
    assert r.json()["service"] == {"host": "compute1", "binary": "nova-compute",
                                   "status": "disabled", "disabled_reason": "maintenance"}
    ids = []
    for n in range(3):
        r = await http.post(f"{C}/servers", json={"server": {
            "name": f"vm{n}", "flavorRef": "1", "imageRef": "cirros-0.6.2-x86_64-disk"}})
        assert r.status_code == 202, r.text
        ids.append(r.json()["server"]["id"])
    for server_id in ids:
        server = await running_stack.wait_for_status(server_id, "ACTIVE")
        assert server["OS-EXT-SRV-ATTR:host"] == "compute2"
    detail = {h["hypervisor_hostname"]: h for h in await running_stack.hosts_once_reported()}
    assert detail["compute2"]["running_vms"] == 3 and detail["compute2"]["vcpus_used"] == 3
    assert detail["compute2"]["free_ram_mb"] == 32768 - 3 * 512
    assert detail["compute1"]["status"] == "disabled"
    described = (await http.get(f"{C}/os-hosts/compute2")).json()["host"]
    projects = [row["resource"]["project"] for row in described]
    assert projects[:3] == ["(total)", "(used_now)", "(used_max)"] and len(projects) == 4
    assert described[2]["resource"]["cpu"] == 3
    r = await http.put(f"{C}/os-services/enable",
                       json={"host": "compute1", "binary": "nova-compute"})
    assert r.json()["service"]["status"] == "enabled"
    r = await http.put(f"{C}/os-services/disable", json={"host": "nohost",
                                                          "binary": "nova-compute"})
    assert r.status_code == 404


async def test_quota_sets_show_update_detail_and_revert_with_novas_rules(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    alice = member(running_stack, "p-alice")
    r = await http.get(f"{C}/os-quota-sets/p-alice", headers=alice)
    assert r.status_code == 200, r.text
    assert r.json()["quota_set"]["instances"] == 10 and r.json()["quota_set"]["cores"] == 20
    assert (await http.get(f"{C}/os-quota-sets/p-bob", headers=alice)).status_code == 403
    r = await http.put(f"{C}/os-quota-sets/p-alice", headers=alice,
                       json={"quota_set": {"instances": 1}})
    assert r.status_code == 403
    r = await http.put(f"{C}/os-quota-sets/p-alice", json={"quota_set": {"instances": "1",
                                                                       "cores": 4}})
    assert r.status_code == 200, r.text
    assert (r.json()["quota_set"]["instances"], r.json()["quota_set"]["cores"]) == (1, 4)
    r = await http.post(f"{C}/servers", headers=alice, json={"server": {
        "name": "a1", "flavorRef": "1", "imageRef": "cirros-0.6.2-x86_64-disk"}})
    assert r.status_code == 202, r.text
    position = r.headers["Nimbus-Log-Position"]
    r = await http.post(f"{C}/servers", headers=alice, json={"server": {
        "name": "a2", "flavorRef": "1", "imageRef": "cirros-0.6.2-x86_64-disk"}})
    assert r.status_code == 403
    assert r.json()["forbidden"]["message"] == (
        "Quota exceeded for instances: Requested 1, but already used 1 of 1 instances")
    r = await http.get(f"{C}/os-quota-sets/p-alice/detail", headers={
        **alice, "Nimbus-Log-Position": position})
    assert r.json()["quota_set"]["instances"] == {"in_use": 1, "limit": 1, "reserved": 0}
    assert r.json()["quota_set"]["ram"] == {"in_use": 512, "limit": 51200, "reserved": 0}
    limits = (await http.get(f"{C}/limits", headers=alice,
                             params={"reserved": "False"})).json()["limits"]
    assert limits["rate"] == []
    assert (limits["absolute"]["maxTotalInstances"], limits["absolute"]["totalInstancesUsed"],
            limits["absolute"]["totalCoresUsed"]) == (1, 1, 1)
    r = await http.put(f"{C}/os-quota-sets/p-alice", json={"quota_set": {"instances": 0}})
    assert r.status_code == 400 and "already used and reserved 1" in r.text
    bad_bodies: list[dict[str, Any]] = [
        {"quota_set": {"nonsense": 1}}, {"quota_set": {"cores": -5}},
        {"quota_set": {"cores": "lots"}}, {"quota": {}}]
    for bad in bad_bodies:
        r = await http.put(f"{C}/os-quota-sets/p-alice", json=bad)
        assert r.status_code == 400, (bad, r.text)
    r = await http.delete(f"{C}/os-quota-sets/p-alice")
    assert r.status_code == 202
    r = await http.get(f"{C}/os-quota-sets/p-alice", headers={
        **alice, "Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]})
    assert r.json()["quota_set"]["instances"] == 10
    defaults = (await http.get(f"{C}/os-quota-sets/p-alice/defaults", headers=alice)).json()
    assert defaults["quota_set"]["ram"] == 51200


async def test_hosts_and_services_are_admin_only(running_stack: RunningStack) -> None:
    alice = member(running_stack, "p-alice")
    for path in ("os-services", "os-hypervisors", "os-hypervisors/detail", "os-hosts/compute1"):
        r = await running_stack.http.get(f"{C}/{path}", headers=alice)
        assert r.status_code == 403, path
    r = await running_stack.http.put(f"{C}/os-services/disable", headers=alice,
                                     json={"host": "compute1", "binary": "nova-compute"})
    assert r.status_code == 403


async def test_cinders_quota_routes_share_the_projects_quota_and_refuse_nova_keys(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    alice = member(running_stack, "p-alice")
    v = "/volume/v3/p-alice"
    r = await http.get(f"{v}/os-quota-sets/p-alice", headers=alice, params={"usage": "True"})
    assert r.status_code == 200, r.text
    assert r.json()["quota_set"]["volumes"] == {"limit": 10, "in_use": 0, "reserved": 0,
                                                "allocated": 0}
    assert (await http.get(f"{v}/os-quota-sets/p-bob", headers=alice)).status_code == 403
    r = await http.put(f"{v}/os-quota-sets/p-alice", headers=alice,
                       json={"quota_set": {"volumes": 1}})
    assert r.status_code == 403
    r = await http.put(f"{v}/os-quota-sets/p-alice", json={"quota_set": {"instances": 1}})
    assert r.status_code == 400 and "'instances' was unexpected" in r.text
    r = await http.put(f"{v}/os-quota-sets/p-alice", json={"quota_set": {"volumes": 3,
                                                                       "gigabytes": 30}})
    assert r.status_code == 200, r.text
    assert (r.json()["quota_set"]["volumes"], r.json()["quota_set"]["gigabytes"]) == (3, 30)
    position = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
    absolute = (await http.get(f"{v}/limits", headers={**alice, **position})
                ).json()["limits"]["absolute"]
    assert (absolute["maxTotalVolumes"], absolute["maxTotalVolumeGigabytes"]) == (3, 30)
    nova = (await http.get(f"{C}/os-quota-sets/p-alice", headers=alice)).json()["quota_set"]
    assert nova["instances"] == 10 and "volumes" not in nova
