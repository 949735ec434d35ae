"""Compute microversions over HTTP: what a client asks for is what it gets.

Each step nimbus honours (docs/compatibility.md) is asked for below it and
at it, with the whole stack on real parts; a version outside the range is
refused before anything is written, and every answer names its version.
"""

from __future__ import annotations

from typing import Any

import httpx
import psycopg

from api import microversion
from projections.log import head
from tests.e2e.test_flavors_api import member_token
from tests.support.polling import eventually
from tests.support.shared import SHARED
from tests.support.stack import RunningStack

IMAGE, FLAVOR = "cirros-0.6.2-x86_64-disk", "1"
C = "/compute/v2.1"
S = f"{C}/servers"
MAX = microversion.text(microversion.MAX)


def at(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


def log_head(stack: RunningStack) -> int:
    with psycopg.connect(stack.database_url) as conn:
        return head(conn)


async def boot(stack: RunningStack, name: str, **extra: Any) -> str:
    body = {"server": {"name": name, "imageRef": IMAGE, "flavorRef": FLAVOR, **extra}}
    r = await stack.http.post(S, json=body, headers=at("2.19"))
    assert r.status_code == 202, r.text
    server_id: str = r.json()["server"]["id"]
    await stack.wait_for_status(server_id, "ACTIVE")
    return server_id


async def shown(http: httpx.AsyncClient, server_id: str, version: str,
                token: dict[str, str] | None = None) -> dict[str, Any]:
    r = await http.get(f"{S}/{server_id}", headers={**at(version), **(token or {})})
    assert r.status_code == 200, r.text
    assert r.headers["OpenStack-API-Version"] == f"compute {version}"
    server: dict[str, Any] = r.json()["server"]
    return server


def names(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}",
            "X-OpenStack-Nova-API-Version": version,
            "Vary": "OpenStack-API-Version, X-OpenStack-Nova-API-Version"}


def named(r: httpx.Response) -> dict[str, str]:
    return {k: r.headers.get(k, "") for k in names("2.1")}


@SHARED
async def test_a_server_shows_locked_from_2_9_and_its_description_from_2_19(
        module_stack: RunningStack) -> None:
    server_id = await boot(module_stack, "mv-web", description="the web tier")
    http = module_stack.http

    base = await shown(http, server_id, "2.1")
    assert "locked" not in base and "description" not in base
    assert "OS-EXT-SRV-ATTR:reservation_id" not in base
    assert [v.keys() for v in base["os-extended-volumes:volumes_attached"]] == []

    at_9 = await shown(http, server_id, "2.9")
    assert at_9["locked"] is False and "description" not in at_9

    at_19 = await shown(http, server_id, "2.19")
    assert (at_19["locked"], at_19["description"]) == (False, "the web tier")

    listed = (await http.get(f"{S}/detail", headers=at("2.19"))).json()["servers"]
    assert {s["id"]: s["description"] for s in listed}[server_id] == "the web tier"
    listed_base = (await http.get(f"{S}/detail")).json()["servers"]
    assert all("description" not in s and "locked" not in s for s in listed_base)


@SHARED
async def test_an_admin_sees_extended_attributes_from_2_3_and_host_status_from_2_16(
        module_stack: RunningStack) -> None:
    await module_stack.hosts_once_reported()
    server_id = await boot(module_stack, "mv-attrs")
    http = module_stack.http

    at_2 = await shown(http, server_id, "2.2")
    assert "OS-EXT-SRV-ATTR:hostname" not in at_2 and "host_status" not in at_2
    at_3 = await shown(http, server_id, "2.3")
    assert at_3["OS-EXT-SRV-ATTR:hostname"] == "mv-attrs"
    assert at_3["OS-EXT-SRV-ATTR:reservation_id"].startswith("r-")
    assert (at_3["OS-EXT-SRV-ATTR:launch_index"], at_3["OS-EXT-SRV-ATTR:root_device_name"]) \
        == (0, "/dev/vda")
    assert "host_status" not in at_3
    assert (await shown(http, server_id, "2.16"))["host_status"] == "UP"


@SHARED
async def test_a_member_sees_neither_extended_attributes_nor_host_status(
        module_stack: RunningStack) -> None:
    member = member_token(module_stack, "mv-proj")
    r = await module_stack.http.post(
        S, headers=member, json={"server": {"name": "mine", "imageRef": IMAGE,
                                            "flavorRef": FLAVOR}})
    assert r.status_code == 202, r.text
    server_id = r.json()["server"]["id"]
    server = await shown(module_stack.http, server_id, MAX, member)
    assert not [k for k in server if k.startswith("OS-EXT-SRV-ATTR:")]
    assert "host_status" not in server and server["locked"] is False
    actions = f"{S}/{server_id}/os-instance-actions"
    (created,) = (await module_stack.http.get(actions, headers=member)).json()["instanceActions"]
    detail = await module_stack.http.get(f"{actions}/{created['request_id']}", headers=member)
    assert "events" not in detail.json()["instanceAction"]  # an admin's before 2.51


@SHARED
async def test_a_flavor_description_is_refused_below_2_55(module_stack: RunningStack) -> None:
    before = log_head(module_stack)
    r = await module_stack.http.post(f"{C}/flavors", headers=at(MAX), json={"flavor": {
        "name": "mv-described", "ram": 64, "vcpus": 1, "disk": 1, "description": "d"}})
    assert r.status_code == 400
    assert "('description' was unexpected)" in r.json()["badRequest"]["message"]
    assert log_head(module_stack) == before


@SHARED
async def test_latest_is_the_maximum_the_version_document_advertises(
        module_stack: RunningStack) -> None:
    http = module_stack.http
    for path in ("/compute/", f"{C}/"):
        r = await http.get(path)
        assert r.status_code == 200, r.text
        doc = r.json()["versions"][0] if "versions" in r.json() else r.json()["version"]
        assert (doc["min_version"], doc["version"]) == ("2.1", MAX)
    latest = await http.get(f"{S}/detail", headers=at("latest"))
    assert named(latest) == names(MAX)
    legacy = await http.get(f"{S}/detail", headers={"X-OpenStack-Nova-API-Version": "latest"})
    assert named(legacy) == names(MAX)


@SHARED
async def test_no_header_is_2_1_and_each_header_is_echoed(module_stack: RunningStack) -> None:
    http = module_stack.http
    assert named(await http.get(f"{C}/flavors")) == names("2.1")
    assert named(await http.get(f"{C}/flavors", headers=at("2.9"))) == names("2.9")
    legacy = await http.get(f"{C}/flavors", headers={"X-OpenStack-Nova-API-Version": "2.3"})
    assert named(legacy) == names("2.3")
    both = await http.get(f"{C}/flavors", headers={**at("2.19"),
                                                   "X-OpenStack-Nova-API-Version": "2.3"})
    assert named(both) == names("2.19")  # the new header wins, as in Nova
    several = await http.get(f"{C}/flavors",
                             headers={"OpenStack-API-Version": "volume 3.0, compute 2.11"})
    assert named(several) == names("2.11")
    missing = await http.get(f"{S}/{'0' * 8}-0000-4000-8000-{'0' * 12}", headers=at("2.19"))
    assert missing.status_code == 404 and named(missing) == names("2.19")


@SHARED
async def test_a_version_outside_the_range_is_406_and_a_malformed_one_400(
        module_stack: RunningStack) -> None:
    http = module_stack.http
    above = f"2.{microversion.MAX[1] + 1}"
    for version in (above, "3.0", "2.0", "1.1"):
        r = await http.get(f"{S}/detail", headers=at(version))
        assert r.status_code == 406, (version, r.text)
        assert r.json() == {"notAcceptable": {"code": 406, "message": (
            f"Version {version} is not supported by the API. Minimum is 2.1 and maximum "
            f"is {MAX}.")}}
    legacy = await http.get(f"{S}/detail", headers={"X-OpenStack-Nova-API-Version": above})
    assert legacy.status_code == 406
    for version in ("2.x", "two", "2", "2.01", "2.1.1"):
        r = await http.get(f"{S}/detail", headers=at(version))
        assert r.status_code == 400, (version, r.text)
        assert r.json()["badRequest"]["message"] == (
            f"API Version String {version} is of invalid format. Must be of format "
            "MajorNum.MinorNum.")


@SHARED
async def test_a_description_before_2_19_is_refused_and_nothing_is_written(
        module_stack: RunningStack) -> None:
    http = module_stack.http
    before = log_head(module_stack)
    body = {"server": {"name": "early", "imageRef": IMAGE, "flavorRef": FLAVOR,
                       "description": "too early"}}
    r = await http.post(S, json=body, headers=at("2.18"))
    assert r.status_code == 400
    assert "('description' was unexpected)" in r.json()["badRequest"]["message"]
    assert log_head(module_stack) == before

    server_id = await boot(module_stack, "mv-rename")
    renamed = await http.put(f"{S}/{server_id}", json={"server": {"description": "x"}})
    assert renamed.status_code == 400
    ok = await http.put(f"{S}/{server_id}", json={"server": {"description": "later"}},
                        headers=at("2.19"))
    assert ok.status_code == 200, ok.text
    assert ok.json()["server"]["description"] == "later"
    plain = await http.put(f"{S}/{server_id}", json={"server": {"name": "mv-renamed"}})
    assert plain.status_code == 200 and "description" not in plain.json()["server"]
    answered = plain.json()["server"]  # Nova's update answer before 2.75: no extensions
    assert answered["name"] == "mv-renamed" and "key_name" not in answered
    assert not [k for k in answered if k.startswith("OS-EXT-")]


@SHARED
async def test_trigger_crash_dump_is_an_action_from_2_17(module_stack: RunningStack) -> None:
    http = module_stack.http
    server_id = await boot(module_stack, "mv-dump")
    body = {"trigger_crash_dump": None}
    before = await http.post(f"{S}/{server_id}/action", json=body, headers=at("2.16"))
    assert before.json()["badRequest"]["message"] == \
        "There is no such action: trigger_crash_dump"
    r = await http.post(f"{S}/{server_id}/action", json=body, headers=at("2.17"))
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == "Triggering crash dump is not supported"
    elsewhere = f"{'1' * 8}-1111-4111-8111-{'1' * 12}"
    gone = await http.post(f"{S}/{elsewhere}/action", json=body, headers=at("2.17"))
    assert gone.status_code == 404


@SHARED
async def test_a_deleted_servers_actions_are_shown_from_2_21(module_stack: RunningStack) -> None:
    http = module_stack.http
    server_id = await boot(module_stack, "mv-gone")
    deleted = await http.delete(f"{S}/{server_id}")
    assert deleted.status_code == 204
    await module_stack.wait_until_gone(server_id)
    actions = f"{S}/{server_id}/os-instance-actions"
    position = {"Nimbus-Log-Position": deleted.headers["Nimbus-Log-Position"]}
    assert (await http.get(actions, headers={**position, **at("2.20")})).status_code == 404
    listed = await http.get(actions, headers={**position, **at("2.21")})
    assert listed.status_code == 200, listed.text
    assert [a["action"] for a in listed.json()["instanceActions"]] == ["delete", "create"]


@SHARED
async def test_a_keypair_has_a_type_from_2_2_and_answers_201_and_204(
        module_stack: RunningStack) -> None:
    http = module_stack.http
    typed = {"keypair": {"name": "mv-typed", "type": "ssh"}}
    early = await http.post(f"{C}/os-keypairs", json=typed)
    assert early.status_code == 400 and "('type' was unexpected)" in early.text
    made = await http.post(f"{C}/os-keypairs", json=typed, headers=at("2.2"))
    assert made.status_code == 201 and made.json()["keypair"]["type"] == "ssh"
    position = {"Nimbus-Log-Position": made.headers["Nimbus-Log-Position"]}
    base = await http.get(f"{C}/os-keypairs/mv-typed", headers=position)
    assert "type" not in base.json()["keypair"]
    gone = await http.delete(f"{C}/os-keypairs/mv-typed", headers=at("2.2"))
    assert gone.status_code == 204


@SHARED
async def test_an_admin_names_another_users_keypairs_from_2_10(
        module_stack: RunningStack) -> None:
    http = module_stack.http
    body = {"keypair": {"name": "theirs", "user_id": "user-mv-kp"}}
    early = await http.post(f"{C}/os-keypairs", json=body, headers=at("2.9"))
    assert early.status_code == 400
    made = await http.post(f"{C}/os-keypairs", json=body, headers=at("2.10"))
    assert made.status_code == 201, made.text
    assert made.json()["keypair"]["user_id"] == "user-mv-kp"
    position = {"Nimbus-Log-Position": made.headers["Nimbus-Log-Position"]}

    member = member_token(module_stack, "mv-kp")  # user-mv-kp, who owns it now
    mine = await http.get(f"{C}/os-keypairs", headers={**member, **position})
    assert [k["keypair"]["name"] for k in mine.json()["keypairs"]] == ["theirs"]
    theirs = await http.get(f"{C}/os-keypairs", params={"user_id": "user-mv-kp"},
                            headers={**position, **at("2.10")})
    assert [k["keypair"]["name"] for k in theirs.json()["keypairs"]] == ["theirs"]
    ignored = await http.get(f"{C}/os-keypairs", params={"user_id": "user-mv-kp"},
                             headers={**position, **at("2.9")})
    assert "theirs" not in [k["keypair"]["name"] for k in ignored.json()["keypairs"]]

    other = member_token(module_stack, "mv-other")
    refused = await http.get(f"{C}/os-keypairs/theirs", params={"user_id": "user-mv-kp"},
                             headers={**other, **at("2.10")})
    assert refused.status_code == 403
    gone = await http.delete(f"{C}/os-keypairs/theirs", params={"user_id": "user-mv-kp"},
                             headers=at("2.10"))
    assert gone.status_code == 204, gone.text


async def test_a_host_forced_down_from_2_11_is_down_and_skipped(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    await running_stack.hosts_once_reported()
    force = {"host": "compute2", "binary": "nova-compute", "forced_down": True}
    assert (await http.put(f"{C}/os-services/force-down", json=force,
                           headers=at("2.10"))).status_code == 404
    listed = (await http.get(f"{C}/os-services", headers=at("2.10"))).json()["services"]
    assert all("forced_down" not in s for s in listed)

    r = await http.put(f"{C}/os-services/force-down", json=force, headers=at("2.11"))
    assert r.status_code == 200, r.text
    assert r.json() == {"service": force}
    position = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
    services = (await http.get(f"{C}/os-services", headers={**position, **at("2.11")})).json()
    by_host = {s["host"]: s for s in services["services"]}
    assert (by_host["compute2"]["forced_down"], by_host["compute2"]["state"]) == (True, "down")
    assert (by_host["compute1"]["forced_down"], by_host["compute1"]["state"]) == (False, "up")

    servers = [await boot(running_stack, f"mv-spread-{i}") for i in range(2)]
    hosts = {(await shown(http, s, "2.16"))["OS-EXT-SRV-ATTR:host"] for s in servers}
    assert hosts == {"compute1"}

    up = await http.put(f"{C}/os-services/force-down", headers=at("2.11"),
                        json={**force, "forced_down": False})
    assert up.json()["service"]["forced_down"] is False

    async def up_again() -> bool:
        found = (await http.get(f"{C}/os-services", headers=at("2.11"))).json()["services"]
        states: dict[str, str] = {s["host"]: s["state"] for s in found}
        return states["compute2"] == "up"
    await eventually(up_again, what="compute2 up again")


async def test_a_server_on_a_forced_down_host_shows_host_status_down(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    await running_stack.hosts_once_reported()
    server_id = await boot(running_stack, "mv-down")
    host = (await shown(http, server_id, "2.16"))["OS-EXT-SRV-ATTR:host"]
    assert (await shown(http, server_id, "2.16"))["host_status"] == "UP"
    r = await http.put(f"{C}/os-services/force-down", headers=at("2.11"),
                       json={"host": host, "binary": "nova-compute", "forced_down": True})
    assert r.status_code == 200, r.text
    position = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
    after = await http.get(f"{S}/{server_id}", headers={**position, **at("2.16")})
    assert after.json()["server"]["host_status"] == "DOWN"
    disabled = await http.put(f"{C}/os-services/disable",
                              json={"host": host, "binary": "nova-compute"})
    assert disabled.status_code == 200, disabled.text
    up = await http.put(f"{C}/os-services/force-down", headers=at("2.11"),
                        json={"host": host, "binary": "nova-compute", "forced_down": False})
    position = {"Nimbus-Log-Position": up.headers["Nimbus-Log-Position"]}
    maintenance = await http.get(f"{S}/{server_id}", headers={**position, **at("2.16")})
    assert maintenance.json()["server"]["host_status"] == "MAINTENANCE"


@SHARED
async def test_the_ip_filter_finds_a_server_by_address_and_ip6_is_everyones_from_2_5(
        module_stack: RunningStack) -> None:
    http = module_stack.http
    private = (await http.get("/network/v2.0/networks", params={"name": "private"})).json()
    network_id = private["networks"][0]["id"]
    server_id = await boot(module_stack, "mv-ip", networks=[{"uuid": network_id}])
    (address,) = [a["addr"] for a in (await shown(http, server_id, "2.1"))["addresses"]["private"]]

    async def ids(token: dict[str, str] | None = None, version: str = "2.1",
                  **params: str) -> list[str]:
        r = await http.get(S, params=params, headers={**(token or {}), **at(version)})
        assert r.status_code == 200, r.text
        return [s["id"] for s in r.json()["servers"]]

    assert server_id in await ids(ip=address.replace(".", r"\."))
    assert server_id in await ids(ip=address.rpartition(".")[0])  # from the start
    assert server_id not in await ids(ip=address.partition(".")[2])
    assert await ids(ip6=".") == []  # an admin's at every version; no port has IPv6
    bad = await http.get(S, params={"ip": "("})
    assert bad.status_code == 400 and "ip" in bad.json()["badRequest"]["message"]

    member = member_token(module_stack, "mv-ip6")
    r = await http.post(S, headers=member, json={"server": {
        "name": "theirs", "imageRef": IMAGE, "flavorRef": FLAVOR}})
    assert r.status_code == 202, r.text
    assert await ids(member, "2.4", ip6=".") == [r.json()["server"]["id"]]  # ignored
    assert await ids(member, "2.5", ip6=".") == []


@SHARED
async def test_a_hypervisors_cpu_info_is_a_text_before_2_28_and_an_object_from_it(
        module_stack: RunningStack) -> None:
    await module_stack.hosts_once_reported()
    for version, expected in (("2.27", "{}"), ("2.28", {})):
        r = await module_stack.http.get(f"{C}/os-hypervisors/detail", headers=at(version))
        assert r.status_code == 200, r.text
        assert {h["cpu_info"] == expected for h in r.json()["hypervisors"]} == {True}
