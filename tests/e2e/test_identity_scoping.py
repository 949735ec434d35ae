"""Logging in as a dashboard does, over HTTP on the running stack: an
unscoped password token that can only list its projects, then the ``token``
method to scope it to one; and the one domain, found by name. The last test
drives keystoneauth's own plugins (what Horizon and every OpenStack client
log in with) against nimbus."""

from __future__ import annotations

import asyncio
from typing import Any

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from tests.e2e.test_identity_api import T, a_member
from tests.support.polling import eventually
from tests.support.stack import ADMIN_PASSWORD, RunningStack


def password_only(user: str, password: str, scope: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": user, "domain": {"name": "Default"}, "password": password}}}}}
    if scope is not None:
        body["auth"]["scope"] = scope
    return body


def by_token(token: str, project_id: str) -> dict[str, Any]:
    return {"auth": {"identity": {"methods": ["token"], "token": {"id": token}},
                     "scope": {"project": {"id": project_id}}}}


async def test_an_unscoped_token_lists_its_projects_and_is_refused_elsewhere(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    ids = await a_member(running_stack, "uma", "proj-u")
    r = await http.post(T, json=password_only("uma", "uma-pw", "unscoped"),
                        headers={"X-Auth-Token": ""})
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    assert token["user"]["id"] == ids["user_id"] and token["methods"] == ["password"]
    assert "project" not in token and "catalog" not in token and "roles" not in token
    unscoped = {"X-Auth-Token": r.headers["X-Subject-Token"]}

    projects = await http.get("/identity/v3/auth/projects", headers=unscoped)
    assert [p["id"] for p in projects.json()["projects"]] == [ids["project_id"]]
    assert (await http.get("/identity/v3/auth/domains", headers=unscoped)).json()["domains"] \
        == []
    for path in ("/compute/v2.1/servers", "/image/v2/images", "/identity/v3/auth/catalog"):
        assert (await http.get(path, headers=unscoped)).status_code == 401, path


async def test_the_token_method_scopes_a_token_to_a_project_the_user_holds_a_role_on(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    ids = await a_member(running_stack, "tom", "proj-t")
    r = await http.post("/identity/v3/projects", json={"project": {"name": "proj-other"}})
    other = r.json()["project"]["id"]
    first = await http.post(T, json=password_only("tom", "tom-pw", "unscoped"),
                            headers={"X-Auth-Token": ""})
    held = first.headers["X-Subject-Token"]

    r = await http.post(T, json=by_token(held, ids["project_id"]), headers={"X-Auth-Token": ""})
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    assert (token["project"]["id"], [x["name"] for x in token["roles"]]) \
        == (ids["project_id"], ["member", "reader"])
    assert token["methods"] == ["token", "password"]
    assert token["expires_at"] == first.json()["token"]["expires_at"]
    scoped = {"X-Auth-Token": r.headers["X-Subject-Token"]}
    assert (await http.get("/compute/v2.1/servers", headers=scoped)).status_code == 200
    catalog = (await http.get("/identity/v3/auth/catalog", headers=scoped)).json()["catalog"]
    assert {"compute", "image", "identity"} <= {e["type"] for e in catalog}

    refused = await http.post(T, json=by_token(held, other), headers={"X-Auth-Token": ""})
    assert refused.status_code == 401 and "has no access" in refused.text
    forged = await http.post(T, json=by_token(held + "x", ids["project_id"]),
                             headers={"X-Auth-Token": ""})
    assert forged.status_code == 401


async def test_the_default_domain_is_listed_found_by_name_and_shown(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    (found,) = (await http.get("/identity/v3/domains?name=Default")).json()["domains"]
    assert (found["id"], found["name"], found["enabled"]) == ("default", "Default", True)
    assert (await http.get("/identity/v3/domains?name=Other")).json()["domains"] == []
    assert (await http.get("/identity/v3/domains/default")).json()["domain"]["name"] \
        == "Default"
    assert (await http.get("/identity/v3/domains/nope")).status_code == 404


async def test_keystoneauths_password_and_token_plugins_log_in_unscoped_then_scoped(
        running_stack: RunningStack) -> None:
    url = f"{running_stack.settings.base_url}/identity/v3"

    def log_in() -> tuple[str | None, str | None, list[str]]:
        unscoped = v3.Password(auth_url=url, username="admin", password=ADMIN_PASSWORD,
                               user_domain_name="Default", unscoped=True)
        session = ks_session.Session(auth=unscoped)
        projects = [p["name"] for p in session.get(
            f"{url}/auth/projects", authenticated=True).json()["projects"]]
        held = unscoped.get_token(session)
        assert held is not None
        scoped = v3.Token(auth_url=url, token=held, project_name="admin",
                          project_domain_name="Default")
        scoped_session = ks_session.Session(auth=scoped)
        return (unscoped.get_project_id(session), scoped.get_project_id(scoped_session),
                projects)

    unscoped_project, scoped_project, projects = await asyncio.to_thread(log_in)
    assert unscoped_project is None and scoped_project and "admin" in projects


async def test_a_token_carries_the_roles_its_roles_imply_and_a_reader_may_only_read(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    await a_member(running_stack, "rita", "proj-r", role="reader")
    r = await http.post(T, json=password_only("rita", "rita-pw"), headers={"X-Auth-Token": ""})
    assert r.status_code == 201, r.text
    assert [x["name"] for x in r.json()["token"]["roles"]] == ["reader"]
    reader = {"X-Auth-Token": r.headers["X-Subject-Token"]}
    assert (await http.get("/compute/v2.1/servers", headers=reader)).status_code == 200
    refused = await http.post("/compute/v2.1/servers", headers=reader, json={"server": {
        "name": "no", "imageRef": "cirros-0.6.2-x86_64-disk", "flavorRef": "1"}})
    assert refused.status_code == 403 and "may only read" in refused.text
    assert (await http.delete(T, headers={**reader, "X-Subject-Token": reader["X-Auth-Token"]})
            ).status_code == 204  # logging out is not a write of the cloud

    admin = await http.post(T, json=password_only("admin", ADMIN_PASSWORD, {
        "project": {"name": "admin", "domain": {"name": "Default"}}}))
    assert [x["name"] for x in admin.json()["token"]["roles"]] \
        == ["admin", "manager", "member", "reader"]


async def test_a_project_is_described_disabled_tagged_and_a_rename_is_refused(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    ids = await a_member(running_stack, "pat", "proj-p")
    project = f"/identity/v3/projects/{ids['project_id']}"
    r = await http.patch(project, json={"project": {"description": "the web tier"}})
    assert (r.status_code, r.json()["project"]["description"]) == (200, "the web tier")
    renamed = await http.patch(project, json={"project": {"name": "other"}})
    assert renamed.status_code == 400 and "keeps the name" in renamed.text

    assert (await http.put(f"{project}/tags", json={"tags": ["a", "b"]})).json() \
        == {"tags": ["a", "b"]}
    assert (await http.put(f"{project}/tags/c")).status_code == 201
    assert (await http.delete(f"{project}/tags/a")).status_code == 204
    assert (await http.delete(f"{project}/tags/a")).status_code == 404
    last = await http.put(f"{project}/tags/d")
    position = {"Nimbus-Log-Position": last.headers["Nimbus-Log-Position"]}
    assert (await http.get(f"{project}/tags", headers=position)).json() \
        == {"tags": ["b", "c", "d"]}
    assert (await http.get(f"{project}/tags/c", headers=position)).status_code == 204
    assert (await http.get(project, headers=position)).json()["project"]["tags"] \
        == ["b", "c", "d"]

    r = await http.post(T, json=password_only("pat", "pat-pw"), headers={"X-Auth-Token": ""})
    member = {"X-Auth-Token": r.headers["X-Subject-Token"]}
    disabled = await http.patch(project, json={"project": {"enabled": False}})
    assert disabled.json()["project"]["enabled"] is False

    async def refused() -> bool:
        return (await http.get("/compute/v2.1/servers", headers=member)).status_code == 401
    await eventually(refused, what="the disabled project's token being refused")
    login = await http.post(T, json=password_only("pat", "pat-pw"),
                            headers={"X-Auth-Token": ""})
    assert login.status_code == 401 and "is disabled" in login.text


async def test_a_domain_holds_its_own_projects_and_users_who_log_in_within_it(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    r = await http.post("/identity/v3/domains", json={"domain": {"name": "acme"}})
    assert r.status_code == 201, r.text
    domain_id = r.json()["domain"]["id"]
    assert (await http.post("/identity/v3/domains", json={"domain": {"name": "acme"}})
            ).status_code == 409
    # the same names as the Default domain's, in another domain
    project = (await http.post("/identity/v3/projects", json={"project": {
        "name": "admin", "domain_id": domain_id}})).json()["project"]
    assert project["domain_id"] == domain_id
    user = (await http.post("/identity/v3/users", json={"user": {
        "name": "admin", "password": "acme-pw", "domain_id": domain_id,
        "email": "root@acme.example"}})).json()["user"]
    assert (user["domain_id"], user["email"]) == (domain_id, "root@acme.example")
    granted = await http.put(
        f"/identity/v3/projects/{project['id']}/users/{user['id']}/roles/member")
    assert granted.status_code == 204

    login = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"name": "acme"}, "password": "acme-pw"}}},
        "scope": {"project": {"name": "admin", "domain": {"id": domain_id}}}}}
    r = await http.post(T, json=login, headers={"X-Auth-Token": ""})
    assert r.status_code == 201, r.text
    assert (r.json()["token"]["project"]["id"], r.json()["token"]["user"]["id"]) \
        == (project["id"], user["id"])
    position = {"Nimbus-Log-Position": granted.headers["Nimbus-Log-Position"]}
    listed = await http.get(f"/identity/v3/projects?domain_id={domain_id}", headers=position)
    assert [p["id"] for p in listed.json()["projects"]] == [project["id"]]
    (found,) = (await http.get("/identity/v3/domains?name=acme")).json()["domains"]
    assert found["id"] == domain_id

    refused = await http.delete(f"/identity/v3/domains/{domain_id}")
    assert refused.status_code == 403 and "disable it first" in refused.text
    off = await http.patch(f"/identity/v3/domains/{domain_id}",
                           json={"domain": {"enabled": False}})
    assert off.json()["domain"]["enabled"] is False
    assert (await http.post(T, json=login, headers={"X-Auth-Token": ""})).status_code == 401
    assert (await http.delete(f"/identity/v3/domains/{domain_id}")).status_code == 204
    assert (await http.get(f"/identity/v3/projects/{project['id']}")).status_code == 404
    assert (await http.get(f"/identity/v3/domains/{domain_id}")).status_code == 404


async def test_a_user_is_described_and_disabled_and_then_cannot_log_in(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    ids = await a_member(running_stack, "dora", "proj-d")
    user = f"/identity/v3/users/{ids['user_id']}"
    r = await http.patch(user, json={"user": {"description": "ops", "enabled": False}})
    assert r.status_code == 200, r.text
    assert (r.json()["user"]["description"], r.json()["user"]["enabled"]) == ("ops", False)
    login = await http.post(T, json=password_only("dora", "dora-pw"),
                            headers={"X-Auth-Token": ""})
    assert login.status_code == 401 and "is disabled" in login.text
    renamed = await http.patch(user, json={"user": {"name": "other"}})
    assert renamed.status_code == 400


async def test_a_system_scoped_token_is_the_identity_apis_and_roles_are_granted_on_the_system(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    system = {"system": {"all": True}}
    r = await http.post(T, json=password_only("admin", ADMIN_PASSWORD, system),
                        headers={"X-Auth-Token": ""})
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    assert token["system"] == {"all": True} and "project" not in token
    assert "admin" in [x["name"] for x in token["roles"]]
    admin_of_system = {"X-Auth-Token": r.headers["X-Subject-Token"]}
    assert (await http.get("/identity/v3/users", headers=admin_of_system)).status_code == 200
    elsewhere = await http.get("/compute/v2.1/servers", headers=admin_of_system)
    assert elsewhere.status_code == 403 and "identity API only" in elsewhere.text

    ids = await a_member(running_stack, "sue", "proj-s")
    reader_role = f"/identity/v3/system/users/{ids['user_id']}/roles/reader"
    assert (await http.put(reader_role)).status_code == 204
    assert (await http.head(reader_role)).status_code == 204
    r = await http.post(T, json=password_only("sue", "sue-pw", system),
                        headers={"X-Auth-Token": ""})
    assert [x["name"] for x in r.json()["token"]["roles"]] == ["reader"]
    reader = {"X-Auth-Token": r.headers["X-Subject-Token"]}
    refused = await http.post("/identity/v3/projects", headers=reader,
                              json={"project": {"name": "nope"}})
    assert refused.status_code == 403
    assert (await http.delete(reader_role)).status_code == 204
    nobody = await http.post(T, json=password_only("sue", "sue-pw", system),
                             headers={"X-Auth-Token": ""})
    assert nobody.status_code == 401 and "no access to the system" in nobody.text
