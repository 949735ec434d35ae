"""Volume types over Cinder's v3 API with the whole stack: an admin makes,
re-specifies, renames, shares and deletes them; members see only what they
may use; a type's ``volume_backend_name`` decides where its volumes go."""

from __future__ import annotations

import httpx

from tests.e2e.test_hosts_api import member
from tests.e2e.test_volumes_api import volumes_of, wait_for_volume
from tests.support.stack import RunningStack

TYPES = "/volume/v3/p-alice/types"


async def make_type(http: httpx.AsyncClient, **fields: object) -> dict[str, object]:
    r = await http.post(TYPES, json={"volume_type": fields})
    assert r.status_code == 200, r.text
    made: dict[str, object] = r.json()["volume_type"]
    return made


async def test_an_admin_makes_a_type_and_its_extra_specs_are_listed_set_and_unset(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    made = await make_type(http, name="silver", description="middling",
                           extra_specs={"tier": "2"})
    assert made["os-volume-type-access:is_public"] is True
    assert (made["name"], made["description"], made["extra_specs"]) == (
        "silver", "middling", {"tier": "2"})
    url = f"{TYPES}/{made['id']}"
    assert (await http.get(url)).json()["volume_type"]["extra_specs"] == {"tier": "2"}

    r = await http.post(f"{url}/extra_specs", json={"extra_specs": {"tier": "3", "ssd": "1"}})
    assert (r.status_code, r.json()) == (200, {"extra_specs": {"tier": "3", "ssd": "1"}})
    r = await http.put(f"{url}/extra_specs/ssd", json={"ssd": "0"})
    assert (r.status_code, r.json()) == (200, {"ssd": "0"})
    assert (await http.get(f"{url}/extra_specs/tier")).json() == {"tier": "3"}
    assert (await http.delete(f"{url}/extra_specs/tier")).status_code == 202
    assert (await http.get(f"{url}/extra_specs")).json() == {"extra_specs": {"ssd": "0"}}
    missing = await http.get(f"{url}/extra_specs/tier")
    assert missing.status_code == 404 and "no extra specs with key tier" in missing.text

    mismatch = await http.put(f"{url}/extra_specs/ssd", json={"other": "1"})
    assert mismatch.status_code == 400 and "mismatch" in mismatch.json()["badRequest"]["message"]
    too_many = await http.put(f"{url}/extra_specs/ssd", json={"ssd": "1", "x": "2"})
    assert too_many.status_code == 400 and "too many" in too_many.text
    assert (await http.post(f"{url}/extra_specs", json={"extra_specs": ["x"]})
            ).status_code == 400


async def test_names_stay_unique_an_update_renames_and_a_deleted_type_frees_its_name(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    made = await make_type(http, name="bronze")
    again = await http.post(TYPES, json={"volume_type": {"name": "bronze"}})
    assert again.status_code == 409 and "already exists" in again.text
    empty = await http.post(TYPES, json={"volume_type": {"name": ""}})
    assert empty.status_code == 400 and "name" in empty.json()["badRequest"]["message"]

    url = f"{TYPES}/{made['id']}"
    r = await http.put(url, json={"volume_type": {"name": "copper", "is_public": False}})
    assert r.status_code == 200, r.text
    assert (r.json()["volume_type"]["name"], r.json()["volume_type"]["is_public"]) == (
        "copper", False)
    assert "os-volume-type-access:is_public" not in r.json()["volume_type"]
    reused = await make_type(http, name="bronze")  # the old name is free again
    assert reused["id"] != made["id"]
    assert (await http.put(url, json={"volume_type": {}})).status_code == 400

    assert (await http.delete(url)).status_code == 202
    assert (await http.get(url)).status_code == 404
    assert (await http.delete(url)).status_code == 404
    assert "copper" not in [t["name"] for t in (await http.get(
        TYPES, params={"is_public": "none"})).json()["volume_types"]]
    default = (await http.get(f"{TYPES}/default")).json()["volume_type"]
    assert default["name"] == "__DEFAULT__"
    refused = await http.delete(f"{TYPES}/{default['id']}")
    assert refused.status_code == 400 and "default volume type" in refused.text


async def test_a_private_type_is_for_the_projects_granted_access_and_members_may_not_manage(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    alice = member(running_stack, "p-alice")
    private = await make_type(http, name="vault", **{"os-volume-type-access:is_public": False})
    url = f"{TYPES}/{private['id']}"
    base = volumes_of("p-alice")
    body = {"volume": {"size": 1, "volume_type": private["id"]}}
    denied = await http.post(base, headers=alice, json=body)
    assert denied.status_code == 404 and "could not be found" in denied.text
    assert (await http.get(url, headers=alice)).status_code == 404
    assert "vault" not in [t["name"] for t in (await http.get(TYPES, headers=alice)
                                                ).json()["volume_types"]]

    grant = {"addProjectAccess": {"project": "p-alice"}}
    assert (await http.post(f"{url}/action", json=grant)).status_code == 202
    assert (await http.post(f"{url}/action", json=grant)).status_code == 409
    assert (await http.get(f"{url}/os-volume-type-access")).json() == {
        "volume_type_access": [{"volume_type_id": private["id"], "project_id": "p-alice"}]}
    listed = (await http.get(TYPES, headers=alice)).json()["volume_types"]
    assert "vault" in [t["name"] for t in listed]
    assert all(t["extra_specs"] == {} for t in listed)  # specs are the admin's business
    r = await http.post(base, headers=alice, json=body)
    assert r.status_code == 202, r.text
    assert r.json()["volume"]["volume_type"] == "vault"
    assert "os-vol-tenant-attr:tenant_id" not in r.json()["volume"]  # not in a create's answer
    await wait_for_volume(http, f"{base}/{r.json()['volume']['id']}", "available", alice)

    for call in (http.post(TYPES, headers=alice, json={"volume_type": {"name": "mine"}}),
                 http.delete(url, headers=alice),
                 http.post(f"{url}/extra_specs", headers=alice,
                           json={"extra_specs": {"a": "b"}})):
        assert (await call).status_code == 403
    revoke = {"removeProjectAccess": {"project": "p-alice"}}
    assert (await http.post(f"{url}/action", json=revoke)).status_code == 202
    assert (await http.post(f"{url}/action", json=revoke)).status_code == 404
    assert (await http.get(url, headers=alice)).status_code == 404


async def test_a_type_naming_no_storage_host_holds_no_volume_and_writes_nothing(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    nowhere = await make_type(http, name="nowhere",
                              extra_specs={"volume_backend_name": "storage9"})
    before = (await http.get(volumes_of("p-alice"))).json()["volumes"]
    r = await http.post(volumes_of("p-alice"),
                        json={"volume": {"size": 1, "volume_type": nowhere["name"]}})
    assert r.status_code == 400 and "No valid backend" in r.text
    assert (await http.get(volumes_of("p-alice"))).json()["volumes"] == before


async def test_a_volume_is_retyped_in_place_and_not_to_a_type_of_another_host(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    alice = member(running_stack, "p-alice")
    gold = await make_type(http, name="gold-here", extra_specs={"volume_backend_name": "storage1"})
    await make_type(http, name="elsewhere", extra_specs={"volume_backend_name": "storage9"})
    base = volumes_of("p-alice")
    made = (await http.post(base, headers=alice, json={"volume": {"size": 1}})).json()["volume"]
    url = f"{base}/{made['id']}"
    await wait_for_volume(http, url, "available", alice)
    action = f"{url}/action"
    r = await http.post(action, headers=alice, json={"os-retype": {"new_type": gold["id"]}})
    assert r.status_code == 202, r.text
    assert (await http.get(url, headers=alice)).json()["volume"]["volume_type"] == "gold-here"
    same = await http.post(action, headers=alice, json={"os-retype": {"new_type": "gold-here"}})
    assert same.status_code == 400 and "different" in same.text
    away = await http.post(action, headers=alice, json={"os-retype": {"new_type": "elsewhere"}})
    assert away.status_code == 400
    unknown = await http.post(action, headers=alice, json={"os-extend": {"new_size": 2}})
    assert unknown.status_code == 400 and "os-extend" in unknown.text
    nowhere = await http.post(f"{base}/9d6a3f0e-0000-4000-8000-000000000000/action",
                              headers=alice, json={"os-extend": {"new_size": 2}})
    assert nowhere.status_code == 404
    admin_view = (await http.get(url)).json()["volume"]
    assert admin_view["migration_status"] is None
    assert admin_view["os-vol-mig-status-attr:migstat"] is None
