"""Nova's os-volumes and os-snapshots proxies and /extensions over HTTP, on
the whole stack: a volume (a snapshot) made through compute's proxy is the
volume service's, listed and paged in Nova's shape; bad sizes are refused
in Nova's words with nothing written; the extension list answers the aliases old clients look up."""

from __future__ import annotations

from tests.e2e.test_microversions import log_head
from tests.support.polling import eventually
from tests.support.shared import SHARED
from tests.support.stack import RunningStack

C = "/compute/v2.1"
V = f"{C}/os-volumes"


@SHARED
async def test_a_volume_made_through_the_proxy_is_the_volume_services(
        module_stack: RunningStack) -> None:
    http = module_stack.http
    ids = []
    for n in range(3):
        r = await http.post(V, json={"volume": {"size": 1, "display_name": f"proxy-{n}",
                                                "display_description": "via nova"}})
        assert r.status_code == 200, r.text
        body = r.json()["volume"]
        assert (body["size"], body["displayName"], body["displayDescription"]) == (
            1, f"proxy-{n}", "via nova")
        ids.append(body["id"])
    position = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
    shown = (await http.get(f"{V}/{ids[0]}", headers=position)).json()["volume"]
    assert shown["id"] == ids[0] and shown["attachments"] == [{}]
    assert set(shown) >= {"availabilityZone", "createdAt", "volumeType", "snapshotId"}
    projects = (await http.get("/identity/v3/auth/projects")).json()["projects"]
    found = [(await http.get(f"/volume/v3/{p['id']}/volumes/{ids[0]}")) for p in projects]
    (cinder,) = [r for r in found if r.status_code == 200]
    assert cinder.json()["volume"]["name"] == "proxy-0"

    every = [v["id"] for v in (await http.get(f"{V}/detail")).json()["volumes"]]
    assert set(ids) <= set(every)
    paged = (await http.get(V, params={"offset": 1, "limit": 1})).json()["volumes"]
    assert [v["id"] for v in paged] == every[1:2]
    assert len((await http.get(V, params={"limit": 2})).json()["volumes"]) == 2

    deleted = await http.delete(f"{V}/{ids[2]}")
    assert deleted.status_code == 202

    async def gone() -> bool:  # the storage host's answer, before the next test counts events
        return (await http.get(f"{V}/{ids[2]}")).status_code == 404

    await eventually(gone, what="the deleted volume gone")


@SHARED
async def test_bad_sizes_and_unknown_volumes_are_refused(module_stack: RunningStack) -> None:
    http = module_stack.http
    before = log_head(module_stack)
    for body in ({"volume": {"size": "#$%"}}, {"volume": {"size": 0}},
                 {"volume": {"display_name": "no size"}}):
        r = await http.post(V, json=body)
        assert r.status_code == 400, r.text
        assert r.json()["badRequest"]["message"]
    assert log_head(module_stack) == before
    missing = "9f1b7f62-6d0e-4c1a-8f3e-000000000000"
    assert (await http.get(f"{V}/{missing}")).status_code == 404
    assert (await http.get(f"{V}/not-a-uuid")).status_code == 404
    assert (await http.get(f"{V}/")).status_code == 404
    assert (await http.delete(f"{V}/")).status_code == 404


@SHARED
async def test_the_extension_list_names_novas_aliases(module_stack: RunningStack) -> None:
    http = module_stack.http
    listed = (await http.get(f"{C}/extensions")).json()["extensions"]
    assert "Hosts" in {e["name"] for e in listed}
    assert {"os-aggregates", "os-simple-tenant-usage", "os-volumes"} <= {
        e["alias"] for e in listed}
    one = (await http.get(f"{C}/extensions/os-consoles")).json()["extension"]
    assert one["alias"] == "os-consoles" and one["links"] == []
    assert (await http.get(f"{C}/extensions/os-nothing")).status_code == 404


@SHARED
async def test_a_snapshot_taken_through_the_proxy_is_listed_and_deleted(
        module_stack: RunningStack) -> None:
    http = module_stack.http
    r = await http.post(V, json={"volume": {"size": 1, "display_name": "to-snap"}})
    volume_id = r.json()["volume"]["id"]

    async def available() -> bool | None:
        shown = (await http.get(f"{V}/{volume_id}")).json()["volume"]
        return True if shown["status"] == "available" else None

    await eventually(available)
    r = await http.post(f"{C}/os-snapshots", json={"snapshot": {
        "volume_id": volume_id, "display_name": "snap-1", "force": "false"}})
    assert r.status_code == 200, r.text
    snap = r.json()["snapshot"]
    assert (snap["volumeId"], snap["displayName"], snap["size"]) == (volume_id, "snap-1", 1)
    after = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
    listed = (await http.get(f"{C}/os-snapshots/detail", headers=after)).json()["snapshots"]
    assert snap["id"] in {s["id"] for s in listed}
    assert (await http.get(f"{C}/os-snapshots/{snap['id']}")).json()["snapshot"]["id"] == \
        snap["id"]

    async def done() -> bool | None:
        shown = (await http.get(f"{C}/os-snapshots/{snap['id']}")).json()["snapshot"]
        return True if shown["status"] == "available" else None

    await eventually(done)
    assert (await http.delete(f"{C}/os-snapshots/{snap['id']}")).status_code == 202
    missing = "9f1b7f62-6d0e-4c1a-8f3e-000000000000"
    assert (await http.get(f"{C}/os-snapshots/{missing}")).status_code == 404
