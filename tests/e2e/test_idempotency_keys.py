"""Idempotency-Key belongs to the user and stands for one request: the same
request again is a retry, anything else with that key is refused naming it."""

from __future__ import annotations

import asyncio
import contextvars
from datetime import UTC, datetime

import psycopg
import pytest

from api.tokens import TokenSigner
from commands import idempotency as idempotency_keys
from commands.messages import BootInstance, Caller
from domain import idempotency as keys
from domain.errors import InvalidState
from runtime import credentials
from tests.e2e.test_api_end_to_end import BOOT, log_head
from tests.support.cloud import IMAGE, ROOMY, open_cloud
from tests.support.stack import RunningStack

AT = datetime(2026, 12, 1, tzinfo=UTC)
REFUSED = "Idempotency-Key 'k-1' was already used for a different request"


def user_of(stack: RunningStack, user_id: str, project_id: str) -> dict[str, str]:
    signer = TokenSigner(credentials.token_secret(stack.settings), 3600)
    token, _ = signer.issue(user_id=user_id, user_name=user_id, project_id=project_id,
                            project_name=project_id, roles=["member"])
    return {"X-Auth-Token": token}


def boots(stack: RunningStack) -> int:
    with psycopg.connect(stack.database_url) as conn:
        found = conn.execute("SELECT count(*) FROM nimbus_events"
                             " WHERE topic LIKE '%InstanceCreateRequested'").fetchone()
    assert found is not None
    return int(found[0])


def test_a_key_stands_for_the_request_it_was_first_used_for() -> None:
    pause = keys.Use(key="k-1", user_id="u-1", route="POST /servers/s-1/action",
                     body_digest="d-pause")
    first = keys.record(None, pause, AT)
    assert first is not None and first.request_id == pause.request_id
    state = keys.evolve(None, first, str(keys.key_id("u-1", "k-1")))
    assert keys.record(state, pause, AT) is None  # a retry: nothing more to record
    for other in (keys.Use(key="k-1", user_id="u-1", route="POST /servers/s-1/action",
                           body_digest="d-unpause"),
                  keys.Use(key="k-1", user_id="u-1", route="DELETE /servers/s-1",
                           body_digest="d-pause")):
        with pytest.raises(InvalidState, match=REFUSED):
            keys.record(state, other, AT)
    theirs = keys.Use(key="k-1", user_id="u-2", route="POST /servers/s-1/action",
                      body_digest="d-pause")
    assert keys.key_id("u-2", "k-1") != keys.key_id("u-1", "k-1")
    assert theirs.request_id != pause.request_id


async def test_a_key_reused_for_a_different_action_is_refused_naming_it_and_writes_nothing(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    server_id = (await http.post("/compute/v2.1/servers", json=BOOT)).json()["server"]["id"]
    await running_stack.wait_for_status(server_id, "ACTIVE")
    action = f"/compute/v2.1/servers/{server_id}/action"
    key = {"Idempotency-Key": "k-1"}
    r = await http.post(action, json={"pause": None}, headers=key)
    assert r.status_code == 202, r.text
    await running_stack.wait_for_status(server_id, "PAUSED")
    before = log_head(running_stack)

    r = await http.post(action, json={"unpause": None}, headers=key)
    assert (r.status_code, r.json()) == (409, {"conflictingRequest": {
        "code": 409, "message": REFUSED}})
    r = await http.delete(f"/compute/v2.1/servers/{server_id}", headers=key)
    assert (r.status_code, r.json()["conflictingRequest"]["message"]) == (409, REFUSED)
    r = await http.post("/compute/v2.1/servers", json=BOOT, headers=key)
    assert r.status_code == 409, r.text
    assert log_head(running_stack) == before
    assert (await running_stack.wait_for_status(server_id, "PAUSED"))["id"] == server_id

    r = await http.post(action, json={"pause": None}, headers=key)  # the same request again
    assert r.status_code == 202 and "Nimbus-Log-Position" not in r.headers
    assert log_head(running_stack) == before


async def test_another_user_of_the_same_project_with_the_same_key_gets_their_own_server(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    key = {"Idempotency-Key": "k-1"}
    ann = {**user_of(running_stack, "u-ann", "p-shared"), **key}
    bob = {**user_of(running_stack, "u-bob", "p-shared"), **key}
    r_ann = await http.post("/compute/v2.1/servers", json=BOOT, headers=ann)
    r_bob = await http.post("/compute/v2.1/servers", json=BOOT, headers=bob)
    assert r_ann.status_code == r_bob.status_code == 202, (r_ann.text, r_bob.text)
    assert r_ann.json()["server"]["id"] != r_bob.json()["server"]["id"]
    assert "Nimbus-Log-Position" in r_bob.headers  # bob's boot was written, not ann's replayed
    assert boots(running_stack) == 2
    again = await http.post("/compute/v2.1/servers", json=BOOT, headers=bob)
    assert again.json()["server"]["id"] == r_bob.json()["server"]["id"]
    assert boots(running_stack) == 2


async def test_two_racing_first_uses_of_one_key_for_different_boots_write_one(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    key = {"Idempotency-Key": "k-1"}
    bodies = [{"server": {**BOOT["server"], "name": name}} for name in ("vm-a", "vm-b")]
    answers = await asyncio.gather(*(http.post("/compute/v2.1/servers", json=body,
                                               headers=key) for body in bodies))
    assert sorted(r.status_code for r in answers) == [202, 409], [r.text for r in answers]
    assert REFUSED in next(r.text for r in answers if r.status_code == 409)
    assert boots(running_stack) == 1


async def test_identity_writes_scope_their_keys_the_same_way(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    key = {"Idempotency-Key": "k-1"}
    first = await http.post("/identity/v3/projects", json={"project": {"name": "proj-a"}},
                            headers=key)
    assert first.status_code == 201, first.text
    before = log_head(running_stack)
    r = await http.post("/identity/v3/projects", json={"project": {"name": "proj-b"}},
                        headers=key)
    assert (r.status_code, REFUSED in r.text) == (409, True)
    again = await http.post("/identity/v3/projects", json={"project": {"name": "proj-a"}},
                            headers=key)
    assert (again.status_code, again.json()["project"]["id"]) == (
        201, first.json()["project"]["id"])
    assert log_head(running_stack) == before
    names = [p["name"] for p in (await http.get("/identity/v3/projects")).json()["projects"]]
    assert "proj-a" in names and "proj-b" not in names


def test_the_commit_itself_refuses_a_second_request_for_a_key_and_writes_nothing(
        database_url: str) -> None:
    """Without the API's early check (two racing requests both pass it), the
    key's first use, written with the request's events, still lets one through."""
    cloud = open_cloud(database_url, ["h1"], limits=ROOMY)
    try:
        def boot(body_digest: str, name: str) -> str:
            use = keys.Use(key="k-1", user_id="u-1", route="POST /compute/v2.1/servers",
                           body_digest=body_digest)
            idempotency_keys.use_key(use)
            return cloud.instances.boot(BootInstance(
                request_id=use.request_id, caller=Caller(user_id="u-1", project_id="p-1"),
                name=name, flavor_ref="1", image_ref=IMAGE)).instance_id

        made = contextvars.copy_context().run(boot, "d-a", "vm-a")
        with pytest.raises(InvalidState, match=REFUSED):
            contextvars.copy_context().run(boot, "d-b", "vm-b")
        assert contextvars.copy_context().run(boot, "d-a", "vm-a") == made  # a retry
        with psycopg.connect(database_url) as conn:
            topics = [t for (t,) in conn.execute("SELECT topic FROM nimbus_events")]
        assert sum(t.endswith(":InstanceCreateRequested") for t in topics) == 1
        assert sum(t.endswith(":IdempotencyKeyUsed") for t in topics) == 1
    finally:
        cloud.close()
