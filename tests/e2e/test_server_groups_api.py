"""Server groups over HTTP, on the whole stack (two hypervisor hosts): the
servers booted into an affinity group share a host, those of an
anti-affinity group never do (a third finds no host), within one boot of
several too, the group lists its
live members, and Nova's refusals write nothing."""

from __future__ import annotations

from typing import Any

from tests.e2e.test_flavors_api import member_token
from tests.e2e.test_microversions import log_head
from tests.support.polling import eventually
from tests.support.stack import RunningStack

C = "/compute/v2.1"
G = f"{C}/os-server-groups"


async def _group(stack: RunningStack, name: str, policy: str) -> str:
    r = await stack.http.post(G, json={"server_group": {"name": name, "policies": [policy]}})
    assert r.status_code == 200, r.text
    body = r.json()["server_group"]
    assert (body["name"], body["policies"], body["members"]) == (name, [policy], [])
    group_id: str = body["id"]
    return group_id


async def _boot(stack: RunningStack, name: str, group: str) -> Any:
    return await stack.http.post(f"{C}/servers", json={
        "server": {"name": name, "flavorRef": "1", "imageRef": "cirros-0.6.2-x86_64-disk"},
        "os:scheduler_hints": {"group": group}})


async def _host(stack: RunningStack, name: str, group: str) -> tuple[str, str]:
    r = await _boot(stack, name, group)
    assert r.status_code == 202, r.text
    server = await stack.wait_for_status(r.json()["server"]["id"], "ACTIVE")
    return server["id"], server["OS-EXT-SRV-ATTR:host"]


async def test_affinity_shares_a_host_and_anti_affinity_never_does(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    await running_stack.hosts_once_reported()
    together = await _group(running_stack, "together", "affinity")
    (a, host_a), (b, host_b) = [await _host(running_stack, n, together) for n in ("a1", "a2")]
    assert host_a == host_b
    apart = await _group(running_stack, "apart", "anti-affinity")
    (c, host_c), (d, host_d) = [await _host(running_stack, n, apart) for n in ("x1", "x2")]
    assert host_c != host_d
    third = await _boot(running_stack, "x3", apart)  # no third host: accepted, in ERROR
    assert third.status_code == 202, third.text
    e = third.json()["server"]["id"]
    failed = await running_stack.wait_for_status(e, "ERROR")
    assert failed["fault"]["code"] == 500 and "No valid host" in failed["fault"]["message"]

    shown = (await http.get(f"{G}/{together}")).json()["server_group"]
    assert shown["members"] == [a, b]
    listed = {g["id"]: g["members"] for g in (await http.get(G)).json()["server_groups"]}
    assert listed[apart] == [c, d, e]  # a member, as in Nova, until it is deleted

    assert (await http.delete(f"{C}/servers/{a}")).status_code == 204

    async def members() -> list[str] | None:
        found: list[str] = (await http.get(f"{G}/{together}")).json()["server_group"]["members"]
        return found if found == [b] else None

    assert await eventually(members) == [b]
    assert (await http.delete(f"{G}/{together}")).status_code == 204
    assert (await http.get(f"{G}/{together}")).status_code == 404


async def test_one_boot_of_two_servers_follows_the_groups_policy_among_them(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    await running_stack.hosts_once_reported()
    for policy, same in (("affinity", True), ("anti-affinity", False)):
        group = await _group(running_stack, f"pair-{policy}", policy)
        r = await http.post(f"{C}/servers", json={
            "server": {"name": f"pair-{policy}", "flavorRef": "1", "min_count": 2,
                       "imageRef": "cirros-0.6.2-x86_64-disk", "return_reservation_id": True},
            "os:scheduler_hints": {"group": group}})
        assert r.status_code == 202, r.text
        after = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
        shown = (await http.get(f"{G}/{group}", headers=after)).json()["server_group"]
        assert len(shown["members"]) == 2
        started = (await http.get(f"{C}/servers", headers=after, params={
            "reservation_id": r.json()["reservation_id"]})).json()["servers"]
        assert {s["id"] for s in started} == set(shown["members"])
        servers = [await running_stack.wait_for_status(m, "ACTIVE") for m in shown["members"]]
        hosts = {s["OS-EXT-SRV-ATTR:host"] for s in servers}
        assert len(hosts) == (1 if same else 2), (policy, hosts)
    crowd = await _group(running_stack, "crowd", "anti-affinity")
    r = await http.post(f"{C}/servers", json={
        "server": {"name": "crowd", "flavorRef": "1", "min_count": 3,
                   "imageRef": "cirros-0.6.2-x86_64-disk"},
        "os:scheduler_hints": {"group": crowd}})
    assert r.status_code == 202, r.text  # two hosts for three: all three in ERROR
    after = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
    members = (await http.get(f"{G}/{crowd}", headers=after)).json()["server_group"]["members"]
    assert len(members) == 3
    for member in members:
        failed = await running_stack.wait_for_status(member, "ERROR")
        assert failed["OS-EXT-SRV-ATTR:host"] is None


async def test_server_group_refusals_write_nothing(running_stack: RunningStack) -> None:
    http = running_stack.http
    mine = await _group(running_stack, "mine", "affinity")
    before = log_head(running_stack)
    other = member_token(running_stack, "p-groups")
    for call, status in (
        (http.post(G, json={"server_group": {"name": "x", "policies": ["nearby"]}}), 400),
        (http.post(G, json={"server_group": {"name": "x", "policies": ["soft-affinity"]}}),
         400),  # from 2.15
        (http.post(G, json={"server_group": {"name": "x", "policies": []}}), 400),
        (http.post(G, json={"server_group": {"name": "", "policies": ["affinity"]}}), 400),
        (http.get(f"{G}/{mine}", headers=other), 404),
        (http.delete(f"{G}/{mine}", headers=other), 404),
        (http.get(f"{G}/not-a-uuid"), 404),
        (_boot(running_stack, "lost", "9f1b7f62-6d0e-4c1a-8f3e-000000000000"), 400),
        (_boot(running_stack, "lost", "not-a-group"), 400),
    ):
        r = await call
        assert r.status_code == status, r.text
    assert log_head(running_stack) == before
