"""Server tags (compute 2.26) over HTTP, on the whole stack: a client tags a
server, finds it by its tags, and sees the tags in its body; bad tags are
refused in Nova's words with nothing written, and below 2.26 the paths do
not exist."""

from __future__ import annotations

from tests.e2e.test_flavors_api import member_token
from tests.e2e.test_microversions import S, at, boot, log_head, shown
from tests.support.shared import SHARED
from tests.support.stack import RunningStack

V = at("2.26")


@SHARED
async def test_a_server_is_tagged_shown_with_its_tags_and_found_by_them(
        module_stack: RunningStack) -> None:
    http = module_stack.http
    web, db = await boot(module_stack, "tag-web"), await boot(module_stack, "tag-db")
    tags = f"{S}/{web}/tags"

    r = await http.put(tags, headers=V, json={"tags": ["prod", "web", "prod"]})
    assert (r.status_code, r.json()) == (200, {"tags": ["prod", "web"]})
    r = await http.put(f"{tags}/frontend", headers=V)
    assert r.status_code == 201 and r.headers["location"].endswith(f"/{web}/tags/frontend")
    assert (await http.put(f"{tags}/frontend", headers=V)).status_code == 204  # had it
    r = await http.put(f"{S}/{db}/tags", headers=V, json={"tags": ["prod"]})
    assert r.status_code == 200
    position = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}

    listed = await http.get(tags, headers={**V, **position})
    assert listed.json() == {"tags": ["prod", "web", "frontend"]}
    assert (await http.get(f"{tags}/web", headers=V)).status_code == 204
    missing = await http.get(f"{tags}/db", headers=V)
    assert missing.status_code == 404 and "has no tag 'db'" in missing.text
    assert (await shown(http, web, "2.26"))["tags"] == ["prod", "web", "frontend"]
    assert "tags" not in await shown(http, web, "2.25")

    async def found(query: str) -> set[str]:
        r = await http.get(f"{S}?{query}", headers={**V, **position})
        assert r.status_code == 200, r.text
        return {s["id"] for s in r.json()["servers"]} & {web, db}

    assert await found("tags=prod") == {web, db}
    assert await found("tags=prod,web") == {web}
    assert await found("tags-any=web,nothing") == {web}
    assert await found("not-tags=prod,web") == {db}
    assert await found("not-tags-any=web") == {db}

    assert (await http.delete(f"{tags}/web", headers=V)).status_code == 204
    assert (await http.delete(f"{tags}/web", headers=V)).status_code == 404
    cleared = await http.delete(tags, headers=V)
    assert cleared.status_code == 204
    position = {"Nimbus-Log-Position": cleared.headers["Nimbus-Log-Position"]}
    assert (await http.get(tags, headers={**V, **position})).json() == {"tags": []}


@SHARED
async def test_bad_tags_are_refused_and_nothing_is_written(module_stack: RunningStack) -> None:
    http = module_stack.http
    server_id = await boot(module_stack, "tag-bad")
    tags = f"{S}/{server_id}/tags"
    before = log_head(module_stack)
    for body in ({"tags": ["a,b"]}, {"tags": ["x" * 61]}, {"tags": [""]},
                 {"tags": [f"t{n}" for n in range(51)]}, {"tags": "prod"}, {}):
        r = await http.put(tags, headers=V, json=body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["badRequest"]["message"]
    assert log_head(module_stack) == before


@SHARED
async def test_below_2_26_tags_do_not_exist_and_another_project_cannot_see_them(
        module_stack: RunningStack) -> None:
    http = module_stack.http
    server_id = await boot(module_stack, "tag-old")
    tags = f"{S}/{server_id}/tags"
    assert (await http.get(tags, headers=at("2.25"))).status_code == 404
    assert (await http.put(tags, headers=at("2.25"), json={"tags": ["a"]})).status_code == 404
    stranger = member_token(module_stack, "tag-stranger")
    r = await http.put(tags, headers={**V, **stranger}, json={"tags": ["mine"]})
    assert r.status_code == 404
    assert (await http.get(tags, headers=V)).json() == {"tags": []}
