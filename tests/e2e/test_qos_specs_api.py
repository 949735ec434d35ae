"""Cinder's qos-specs over the whole stack: an admin makes a spec, re-keys
it, associates it with volume types and lets them go, and deletes it."""

from __future__ import annotations

from tests.e2e.test_hosts_api import member
from tests.support.stack import RunningStack

Q = "/volume/v3/p-alice/qos-specs"


async def test_a_spec_is_made_re_keyed_associated_and_deleted_by_an_admin_only(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    r = await http.post(Q, json={"qos_specs": {"name": "fast", "consumer": "front-end",
                                               "read_iops_sec": "2000"}})
    assert r.status_code == 200, r.text
    made = r.json()["qos_specs"]
    assert made == {"id": made["id"], "name": "fast", "consumer": "front-end",
                    "specs": {"read_iops_sec": "2000"}}
    assert made in (await http.get(Q)).json()["qos_specs"]
    url = f"{Q}/{made['id']}"
    again = await http.post(Q, json={"qos_specs": {"name": "fast"}})
    assert again.status_code == 409 and "already exists" in again.text
    odd = await http.post(Q, json={"qos_specs": {"name": "odd", "consumer": "sideways"}})
    assert odd.status_code == 400 and "consumer" in odd.text

    r = await http.put(url, json={"qos_specs": {"iops_bytes": "500"}})
    assert (r.status_code, r.json()) == (200, {"qos_specs": {"iops_bytes": "500"}})
    assert (await http.put(f"{url}/delete_keys", json={"keys": ["read_iops_sec"]})
            ).status_code == 202
    assert (await http.get(url)).json()["qos_specs"]["specs"] == {"iops_bytes": "500"}

    types = []
    for name in ("qos-a", "qos-b"):
        t = await http.post("/volume/v3/p-alice/types", json={"volume_type": {"name": name}})
        types.append(t.json()["volume_type"]["id"])
    for type_id in types:
        assert (await http.get(f"{url}/associate", params={"vol_type_id": type_id})
                ).status_code == 202
    unknown = await http.get(f"{url}/associate",
                             params={"vol_type_id": "9d6a3f0e-0000-4000-8000-000000000000"})
    assert unknown.status_code == 404
    listed = (await http.get(f"{url}/associations")).json()["qos_associations"]
    assert sorted((a["name"], a["association_type"]) for a in listed) == [
        ("qos-a", "volume_type"), ("qos-b", "volume_type")]
    in_use = await http.delete(url)
    assert in_use.status_code == 400 and "still associated" in in_use.text
    await http.get(f"{url}/disassociate", params={"vol_type_id": types[0]})
    assert [a["name"] for a in (await http.get(f"{url}/associations")).json()[
        "qos_associations"]] == ["qos-b"]
    await http.get(f"{url}/disassociate_all")
    assert (await http.get(f"{url}/associations")).json() == {"qos_associations": []}

    alice = member(running_stack, "p-alice")
    assert (await http.get(Q, headers=alice)).status_code == 403
    assert (await http.delete(url, headers=alice)).status_code == 403
    assert (await http.delete(url)).status_code == 202
    assert (await http.get(url)).status_code == 404
    assert (await http.delete(url)).status_code == 404
