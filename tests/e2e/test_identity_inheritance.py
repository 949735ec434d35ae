"""Keystone's implied roles, OS-INHERIT grants and credentials over HTTP on
the running stack: what a token carries and what effective role
assignments answer, and that a credential's secret is never stored in
clear."""

from __future__ import annotations

import json

from tests.e2e.test_identity_api import T, a_member, token_for
from tests.support.stack import RunningStack, auth_body

V3 = "/identity/v3"


async def _role(stack: RunningStack, name: str, domain_id: str | None = None) -> str:
    body = {"name": name, **({"domain_id": domain_id} if domain_id else {})}
    r = await stack.http.post(f"{V3}/roles", json={"role": body})
    assert r.status_code == 201, r.text
    role_id: str = r.json()["role"]["id"]
    return role_id


async def test_an_implied_role_comes_with_its_prior_role_in_tokens_and_assignments(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    ids = await a_member(running_stack, "alice", "proj-a")
    auditor, viewer = await _role(running_stack, "auditor"), await _role(running_stack, "viewer")
    rule = f"{V3}/roles/{auditor}/implies/{viewer}"
    r = await http.put(rule)
    assert r.status_code == 201, r.text
    inference = r.json()["role_inference"]
    assert (inference["prior_role"]["name"], inference["implies"]["name"]) == (
        "auditor", "viewer")
    assert (await http.head(rule)).status_code == 204
    listed = (await http.get(f"{V3}/roles/{auditor}/implies")).json()["role_inference"]
    assert [x["id"] for x in listed["implies"]] == [viewer]
    every = (await http.get(f"{V3}/role_inferences")).json()["role_inferences"]
    assert {(x["prior_role"]["name"], tuple(i["name"] for i in x["implies"])) for x in every} \
        >= {("admin", ("manager",)), ("member", ("reader",)), ("auditor", ("viewer",))}
    assert (await http.put(f"{V3}/roles/member/implies/{viewer}")).status_code == 403, \
        "the default roles' rules are fixed"

    grant = f"{V3}/projects/{ids['project_id']}/users/{ids['user_id']}/roles/{auditor}"
    assert (await http.put(grant)).status_code == 204
    token = await token_for(running_stack, "alice", "proj-a")
    shown = (await http.get(T, headers={"X-Subject-Token": token})).json()["token"]
    assert {"auditor", "viewer"} <= {x["name"] for x in shown["roles"]}
    params = {"user.id": ids["user_id"], "scope.project.id": ids["project_id"],
              "effective": ""}
    r = await http.get(f"{V3}/role_assignments", params=params)
    assert {a["role"]["id"] for a in r.json()["role_assignments"]} >= {auditor, viewer}

    assert (await http.delete(rule)).status_code == 204
    assert (await http.get(rule)).status_code == 404
    r = await http.get(f"{V3}/role_assignments", params=params)
    assert viewer not in {a["role"]["id"] for a in r.json()["role_assignments"]}


async def test_a_global_role_never_implies_a_domains_role_and_a_domains_role_is_not_in_effect(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    ids = await a_member(running_stack, "alice", "proj-a")
    domain = (await http.post(f"{V3}/domains", json={"domain": {"name": "d1"}})).json()
    local = await _role(running_stack, "local", domain["domain"]["id"])
    listed = (await http.get(f"{V3}/roles", params={"domain_id": domain["domain"]["id"]}))
    assert [x["id"] for x in listed.json()["roles"]] == [local]
    glob = await _role(running_stack, "global")
    assert (await http.put(f"{V3}/roles/{glob}/implies/{local}")).status_code == 403
    assert (await http.put(f"{V3}/roles/{local}/implies/{glob}")).status_code == 201
    grant = f"{V3}/projects/{ids['project_id']}/users/{ids['user_id']}/roles/{local}"
    assert (await http.put(grant)).status_code == 204
    r = await http.get(f"{V3}/role_assignments", params={
        "user.id": ids["user_id"], "scope.project.id": ids["project_id"], "effective": ""})
    effective = {a["role"]["id"] for a in r.json()["role_assignments"]}
    assert local not in effective and glob in effective, "only what the domain's role implies"


async def test_a_domains_inherited_grant_is_held_on_each_of_its_projects(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    r = await http.post(f"{V3}/domains", json={"domain": {"name": "d1"}})
    domain = r.json()["domain"]["id"]
    r = await http.post(f"{V3}/projects", json={"project": {"name": "p1", "domain_id": domain}})
    project = r.json()["project"]["id"]
    r = await http.post(f"{V3}/users", json={"user": {"name": "carol", "password": "carol-pw"}})
    user = r.json()["user"]["id"]
    login = auth_body("carol", "carol-pw", "p1")
    login["auth"]["scope"]["project"]["domain"] = {"id": domain}
    assert (await http.post(T, json=login)).status_code == 401

    inherit = f"{V3}/OS-INHERIT/domains/{domain}/users/{user}/roles/member/inherited_to_projects"
    assert (await http.put(inherit)).status_code == 204
    assert (await http.head(inherit)).status_code == 204
    listed = await http.get(f"{V3}/OS-INHERIT/domains/{domain}/users/{user}/roles/"
                            "inherited_to_projects")
    assert [x["name"] for x in listed.json()["roles"]] == ["member"]
    assert (await http.head(f"{V3}/domains/{domain}/users/{user}/roles/member")).status_code \
        == 404, "not a grant on the domain itself"
    r = await http.post(T, json=login)
    assert r.status_code == 201, r.text
    assert {x["name"] for x in r.json()["token"]["roles"]} == {"member", "reader"}
    assert r.json()["token"]["project"]["domain"] == {"id": domain, "name": "d1"}
    assert r.json()["token"]["user"]["domain"] == {"id": "default", "name": "Default"}
    r = await http.get(f"{V3}/role_assignments", params={
        "user.id": user, "scope.project.id": project, "effective": ""})
    assert {(a["scope"]["project"]["id"], a["role"]["name"])
            for a in r.json()["role_assignments"]} == {(project, "member"), (project, "reader")}
    direct = (await http.get(f"{V3}/role_assignments", params={"user.id": user})).json()
    assert [a["scope"] for a in direct["role_assignments"]] == [
        {"domain": {"id": domain}, "OS-INHERIT:inherited_to": "projects"}]

    assert (await http.delete(inherit)).status_code == 204
    assert (await http.post(T, json=login)).status_code == 401


async def test_credentials_are_answered_to_their_owner_and_stored_sealed(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    ids = await a_member(running_stack, "alice", "proj-a")
    alice = {"X-Auth-Token": await token_for(running_stack, "alice", "proj-a")}
    blob = json.dumps({"access": "alice-access", "secret": "alice-secret-42"})
    r = await http.post(f"{V3}/credentials", headers=alice, json={"credential": {
        "user_id": ids["user_id"], "project_id": ids["project_id"], "type": "ec2",
        "blob": blob}})
    assert r.status_code == 201, r.text
    cred = r.json()["credential"]
    assert (cred["blob"], cred["type"], cred["user_id"]) == (blob, "ec2", ids["user_id"])
    r = await http.patch(f"{V3}/credentials/{cred['id']}", json={"credential": {
        "blob": json.dumps({"access": "alice-access", "secret": "rotated"})}})
    assert json.loads(r.json()["credential"]["blob"])["secret"] == "rotated"
    mine = (await http.get(f"{V3}/credentials", headers=alice)).json()["credentials"]
    assert [c["id"] for c in mine] == [cred["id"]]

    r = await http.post(f"{V3}/users/{ids['user_id']}/credentials/OS-EC2", headers=alice,
                        json={"tenant_id": ids["project_id"]})
    assert r.status_code == 201, r.text
    ec2 = r.json()["credential"]
    assert ec2["user_id"] == ids["user_id"] and ec2["tenant_id"] == ids["project_id"]
    shown = await http.get(f"{V3}/users/{ids['user_id']}/credentials/OS-EC2/{ec2['access']}",
                           headers=alice)
    assert shown.json()["credential"]["secret"] == ec2["secret"]
    bob = await a_member(running_stack, "bob", "proj-b")
    bobs = {"X-Auth-Token": await token_for(running_stack, "bob", "proj-b")}
    assert (await http.get(f"{V3}/credentials/{cred['id']}", headers=bobs)).status_code == 403
    assert bob["user_id"] != ids["user_id"]

    stream = (await http.get("/events/stream?follow=false")).text
    assert "CredentialCreated" in stream
    for secret in ("alice-secret-42", "rotated", ec2["secret"]):
        assert secret not in stream, "the log holds only sealed blobs"

    r = await http.delete(f"{V3}/users/{ids['user_id']}/credentials/OS-EC2/{ec2['access']}",
                          headers=alice)
    assert r.status_code == 204
    assert (await http.delete(f"{V3}/credentials/{cred['id']}")).status_code == 204
    assert (await http.get(f"{V3}/credentials/{cred['id']}")).status_code == 404


async def test_an_application_credential_logs_in_with_its_roles_until_deleted(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    ids = await a_member(running_stack, "alice", "proj-a")
    auditor = await _role(running_stack, "auditor")
    grant = f"{V3}/projects/{ids['project_id']}/users/{ids['user_id']}/roles/{auditor}"
    assert (await http.put(grant)).status_code == 204
    alice = {"X-Auth-Token": await token_for(running_stack, "alice", "proj-a")}
    creds = f"{V3}/users/{ids['user_id']}/application_credentials"
    r = await http.post(creds, headers=alice, json={"application_credential": {
        "name": "ci", "roles": [{"id": auditor}], "expires_at": "2100-01-01T00:00:00"}})
    assert r.status_code == 201, r.text
    made = r.json()["application_credential"]
    assert (made["project_id"], [x["id"] for x in made["roles"]], made["expires_at"]) == (
        ids["project_id"], [auditor], "2100-01-01T00:00:00")
    shown = (await http.get(f"{creds}/{made['id']}", headers=alice)).json()
    assert "secret" not in shown["application_credential"]
    r = await http.post(creds, headers=alice, json={"application_credential": {
        "name": "too-much", "roles": [{"name": "admin"}]}})
    assert r.status_code == 400, "only roles the user holds there"

    login = {"auth": {"identity": {"methods": ["application_credential"],
                                   "application_credential": {"id": made["id"],
                                                              "secret": made["secret"]}}}}
    r = await http.post(T, json=login, headers={"X-Auth-Token": ""})
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    assert (token["project"]["id"], [x["name"] for x in token["roles"]], token["methods"]) == (
        ids["project_id"], ["auditor"], ["application_credential"])
    wrong = {"auth": {"identity": {"methods": ["application_credential"],
                                   "application_credential": {"id": made["id"],
                                                              "secret": "guess"}}}}
    assert (await http.post(T, json=wrong)).status_code == 401

    assert (await http.delete(grant)).status_code == 204
    assert (await http.post(T, json=login)).status_code == 401, "the role is no longer held"
    assert (await http.delete(f"{creds}/{made['id']}", headers=alice)).status_code == 204
    listed = (await http.get(creds, headers=alice)).json()["application_credentials"]
    assert listed == []
