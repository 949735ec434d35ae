"""A volume's metadata and Cinder's listing parameters (sort, marker, offset,
the next page's link, the metadata filter) over the whole stack."""

from __future__ import annotations

from urllib.parse import urlparse

from tests.e2e.test_hosts_api import member
from tests.e2e.test_volumes_api import volumes_of, wait_for_volume
from tests.support.stack import RunningStack


async def test_metadata_is_kept_from_the_create_merged_replaced_and_removed_key_by_key(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    alice = member(running_stack, "p-alice")
    base = volumes_of("p-alice")
    r = await http.post(base, headers=alice,
                        json={"volume": {"size": 1, "metadata": {"Type": "work"}}})
    assert r.status_code == 202 and r.json()["volume"]["metadata"] == {"Type": "work"}
    url = f"{base}/{r.json()['volume']['id']}"
    await wait_for_volume(http, url, "available", alice)
    meta = f"{url}/metadata"

    r = await http.post(meta, headers=alice, json={"metadata": {"owner": "alice"}})
    assert (r.status_code, r.json()) == (200, {"metadata": {"Type": "work", "owner": "alice"}})
    r = await http.put(f"{meta}/owner", headers=alice, json={"meta": {"owner": "bob"}})
    assert (r.status_code, r.json()) == (200, {"meta": {"owner": "bob"}})
    assert (await http.get(f"{meta}/owner", headers=alice)).json() == {"meta": {"owner": "bob"}}
    mismatch = await http.put(f"{meta}/owner", headers=alice, json={"meta": {"x": "1"}})
    assert mismatch.status_code == 400 and "mismatch" in mismatch.text

    r = await http.put(meta, headers=alice, json={"metadata": {"only": "this"}})
    assert r.json() == {"metadata": {"only": "this"}}
    assert (await http.delete(f"{meta}/only", headers=alice)).status_code == 200
    gone = await http.delete(f"{meta}/only", headers=alice)
    assert gone.status_code == 404 and "Metadata item was not found" in gone.text
    assert (await http.get(url, headers=alice)).json()["volume"]["metadata"] == {}
    bob = member(running_stack, "p-bob")
    assert (await http.get(f"/volume/v3/p-bob/volumes/{url.rsplit('/', 1)[1]}/metadata",
                           headers=bob)).status_code == 404


async def test_lists_sort_page_by_marker_and_offset_and_link_the_next_page(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    alice = member(running_stack, "p-alice")
    base = volumes_of("p-alice")
    ids = []
    for name, kind in (("b", "work"), ("a", "home"), ("c", "work")):
        r = await http.post(base, headers=alice, json={"volume": {
            "size": 1, "name": name, "metadata": {"Type": kind}}})
        ids.append(r.json()["volume"]["id"])
    for ident in ids:
        await wait_for_volume(http, f"{base}/{ident}", "available", alice)

    by_name = (await http.get(f"{base}/detail", headers=alice, params={"sort": "name:asc"})
               ).json()["volumes"]
    assert [v["name"] for v in by_name] == ["a", "b", "c"]
    by_id = (await http.get(base, headers=alice, params={"sort_key": "id", "sort_dir": "desc"})
             ).json()["volumes"]
    assert [v["id"] for v in by_id] == sorted(ids, reverse=True)
    after = (await http.get(base, headers=alice,
                            params={"sort": "id:asc", "marker": sorted(ids)[0]})).json()
    assert [v["id"] for v in after["volumes"]] == sorted(ids)[1:]
    skipped = (await http.get(base, headers=alice, params={"offset": "2", "limit": "3"})
               ).json()["volumes"]
    assert [v["id"] for v in skipped] == [ids[0]]  # newest first: the first made is last

    page = (await http.get(base, headers=alice, params={"limit": "2"})).json()
    assert [v["id"] for v in page["volumes"]] == [ids[2], ids[1]]
    (link,) = page["volumes_links"]
    rest = (await http.get(base, headers=alice, params=urlparse(link["href"]).query)).json()
    assert [v["id"] for v in rest["volumes"]] == [ids[0]] and "volumes_links" not in rest

    work = (await http.get(f"{base}/detail", headers=alice,
                           params={"metadata": "{'Type': 'work'}"})).json()["volumes"]
    assert sorted(v["name"] for v in work) == ["b", "c"]
    for params, status in (({"sort_key": "colour"}, 400), ({"sort": "id:up"}, 400),
                           ({"marker": "9d6a3f0e-0000-4000-8000-000000000000"}, 404),
                           ({"metadata": "not a dict"}, 400)):
        assert (await http.get(base, headers=alice, params=params)).status_code == status


async def test_a_clone_of_a_missing_volume_is_not_found_and_of_an_existing_one_refused(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    alice = member(running_stack, "p-alice")
    base = volumes_of("p-alice")
    missing = await http.post(base, headers=alice, json={"volume": {
        "size": 1, "source_volid": "9d6a3f0e-0000-4000-8000-000000000000"}})
    assert missing.status_code == 404
    made = (await http.post(base, headers=alice, json={"volume": {"size": 1}})).json()["volume"]
    refused = await http.post(base, headers=alice,
                              json={"volume": {"size": 1, "source_volid": made["id"]}})
    assert refused.status_code == 400 and "cloning" in refused.text
    unrouted = await http.put(f"{base}/", headers=alice, json={}, follow_redirects=True)
    assert unrouted.status_code == 404  # no route: Cinder's 404, not a 405


async def test_a_snapshots_metadata_is_kept_from_its_creation_and_changed_key_by_key(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    alice = member(running_stack, "p-alice")
    base = volumes_of("p-alice")
    volume = (await http.post(base, headers=alice, json={"volume": {"size": 1}})).json()
    await wait_for_volume(http, f"{base}/{volume['volume']['id']}", "available", alice)
    r = await http.post("/volume/v3/p-alice/snapshots", headers=alice, json={"snapshot": {
        "volume_id": volume["volume"]["id"], "metadata": {"key1": "value1"}}})
    assert r.status_code == 202 and r.json()["snapshot"]["metadata"] == {"key1": "value1"}
    meta = f"/volume/v3/p-alice/snapshots/{r.json()['snapshot']['id']}/metadata"
    r = await http.post(meta, headers=alice, json={"metadata": {"key2": "value2"}})
    assert r.json() == {"metadata": {"key1": "value1", "key2": "value2"}}
    r = await http.put(f"{meta}/key1", headers=alice, json={"meta": {"key1": "new"}})
    assert r.json() == {"meta": {"key1": "new"}}
    assert (await http.delete(f"{meta}/key2", headers=alice)).status_code == 200
    assert (await http.get(meta, headers=alice)).json() == {"metadata": {"key1": "new"}}
    assert (await http.get(f"{meta}/key2", headers=alice)).status_code == 404
