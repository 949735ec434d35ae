"""Flavors over HTTP: the seeded defaults, admin create and delete, private
flavors with access lists, and what a non-admin may see and do."""

from __future__ import annotations

import uuid

from api.tokens import TokenSigner
from runtime import credentials
from tests.support.stack import RunningStack

C = "/compute/v2.1"


def member_token(stack: RunningStack, project_id: str) -> dict[str, str]:
    """A token for a non-admin user of ``project_id``, signed with the stack's secret."""
    signer = TokenSigner(credentials.token_secret(stack.settings), 3600)
    token, _ = signer.issue(user_id=f"user-{project_id}", user_name=f"user-{project_id}",
                            project_id=project_id, project_name=project_id, roles=["member"])
    return {"X-Auth-Token": token}


async def test_the_default_flavors_are_listed_and_found_by_name(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    r = await http.get(f"{C}/flavors/detail", params={"is_public": "None"})
    assert r.status_code == 200, r.text
    names = {f["id"]: f["name"] for f in r.json()["flavors"]}
    assert names == {"1": "m1.tiny", "2": "m1.small", "3": "m1.medium", "4": "m1.large",
                     "5": "m1.xlarge"}
    assert (await http.get(f"{C}/flavors/m1.tiny")).status_code == 404
    tiny = (await http.get(f"{C}/flavors/1")).json()["flavor"]
    assert (tiny["ram"], tiny["vcpus"], tiny["disk"]) == (512, 1, 1)
    assert (await http.get(f"{C}/flavors/1/os-extra_specs")).json() == {"extra_specs": {}}
    assert (await http.get(f"{C}/flavors", params={"is_public": "True"})).status_code == 200


async def test_an_admin_creates_and_deletes_a_flavor_and_names_stay_unique(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    body = {"flavor": {"name": "m2.big", "ram": 1024, "vcpus": 2, "disk": 10, "id": "42",
                       "OS-FLV-EXT-DATA:ephemeral": 5, "swap": 512, "rxtx_factor": 2.0}}
    r = await http.post(f"{C}/flavors", json=body)
    assert r.status_code == 200, r.text
    made = r.json()["flavor"]
    assert (made["id"], made["swap"], made["OS-FLV-EXT-DATA:ephemeral"]) == ("42", 512, 5)
    position = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
    shown = await http.get(f"{C}/flavors/42", headers=position)
    assert shown.json()["flavor"]["name"] == "m2.big"

    again = await http.post(f"{C}/flavors", json={"flavor": {**body["flavor"], "id": "43"}})
    assert again.status_code == 409
    assert again.json()["conflictingRequest"]["message"] == \
        "Flavor with name m2.big already exists."
    same_id = await http.post(f"{C}/flavors",
                              json={"flavor": {**body["flavor"], "name": "other"}})
    assert same_id.status_code == 409

    r = await http.delete(f"{C}/flavors/42")
    assert r.status_code == 202
    position = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
    assert (await http.get(f"{C}/flavors/42", headers=position)).status_code == 404
    reused = await http.post(f"{C}/flavors", json={"flavor": {**body["flavor"], "id": None}})
    assert reused.status_code == 200, "a deleted flavor's name is free again"
    uuid.UUID(reused.json()["flavor"]["id"])


async def test_bad_flavor_bodies_are_refused_naming_the_field(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    for flavor, named in (({"name": "x", "ram": 0, "vcpus": 1, "disk": 1}, "ram"),
                          ({"name": "x", "ram": 64, "vcpus": 1}, "disk"),
                          ({"name": " x", "ram": 64, "vcpus": 1, "disk": 1}, "name"),
                          ({"name": "x", "ram": "lots", "vcpus": 1, "disk": 1}, "ram")):
        r = await http.post(f"{C}/flavors", json={"flavor": flavor})
        assert r.status_code == 400, r.text
        assert named in r.json()["badRequest"]["message"]


async def test_a_private_flavor_is_seen_only_by_projects_given_access(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    member = member_token(running_stack, "proj-a")
    other = member_token(running_stack, "proj-b")
    body = {"flavor": {"name": "secret", "ram": 256, "vcpus": 1, "disk": 1, "id": "p1",
                       "os-flavor-access:is_public": False}}
    assert (await http.post(f"{C}/flavors", json=body)).status_code == 200
    r = await http.post(f"{C}/flavors/p1/action", json={"addTenantAccess": {"tenant": "proj-a"}})
    assert r.status_code == 200, r.text
    assert r.json() == {"flavor_access": [{"flavor_id": "p1", "tenant_id": "proj-a"}]}
    position = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}

    async def ids(headers: dict[str, str]) -> set[str]:
        r = await http.get(f"{C}/flavors", headers={**headers, **position})
        return {f["id"] for f in r.json()["flavors"]}

    assert "p1" in await ids(member)
    assert "p1" not in await ids(other)
    assert (await http.get(f"{C}/flavors/p1", headers=other)).status_code == 404
    listed = await http.get(f"{C}/flavors/p1/os-flavor-access")
    assert listed.json()["flavor_access"] == [{"flavor_id": "p1", "tenant_id": "proj-a"}]
    assert (await http.get(f"{C}/flavors/1/os-flavor-access")).status_code == 404

    r = await http.post(f"{C}/flavors/p1/action",
                        json={"removeTenantAccess": {"tenant": "proj-a"}})
    assert r.status_code == 200 and r.json() == {"flavor_access": []}
    position = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
    assert "p1" not in await ids(member)
    r = await http.post(f"{C}/flavors/p1/action",
                        json={"removeTenantAccess": {"tenant": "proj-a"}})
    assert r.status_code == 404


async def test_a_non_admin_may_not_create_delete_or_grant_flavors(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    member = member_token(running_stack, "proj-a")
    body = {"flavor": {"name": "mine", "ram": 256, "vcpus": 1, "disk": 1}}
    for r in (await http.post(f"{C}/flavors", json=body, headers=member),
              await http.delete(f"{C}/flavors/1", headers=member),
              await http.post(f"{C}/flavors/1/action", headers=member,
                              json={"addTenantAccess": {"tenant": "proj-a"}})):
        assert r.status_code == 403, r.text
        assert "Policy doesn't allow" in r.json()["forbidden"]["message"]
    assert (await http.get(f"{C}/flavors/1")).status_code == 200



async def test_a_server_booted_with_an_admin_created_flavor_shows_that_flavors_id_and_links(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    made = await http.post(f"{C}/flavors", json={"flavor": {
        "name": "m2.made", "ram": 256, "vcpus": 1, "disk": 1, "id": "made-1"}})
    assert made.status_code == 200, made.text
    booted = await http.post(f"{C}/servers", json={"server": {
        "name": "on-made", "imageRef": "cirros-0.6.2-x86_64-disk", "flavorRef": "made-1"}})
    assert booted.status_code == 202, booted.text
    position = {"Nimbus-Log-Position": booted.headers["Nimbus-Log-Position"]}
    shown = await http.get(f"{C}/servers/{booted.json()['server']['id']}", headers=position)
    assert shown.json()["server"]["flavor"] == {"id": "made-1", "links": [
        {"rel": "bookmark", "href": f"{running_stack.settings.base_url}/compute/flavors/made-1"}]}
