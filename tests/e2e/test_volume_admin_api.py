"""Cinder's version documents, microversion header and its admin views
(hosts, services, pools), zones, extensions and quota classes, over the
whole stack."""

from __future__ import annotations

from tests.e2e.test_hosts_api import member
from tests.e2e.test_volumes_api import volumes_of, wait_for_volume
from tests.support.stack import RunningStack

V = "/volume/v3/p-alice"


async def test_the_version_documents_need_no_token_and_every_answer_names_its_microversion(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    r = await http.get("/volume/", headers={"X-Auth-Token": ""})
    assert r.status_code == 300
    (v3,) = r.json()["versions"]
    assert (v3["id"], v3["min_version"], v3["version"], v3["status"]) == (
        "v3.0", "3.0", "3.0", "CURRENT")
    assert (await http.get("/volume/v3/")).json()["versions"][0]["id"] == "v3.0"

    shown = await http.get(f"{V}/types", headers={"OpenStack-API-Version": "volume 3.0"})
    assert shown.headers["OpenStack-API-Version"] == "volume 3.0"
    assert (await http.get(f"{V}/types")).headers["OpenStack-API-Version"] == "volume 3.0"
    missing = await http.get(f"{V}/volumes/not-a-volume")
    assert missing.headers["OpenStack-API-Version"] == "volume 3.0"
    too_new = await http.get(f"{V}/types", headers={"OpenStack-API-Version": "volume 3.70"})
    assert too_new.status_code == 406 and "maximum is 3.0" in too_new.text
    garbled = await http.get(f"{V}/types", headers={"OpenStack-API-Version": "volume 3.x"})
    assert garbled.status_code == 400 and "invalid format" in garbled.text


async def test_hosts_services_and_pools_show_each_storage_host_and_what_it_holds(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    alice = member(running_stack, "p-alice")
    made = (await http.post(volumes_of("p-alice"), headers=alice,
                            json={"volume": {"size": 2}})).json()["volume"]
    shown = await wait_for_volume(http, f"{volumes_of('p-alice')}/{made['id']}", "available",
                                  alice)
    admin_view = (await http.get(f"{volumes_of('p-alice')}/{made['id']}")).json()["volume"]
    assert admin_view["os-vol-host-attr:host"] == "storage1@lvm#nova-volumes"
    assert "os-vol-host-attr:host" not in shown

    hosts = (await http.get(f"{V}/os-hosts")).json()["hosts"]
    assert [(h["host_name"], h["service"]) for h in hosts] == [
        ("storage1@lvm", "cinder-volume"), ("storage1", "cinder-backup")]
    resources = [r["resource"] for r in (await http.get(f"{V}/os-hosts/storage1@lvm")
                                         ).json()["host"]]
    assert [(r["project"], r["volume_count"], r["total_volume_gb"]) for r in resources] == [
        ("(total)", "1", "2"), ("p-alice", "1", "2")]
    assert (await http.get(f"{V}/os-hosts/storage9@lvm")).status_code == 404

    services = (await http.get(f"{V}/os-services", params={"binary": "cinder-volume"})
                ).json()["services"]
    assert [(s["host"], s["state"], s["status"]) for s in services] == [
        ("storage1@lvm", "up", "enabled")]
    assert services[0]["updated_at"] is not None
    assert (await http.get(f"{V}/os-services", params={"host": "storage9"})
            ).json()["services"] == []

    pools = (await http.get(f"{V}/scheduler-stats/get_pools", params={"detail": "True"})
             ).json()["pools"]
    assert [p["name"] for p in pools] == ["storage1@lvm#nova-volumes"]
    assert (pools[0]["capabilities"]["volume_backend_name"],
            pools[0]["capabilities"]["allocated_capacity_gb"]) == ("storage1", 2)
    for path in ("os-hosts", "os-services", "scheduler-stats/get_pools"):
        assert (await http.get(f"{V}/{path}", headers=alice)).status_code == 403


async def test_members_see_the_zone_the_extensions_and_every_cinder_quota_key(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    alice = member(running_stack, "p-alice")
    zones = (await http.get(f"{V}/os-availability-zone", headers=alice)).json()
    assert zones == {"availabilityZoneInfo": [{"zoneName": "nova",
                                               "zoneState": {"available": True}}]}
    aliases = [e["alias"] for e in (await http.get(f"{V}/extensions", headers=alice)
                                    ).json()["extensions"]]
    assert "os-hosts" in aliases and "os-volume-type-access" in aliases

    quota = (await http.get(f"{V}/os-quota-sets/p-alice", headers=alice)).json()["quota_set"]
    assert {"groups", "backups", "backup_gigabytes", "per_volume_gigabytes"} <= set(quota)
    defaults = (await http.get(f"{V}/os-quota-class-sets/default")).json()["quota_class_set"]
    assert (defaults["id"], defaults["volumes"], defaults["groups"]) == ("default", 10, 10)
    assert (await http.get(f"{V}/os-quota-class-sets/gold")).status_code == 404


async def test_deleting_a_projects_volume_quotas_keeps_its_compute_ones(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    r = await http.put(f"{V}/os-quota-sets/p-alice", json={"quota_set": {"volumes": 3}})
    assert r.status_code == 200 and r.json()["quota_set"]["volumes"] == 3
    assert r.headers["OpenStack-API-Version"] == "volume 3.0"
    await http.put("/compute/v2.1/os-quota-sets/p-alice", json={"quota_set": {"cores": 7}})
    assert (await http.delete(f"{V}/os-quota-sets/p-alice")).status_code == 200
    volumes = (await http.get(f"{V}/os-quota-sets/p-alice")).json()["quota_set"]
    assert volumes["volumes"] == 10
    compute = (await http.get("/compute/v2.1/os-quota-sets/p-alice")).json()["quota_set"]
    assert compute["cores"] == 7


async def test_a_backends_capabilities_name_it_as_a_types_volume_backend_name_does(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    found = (await http.get(f"{V}/capabilities/storage1@lvm#nova-volumes")).json()
    assert (found["volume_backend_name"], found["storage_protocol"]) == ("storage1", "iSCSI")
    assert (await http.get(f"{V}/capabilities/storage9@lvm")).status_code == 404
    unrouted = await http.get(f"{V}/volumes/")
    assert unrouted.status_code == 404  # not a redirect to the list
    no_volume = await http.post(f"{V}/snapshots", json={"snapshot": {"name": "s"}})
    assert no_volume.status_code == 404
