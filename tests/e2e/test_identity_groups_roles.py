"""Keystone's custom roles, groups, a user's own password change, and the
regions, services and endpoints an admin registers, over HTTP on the
running stack."""

from __future__ import annotations

import httpx

from tests.e2e.test_identity_api import T, a_member, token_for
from tests.support.polling import eventually
from tests.support.stack import ADMIN_PASSWORD, RunningStack, auth_body

V3 = "/identity/v3"


async def test_a_custom_role_is_made_renamed_granted_carried_in_tokens_and_deleted(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    ids = await a_member(running_stack, "alice", "proj-a")
    r = await http.post(f"{V3}/roles", json={"role": {"name": "auditor"}})
    assert r.status_code == 201, r.text
    role = r.json()["role"]
    assert (role["name"], role["domain_id"], role["links"]["self"].endswith(role["id"])) == (
        "auditor", None, True)
    assert (await http.post(f"{V3}/roles", json={"role": {"name": "auditor"}})).status_code \
        == 409
    assert (await http.post(f"{V3}/roles", json={"role": {"name": "member"}})).status_code \
        == 409, "a default role's name is taken"
    r = await http.patch(f"{V3}/roles/{role['id']}", json={"role": {"name": "inspector"}})
    assert r.status_code == 200 and r.json()["role"]["name"] == "inspector"
    assert (await http.get(f"{V3}/roles/{role['id']}")).json()["role"]["name"] == "inspector"
    listed = (await http.get(f"{V3}/roles")).json()["roles"]
    assert "inspector" in {x["name"] for x in listed} and "member" in {x["name"] for x in listed}

    grant = f"{V3}/projects/{ids['project_id']}/users/{ids['user_id']}/roles/{role['id']}"
    assert (await http.put(grant)).status_code == 204
    assert (await http.head(grant)).status_code == 204
    token = await token_for(running_stack, "alice", "proj-a")
    shown = (await http.get(T, headers={"X-Subject-Token": token})).json()["token"]
    assert {x["name"] for x in shown["roles"]} == {"member", "reader", "inspector"}

    assert (await http.delete(f"{V3}/roles/{role['id']}")).status_code == 204
    assert (await http.get(f"{V3}/roles/{role['id']}")).status_code == 404
    r = await http.get(f"{V3}/role_assignments", params={"user.id": ids["user_id"]})
    assert [a["role"]["name"] for a in r.json()["role_assignments"]] == ["member"]
    token = await token_for(running_stack, "alice", "proj-a")
    shown = (await http.get(T, headers={"X-Subject-Token": token})).json()["token"]
    assert "inspector" not in {x["name"] for x in shown["roles"]}


async def test_a_groups_members_hold_its_roles_in_tokens_and_effective_assignments(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    ids = await a_member(running_stack, "alice", "proj-a")
    r = await http.post(f"{V3}/projects", json={"project": {"name": "proj-g"}})
    project = r.json()["project"]["id"]
    r = await http.post(f"{V3}/groups", json={"group": {"name": "ops", "description": "on call"}})
    assert r.status_code == 201, r.text
    group = r.json()["group"]
    assert (group["name"], group["domain_id"], group["description"]) == (
        "ops", "default", "on call")
    r = await http.patch(f"{V3}/groups/{group['id']}", json={"group": {"name": "operators"}})
    assert r.json()["group"]["name"] == "operators"
    assert (await http.post(T, json=auth_body("alice", "alice-pw", "proj-g"))).status_code \
        == 401, "no role on proj-g yet"

    member = f"{V3}/groups/{group['id']}/users/{ids['user_id']}"
    assert (await http.head(member)).status_code == 404
    assert (await http.put(member)).status_code == 204
    assert (await http.head(member)).status_code == 204
    users = (await http.get(f"{V3}/groups/{group['id']}/users")).json()["users"]
    assert [u["name"] for u in users] == ["alice"]
    groups = (await http.get(f"{V3}/users/{ids['user_id']}/groups")).json()["groups"]
    assert [g["name"] for g in groups] == ["operators"]

    grant = f"{V3}/projects/{project}/groups/{group['id']}/roles/member"
    assert (await http.put(grant)).status_code == 204
    roles = (await http.get(f"{V3}/projects/{project}/groups/{group['id']}/roles")).json()
    assert [x["name"] for x in roles["roles"]] == ["member"]
    token = await token_for(running_stack, "alice", "proj-g")
    shown = (await http.get(T, headers={"X-Subject-Token": token})).json()["token"]
    assert {x["name"] for x in shown["roles"]} == {"member", "reader"}

    direct = (await http.get(f"{V3}/role_assignments",
                             params={"scope.project.id": project})).json()["role_assignments"]
    assert [(a.get("group"), a.get("user")) for a in direct] == [({"id": group["id"]}, None)]
    r = await http.get(f"{V3}/role_assignments",
                       params={"scope.project.id": project, "effective": ""})
    effective = r.json()["role_assignments"]
    assert {(a["user"]["id"], a["role"]["name"]) for a in effective} == {
        (ids["user_id"], "member"), (ids["user_id"], "reader")}
    assert all(a["links"]["membership"].endswith(f"/groups/{group['id']}/users/"
                                                 f"{ids['user_id']}") for a in effective)
    projects = (await http.get(f"{V3}/users/{ids['user_id']}/projects")).json()["projects"]
    assert {p["name"] for p in projects} == {"proj-a", "proj-g"}

    assert (await http.delete(member)).status_code == 204
    assert (await http.delete(member)).status_code == 404
    assert (await http.post(T, json=auth_body("alice", "alice-pw", "proj-g"))).status_code \
        == 401
    assert (await http.delete(f"{V3}/groups/{group['id']}")).status_code == 204
    assert (await http.get(f"{V3}/groups/{group['id']}")).status_code == 404


async def test_a_user_changes_their_own_password_given_the_original(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    ids = await a_member(running_stack, "alice", "proj-a")
    token = await token_for(running_stack, "alice", "proj-a")
    mine = {"X-Auth-Token": token}
    change = f"{V3}/users/{ids['user_id']}/password"
    r = await http.post(change, headers=mine, json={"user": {
        "password": "new-pw", "original_password": "wrong"}})
    assert r.status_code == 401
    r = await http.post(change, headers=mine, json={"user": {
        "password": "new-pw", "original_password": "alice-pw"}})
    assert r.status_code == 204, r.text
    assert (await http.post(T, json=auth_body("alice", "alice-pw", "proj-a"))).status_code \
        == 401
    assert (await http.post(T, json=auth_body("alice", "new-pw", "proj-a"))).status_code == 201

    async def refused() -> bool:
        r = await http.get("/compute/v2.1/servers", headers=mine)
        return r.status_code == 401
    await eventually(refused, what="the token from before the change being refused")
    bob = await a_member(running_stack, "bob", "proj-b")
    bobs = {"X-Auth-Token": await token_for(running_stack, "bob", "proj-b")}
    r = await http.post(change, headers=bobs, json={"user": {
        "password": "x", "original_password": "new-pw"}})
    assert r.status_code == 403, "only the user (or an admin) changes a password"
    assert bob["user_id"] != ids["user_id"]


async def test_registered_services_endpoints_and_regions_are_stored_beside_nimbuss_own(
        running_stack: RunningStack) -> None:
    http: httpx.AsyncClient = running_stack.http
    own = (await http.get(f"{V3}/services")).json()["services"]
    assert {"identity", "compute", "image", "volumev3", "network"} <= {s["type"] for s in own}
    r = await http.post(f"{V3}/services", json={"service": {"type": "metering",
                                                            "name": "ledger"}})
    assert r.status_code == 201, r.text
    service = r.json()["service"]
    assert (service["type"], service["name"], service["enabled"]) == ("metering", "ledger", True)
    r = await http.patch(f"{V3}/services/{service['id']}",
                         json={"service": {"description": "counts"}})
    assert r.json()["service"]["description"] == "counts"
    found = (await http.get(f"{V3}/services", params={"type": "metering"})).json()["services"]
    assert [s["id"] for s in found] == [service["id"]]

    r = await http.post(f"{V3}/endpoints", json={"endpoint": {
        "service_id": service["id"], "interface": "public", "url": "http://ledger.example",
        "region": "far-away", "enabled": "True"}})
    assert r.status_code == 400, "enabled is a boolean"
    r = await http.post(f"{V3}/endpoints", json={"endpoint": {
        "service_id": service["id"], "interface": "public", "url": "http://ledger.example",
        "region": "far-away"}})
    assert r.status_code == 201, r.text
    endpoint = r.json()["endpoint"]
    assert (endpoint["region"], endpoint["region_id"], endpoint["enabled"]) == (
        "far-away", "far-away", True)
    region = await http.get(f"{V3}/regions/far-away")
    assert region.status_code == 200, "the endpoint's region was registered with it"
    r = await http.put(f"{V3}/regions/near-by", json={"region": {"description": "close"}})
    assert r.status_code == 201 and r.json()["region"]["id"] == "near-by"
    regions = {x["id"] for x in (await http.get(f"{V3}/regions")).json()["regions"]}
    assert {"RegionOne", "far-away", "near-by"} <= regions
    listed = (await http.get(f"{V3}/endpoints",
                             params={"service_id": service["id"]})).json()["endpoints"]
    assert [e["url"] for e in listed] == ["http://ledger.example"]

    r = await http.post(f"{V3}/policies", json={"policy": {"blob": "{}", "type": "json"}})
    assert r.status_code == 201, r.text
    policy = r.json()["policy"]
    r = await http.patch(f"{V3}/policies/{policy['id']}", json={"policy": {"type": "yaml"}})
    assert (r.json()["policy"]["type"], r.json()["policy"]["blob"]) == ("yaml", "{}")
    assert [p["id"] for p in (await http.get(f"{V3}/policies")).json()["policies"]] == [
        policy["id"]]
    assert (await http.delete(f"{V3}/policies/{policy['id']}")).status_code == 204

    compute = next(s for s in own if s["type"] == "compute")
    assert (await http.delete(f"{V3}/services/{compute['id']}")).status_code == 403
    assert (await http.delete(f"{V3}/endpoints/{endpoint['id']}")).status_code == 204
    assert (await http.delete(f"{V3}/services/{service['id']}")).status_code == 204
    assert (await http.get(f"{V3}/services/{service['id']}")).status_code == 404
    r = await http.post(T, json=auth_body("admin", ADMIN_PASSWORD, "admin"))
    types = {e["type"] for e in r.json()["token"]["catalog"]}
    assert types == {"identity", "compute", "image", "volumev3", "network", "placement"}


async def test_a_domain_grant_lists_the_domain_and_a_deleted_domain_takes_its_groups(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    ids = await a_member(running_stack, "alice", "proj-a")
    r = await http.post(f"{V3}/domains", json={"domain": {"name": "d1"}})
    domain = r.json()["domain"]["id"]
    alice = {"X-Auth-Token": await token_for(running_stack, "alice", "proj-a")}
    assert (await http.get(f"{V3}/auth/domains", headers=alice)).json()["domains"] == []
    grant = f"{V3}/domains/{domain}/users/{ids['user_id']}/roles/reader"
    assert (await http.put(grant)).status_code == 204
    assert (await http.head(grant)).status_code == 204
    listed = (await http.get(f"{V3}/auth/domains", headers=alice)).json()["domains"]
    assert [d["id"] for d in listed] == [domain]
    r = await http.get(f"{V3}/role_assignments", params={"scope.domain.id": domain})
    assert [a["scope"] for a in r.json()["role_assignments"]] == [{"domain": {"id": domain}}]

    r = await http.post(f"{V3}/projects", json={"project": {"name": "off", "enabled": False,
                                                            "tags": ["a", "c", "b"]}})
    assert r.status_code == 201 and r.json()["project"]["tags"] == ["a", "c", "b"]
    shown = (await http.get(f"{V3}/projects/{r.json()['project']['id']}")).json()
    assert shown["project"]["tags"] == ["a", "c", "b"]
    off = (await http.get(f"{V3}/projects", params={"enabled": "False"})).json()["projects"]
    assert [p["name"] for p in off] == ["off"]

    r = await http.post(f"{V3}/groups", json={"group": {"name": "g", "domain_id": domain}})
    group = r.json()["group"]["id"]
    assert (await http.patch(f"{V3}/domains/{domain}",
                             json={"domain": {"enabled": False}})).status_code == 200
    assert (await http.delete(f"{V3}/domains/{domain}")).status_code == 204
    assert (await http.get(f"{V3}/groups/{group}")).status_code == 404
