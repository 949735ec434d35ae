"""Keystone over HTTP on the running stack: tokens, the admin API, and isolation."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.polling import eventually
from tests.support.stack import ADMIN_PASSWORD, RunningStack, auth_body

T = "/identity/v3/auth/tokens"
BOOT = {"server": {"name": "vm-a", "imageRef": "cirros-0.6.2-x86_64-disk", "flavorRef": "1"}}


async def a_member(stack: RunningStack, user: str, project: str,
                   role: str = "member") -> dict[str, Any]:
    """Create ``project`` and ``user`` holding ``role`` on it, through the admin API."""
    http = stack.http
    r = await http.post("/identity/v3/projects", json={"project": {"name": project}})
    assert r.status_code == 201, r.text
    project_id = r.json()["project"]["id"]
    r = await http.post("/identity/v3/users", json={"user": {
        "name": user, "password": f"{user}-pw", "default_project_id": project_id}})
    assert r.status_code == 201, r.text
    user_id = r.json()["user"]["id"]
    r = await http.put(f"/identity/v3/projects/{project_id}/users/{user_id}/roles/{role}")
    assert r.status_code == 204, r.text
    return {"user_id": user_id, "project_id": project_id}


async def token_for(stack: RunningStack, user: str, project: str,
                    password: str | None = None) -> str:
    r = await stack.http.post(T, json=auth_body(user, password or f"{user}-pw", project),
                              headers={"X-Auth-Token": ""})
    assert r.status_code == 201, r.text
    token: str = r.headers["X-Subject-Token"]
    return token


async def test_a_token_carries_roles_the_catalog_and_an_expiry(
        running_stack: RunningStack) -> None:
    r = await running_stack.http.post(T, json=auth_body("admin", ADMIN_PASSWORD, "admin"))
    assert r.status_code == 201
    token = r.json()["token"]
    assert sorted(role["name"] for role in token["roles"]) \
        == ["admin", "manager", "member", "reader"]
    assert token["project"]["name"] == "admin" and token["user"]["name"] == "admin"
    assert token["expires_at"] > token["issued_at"]
    types = {entry["type"] for entry in token["catalog"]}
    assert {"identity", "compute", "image", "volumev3", "network"} <= types
    compute = next(e for e in token["catalog"] if e["type"] == "compute")
    assert compute["endpoints"][0]["region"] == "RegionOne"


async def test_the_catalog_publishes_the_roots_devstack_publishes_and_each_answers(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    r = await http.post(T, json=auth_body("admin", ADMIN_PASSWORD, "admin"))
    project = r.json()["token"]["project"]["id"]
    urls = {e["type"]: e["endpoints"][0]["url"].removeprefix(running_stack.settings.base_url)
            for e in r.json()["token"]["catalog"]}
    assert urls == {"identity": "/identity", "compute": "/compute/v2.1", "image": "/image",
                    "volumev3": f"/volume/v3/{project}", "network": "/networking",
                    "placement": "/placement"}
    assert (await http.get("/identity")).status_code == 300
    assert (await http.get("/placement")).json()["versions"][0]["id"] == "v1.0"
    assert (await http.get("/image")).status_code == 300
    assert (await http.get("/networking")).json()["versions"][0]["id"] == "v2.0"
    networks = await http.get("/networking/v2.0/networks")
    assert networks.status_code == 200
    assert networks.json() == (await http.get("/network/v2.0/networks")).json()
    r = await http.get("/networking/v2.0/networks/nope")
    assert r.status_code == 404 and "NetworkNotFound" in r.text, "Neutron's body, as at /network"


async def test_wrong_passwords_strangers_and_other_domains_get_401(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    await a_member(running_stack, "alice", "proj-a")
    await http.post("/identity/v3/projects", json={"project": {"name": "proj-x"}})
    for body in (auth_body("admin", "wrong", "admin"), auth_body("nobody", "pw", "admin"),
                 auth_body("alice", "alice-pw", "proj-x"),  # no role there
                 auth_body("alice", "alice-pw", "no-such-project")):
        r = await http.post(T, json=body)
        assert r.status_code == 401, body
        assert "error" in r.json()
    other_domain = auth_body("alice", "alice-pw", "proj-a")
    other_domain["auth"]["identity"]["password"]["user"]["domain"] = {"name": "Elsewhere"}
    assert (await http.post(T, json=other_domain)).status_code == 401


async def test_a_token_validates_until_it_is_revoked_then_is_refused_everywhere(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    await a_member(running_stack, "alice", "proj-a")
    token = await token_for(running_stack, "alice", "proj-a")
    r = await http.get(T, headers={"X-Subject-Token": token})
    assert r.status_code == 200 and r.json()["token"]["user"]["name"] == "alice"
    assert (await http.head(T, headers={"X-Subject-Token": token})).status_code == 200
    mine = {"X-Auth-Token": token}
    assert (await http.get("/compute/v2.1/servers", headers=mine)).status_code == 200

    r = await http.delete(T, headers={"X-Auth-Token": token, "X-Subject-Token": token})
    assert r.status_code == 204
    assert (await http.get("/compute/v2.1/servers", headers=mine)).status_code == 401
    assert (await http.get(T, headers={"X-Subject-Token": token})).status_code == 404
    r = await http.post("/compute/v2.1/servers", json=BOOT, headers=mine)
    assert r.status_code == 401


async def test_revoking_a_role_ends_the_users_tokens_on_that_project(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    ids = await a_member(running_stack, "alice", "proj-a")
    token = await token_for(running_stack, "alice", "proj-a")
    r = await http.delete(f"/identity/v3/projects/{ids['project_id']}/users/"
                          f"{ids['user_id']}/roles/member")
    assert r.status_code == 204

    async def refused() -> bool:
        r = await http.get("/compute/v2.1/servers", headers={"X-Auth-Token": token})
        return r.status_code == 401
    await eventually(refused, what="the token being refused")
    r = await http.post(T, json=auth_body("alice", "alice-pw", "proj-a"))
    assert r.status_code == 401


async def test_non_admins_get_keystone_403s_and_see_only_themselves(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    ids = await a_member(running_stack, "alice", "proj-a")
    await a_member(running_stack, "bob", "proj-b")
    alice = {"X-Auth-Token": await token_for(running_stack, "alice", "proj-a")}
    r = await http.post("/identity/v3/projects", json={"project": {"name": "mine"}},
                        headers=alice)
    assert r.status_code == 403
    assert r.json()["error"]["message"] == ("You are not authorized to perform the requested "
                                            "action: identity:create_project.")
    admin = (await http.get("/identity/v3/users?name=admin")).json()["users"][0]
    assert (await http.get(f"/identity/v3/users/{admin['id']}", headers=alice)).status_code \
        == 403
    assert (await http.get("/identity/v3/role_assignments", headers=alice)).status_code == 403

    me = await http.get(f"/identity/v3/users/{ids['user_id']}", headers=alice)
    assert me.status_code == 200 and me.json()["user"]["name"] == "alice"
    users = (await http.get("/identity/v3/users", headers=alice)).json()["users"]
    assert [u["name"] for u in users] == ["alice"]
    projects = (await http.get("/identity/v3/projects", headers=alice)).json()["projects"]
    assert [p["name"] for p in projects] == ["proj-a"]


async def test_the_admin_api_finds_projects_the_way_quota_show_looks_them_up(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    ids = await a_member(running_stack, "alice", "proj-a", role="netadmin")
    assert (await http.get("/identity/v3/projects/proj-a")).status_code == 404
    found = (await http.get("/identity/v3/projects?name=proj-a")).json()["projects"]
    assert [p["id"] for p in found] == [ids["project_id"]]
    shown = await http.get(f"/identity/v3/projects/{ids['project_id']}")
    assert shown.json()["project"]["name"] == "proj-a"
    r = await http.get("/identity/v3/role_assignments",
                       params={"user.id": ids["user_id"],
                               "scope.project.id": ids["project_id"]})
    assert [a["role"]["name"] for a in r.json()["role_assignments"]] == ["netadmin"]
    check = f"/identity/v3/projects/{ids['project_id']}/users/{ids['user_id']}/roles/"
    assert (await http.head(check + "netadmin")).status_code == 204
    assert (await http.head(check + "admin")).status_code == 404
    names = {r["name"] for r in (await http.get("/identity/v3/roles")).json()["roles"]}
    assert names == {"admin", "manager", "member", "reader", "itsec", "sysadmin", "netadmin",
                     "projectmanager"}
    r = await http.post("/identity/v3/projects", json={"project": {"name": "proj-a"}})
    assert r.status_code == 409


async def test_a_project_sees_and_touches_only_its_own_servers(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    await a_member(running_stack, "alice", "proj-a")
    await a_member(running_stack, "bob", "proj-b")
    alice = {"X-Auth-Token": await token_for(running_stack, "alice", "proj-a")}
    bob = {"X-Auth-Token": await token_for(running_stack, "bob", "proj-b")}
    r = await http.post("/compute/v2.1/servers", json=BOOT, headers=alice)
    assert r.status_code == 202, r.text
    server_id = r.json()["server"]["id"]
    position = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
    r = await http.post("/compute/v2.1/servers",
                        json={"server": {**BOOT["server"], "name": "vm-b"}}, headers=bob)
    assert r.status_code == 202, r.text
    bobs_id = r.json()["server"]["id"]

    s = f"/compute/v2.1/servers/{server_id}"
    assert (await http.get(s, headers={**alice, **position})).status_code == 200
    assert (await http.get(s, headers={**bob, **position})).status_code == 404
    listed = (await http.get("/compute/v2.1/servers/detail", headers={**bob, **position}))
    assert server_id not in {x["id"] for x in listed.json()["servers"]}
    r = await http.post(f"{s}/action", json={"pause": None}, headers=bob)
    assert r.status_code == 404
    assert (await http.delete(s, headers=bob)).status_code == 404
    assert (await http.get(f"{s}/os-instance-actions", headers=bob)).status_code == 404
    assert (await http.get("/events/stream?follow=false", headers=bob)).status_code == 403

    everyone = await http.get("/compute/v2.1/servers?all_tenants=1", headers=position)
    assert {server_id, bobs_id} <= {x["id"] for x in everyone.json()["servers"]}
    bobs_all = await http.get("/compute/v2.1/servers?all_tenants=1", headers=bob)
    assert server_id not in {x["id"] for x in bobs_all.json()["servers"]}


async def test_unauthenticated_requests_are_refused(running_stack: RunningStack) -> None:
    async with httpx.AsyncClient(base_url=running_stack.settings.base_url) as anonymous:
        assert (await anonymous.get("/identity/v3/projects")).status_code == 401
        assert (await anonymous.get("/compute/v2.1/servers")).status_code == 401
        r = await anonymous.get("/compute/v2.1/servers", headers={"X-Auth-Token": "forged"})
        assert r.status_code == 401
