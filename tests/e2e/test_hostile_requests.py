"""What any member can send beyond a body: odd query numbers, NUL in a path or a
query, another user's token, a log position from nowhere. Each is a clean 4xx
in the service's words, never a 500 and never a wait.

The tests share one stack (tests/support/shared.py): each only reads or is
refused, and the one that counts the log's writes compares the head before
and after its own requests."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.test_flavors_api import member_token
from tests.e2e.test_request_limits import log_head
from tests.support.shared import SHARED
from tests.support.stack import RunningStack

C = "/compute/v2.1"
T = "/identity/v3/auth/tokens"

pytestmark = SHARED


def message(r: httpx.Response) -> str:
    body: dict[str, Any] = r.json()
    inner = next(v for v in body.values() if isinstance(v, dict))
    return str(inner["message"])


@pytest.mark.parametrize("number", ["²", "٣", "-1", " 5", "1_0", "5" * 30, "0x10"])
async def test_a_limit_that_is_not_ascii_digits_is_refused_on_every_service(
        module_stack: RunningStack, number: str) -> None:
    http = module_stack.http
    project = "admin-project-of-the-stack"
    for path in (f"{C}/servers", f"{C}/servers/detail", f"{C}/flavors", f"{C}/flavors/detail",
                 "/image/v2/images", f"/volume/v3/{project}/volumes",
                 f"/volume/v3/{project}/snapshots/detail", f"/volume/v3/{project}/backups"):
        r = await http.get(path, params={"limit": number})
        assert r.status_code == 400, (path, r.text)
        assert "query parameter limit" in message(r), (path, r.text)


async def test_the_event_stream_refuses_positions_that_are_not_ascii_digits(
        module_stack: RunningStack) -> None:
    http = module_stack.http
    for params, headers in (({"after": "²", "follow": "false"}, {}),
                            ({"after": str(2**70), "follow": "false"}, {}),
                            ({"follow": "false"}, {b"Last-Event-ID": "٣".encode()})):
        r = await http.get("/events/stream", params=params, headers=headers)
        assert r.status_code == 400, r.text
        assert "whole number" in message(r)


@pytest.mark.parametrize("path", [
    f"{C}/os-keypairs/a%00b", f"{C}/os-hosts/compute1%00", f"{C}/flavors/1%00",
    f"{C}/flavors/1%00/os-flavor-access", "/image/v2/images/a%00b", f"{C}/servers/a%00b",
    f"{C}/os-hypervisors/a%00b", "/identity/v3/users/a%00b", "/identity/v3/projects/a%00b",
    f"{C}/os-quota-sets/a%00b", "/volume/v3/a%00b/volumes"])
async def test_a_nul_in_a_path_is_not_found(module_stack: RunningStack, path: str) -> None:
    r = await module_stack.http.get(path)
    assert r.status_code == 404, r.text
    assert message(r) == "The resource could not be found."


async def test_a_nul_in_a_path_of_a_command_is_not_found_and_writes_nothing(
        module_stack: RunningStack) -> None:
    await module_stack.hosts_once_reported()
    before = log_head(module_stack)
    for method, path in (("DELETE", f"{C}/os-keypairs/a%00b"),
                         ("DELETE", f"{C}/flavors/f%00"),
                         ("PUT", f"{C}/os-quota-sets/p%00"),
                         ("DELETE", "/identity/v3/projects/p%00")):
        r = await module_stack.http.request(method, path, json={"quota_set": {"cores": 1}})
        assert r.status_code == 404, (path, r.text)
    assert log_head(module_stack) == before


async def test_a_nul_in_a_query_string_is_refused(module_stack: RunningStack) -> None:
    http = module_stack.http
    for path, params in ((f"{C}/servers", {"name": "a\x00"}),
                         (f"{C}/servers/detail", {"status": "\x00"}),
                         ("/image/v2/images", {"name": "x\x00y"}),
                         ("/identity/v3/users", {"name": "\x00"}),
                         (f"{C}/flavors", {"marker": "\x00"})):
        r = await http.get(path, params=params)
        assert r.status_code == 400, (path, r.text)
        assert "NUL" in message(r)


async def test_only_admins_and_the_holder_may_validate_a_token(
        module_stack: RunningStack) -> None:
    http = module_stack.http
    alice, bob = member_token(module_stack, "proj-a"), member_token(module_stack, "proj-b")
    bobs = {"X-Subject-Token": bob["X-Auth-Token"]}
    for method in ("GET", "HEAD"):
        r = await http.request(method, T, headers={**alice, **bobs})
        assert r.status_code == 403, r.text
    r = await http.get(T, headers={**alice, **bobs})
    assert r.json() == {"error": {"code": 403, "title": "Forbidden", "message": (
        "You are not authorized to perform the requested action: identity:validate_token.")}}
    mine = await http.get(T, headers={**bob, **bobs})
    assert mine.status_code == 200 and mine.json()["token"]["project"]["id"] == "proj-b"
    admins = await http.get(T, headers=bobs)
    assert admins.status_code == 200 and admins.json()["token"]["user"]["id"] == "user-proj-b"


@pytest.mark.parametrize("position", [str(2**70), str(2**62), "-1", "²", "+5", "1e3"])
async def test_a_log_position_no_command_answered_is_refused_naming_the_header(
        module_stack: RunningStack, position: str) -> None:
    r = await module_stack.http.get(f"{C}/servers",
                                     headers={b"Nimbus-Log-Position": position.encode()})
    assert r.status_code == 400, r.text
    assert "Nimbus-Log-Position" in message(r)


async def test_a_log_position_a_command_answered_is_waited_for(
        module_stack: RunningStack) -> None:
    http = module_stack.http
    r = await http.post(f"{C}/os-keypairs", json={"keypair": {"name": "mine"}})
    assert r.status_code == 200, r.text
    position = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
    r = await http.get(f"{C}/os-keypairs/mine", headers=position)
    assert r.status_code == 200, r.text
