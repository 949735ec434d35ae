"""Cinder's snapshot actions over the whole stack: an admin resets a
snapshot's status and force-deletes it whatever its status; a progress
report moves a snapshot being made."""

from __future__ import annotations

from tests.e2e.test_hosts_api import member
from tests.e2e.test_volumes_api import volumes_of, wait_for, wait_for_volume
from tests.support.stack import RunningStack

S = "/volume/v3/p-alice/snapshots"


async def test_an_admin_resets_a_status_a_report_moves_it_and_a_forced_delete_removes_it(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    alice = member(running_stack, "p-alice")
    base = volumes_of("p-alice")
    volume = (await http.post(base, headers=alice, json={"volume": {"size": 1}})).json()
    await wait_for_volume(http, f"{base}/{volume['volume']['id']}", "available", alice)
    made = (await http.post(S, headers=alice, json={"snapshot": {
        "volume_id": volume["volume"]["id"]}})).json()["snapshot"]
    url = f"{S}/{made['id']}"
    await wait_for(http, url, "snapshot", "available", alice)

    reset = {"os-reset_status": {"status": "creating"}}
    assert (await http.post(f"{url}/action", headers=alice, json=reset)).status_code == 403
    assert (await http.post(f"{url}/action", json=reset)).status_code == 202
    assert (await http.get(url, headers=alice)).json()["snapshot"]["status"] == "creating"
    bad = await http.post(f"{url}/action", json={"os-reset_status": {"status": "sideways"}})
    assert bad.status_code == 400

    report = {"os-update_snapshot_status": {"status": "error", "progress": "80%"}}
    assert (await http.post(f"{url}/action", headers=alice, json=report)).status_code == 202
    shown = (await http.get(url)).json()["snapshot"]
    assert (shown["status"], shown["os-extended-snapshot-attributes:progress"]) == (
        "error", "80%")
    late = await http.post(f"{url}/action", headers=alice, json=report)
    assert late.status_code == 400 and "not allowed" in late.text  # it is no longer creating

    await http.post(f"{url}/action", json={"os-reset_status": {"status": "deleting"}})
    plain = await http.delete(url, headers=alice)
    assert plain.status_code == 400  # a deleting snapshot is not deleted again, unforced
    assert (await http.post(f"{url}/action", headers=alice,
                            json={"os-force_delete": {}})).status_code == 403
    assert (await http.post(f"{url}/action", json={"os-force_delete": {}})).status_code == 202
    await wait_for(http, url, "snapshot", None, alice)
    quota = (await http.get("/volume/v3/p-alice/os-quota-sets/p-alice", headers=alice,
                            params={"usage": "True"})).json()["quota_set"]
    assert quota["snapshots"]["in_use"] == 0


async def test_an_admin_resets_a_backups_status_and_lists_one_projects_volumes(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    alice = member(running_stack, "p-alice")
    base = volumes_of("p-alice")
    volume = (await http.post(base, headers=alice, json={"volume": {"size": 1}})).json()
    volume_id = volume["volume"]["id"]
    await wait_for_volume(http, f"{base}/{volume_id}", "available", alice)
    backup = (await http.post("/volume/v3/p-alice/backups", headers=alice, json={
        "backup": {"volume_id": volume_id}})).json()["backup"]
    url = f"/volume/v3/p-alice/backups/{backup['id']}"
    await wait_for(http, url, "backup", "available", alice)
    reset = {"os-reset_status": {"status": "error"}}
    assert (await http.post(f"{url}/action", headers=alice, json=reset)).status_code == 403
    assert (await http.post(f"{url}/action", json=reset)).status_code == 202
    assert (await http.get(url, headers=alice)).json()["backup"]["status"] == "error"
    odd = await http.post(f"{url}/action", json={"os-reset_status": {"status": "creating"}})
    assert odd.status_code == 400

    (await http.post("/volume/v3/admin/volumes", json={"volume": {"size": 1}})).json()
    listed = (await http.get(f"{base}/detail", params={"all_tenants": "1",
                                                       "project_id": "p-alice"})).json()
    assert [v["id"] for v in listed["volumes"]] == [volume_id]
