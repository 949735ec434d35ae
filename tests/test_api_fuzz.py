"""Fuzzing every command route's request body: no 5xx, clean 4xx, nothing written.

The routes come from ``api.app.create_app`` itself, so a route added later is
fuzzed without touching this file. For each route that changes something
(POST/PUT/PATCH/DELETE) hypothesis sends arbitrary JSON values, raw junk,
very deep nesting, and near-valid bodies (a known-good body with one field
replaced by a wrong type, a huge or odd string, a negative number, null or
a nested structure, or removed), with path parameters filled by a real
server id, a random uuid or junk. Every answer must be below 500; every 4xx
must be a JSON error naming a message (Nova ``{"badRequest": {"message"}}``,
Keystone ``{"error": {"message"}}``, or a top-level ``message``); and a
rejected request must leave the event log's head where it was. Failures are
gathered per route and reported together.

The examples run in a worker thread (hypothesis is synchronous) with a
blocking HTTP client, while the stack keeps serving in the test's loop.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import quote

import httpx
import psycopg
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from starlette.routing import Route

from api.app import create_app
from api.context import Context
from migrations.runner import VIEWS_SCHEMA
from projections.log import head
from tests.stack import RunningStack

TOTAL_EXAMPLES = 240
WRITES = ("POST", "PUT", "PATCH", "DELETE")
IMAGE = "cirros-0.6.2-x86_64-disk"

# Known-good bodies by route path, the seeds of near-valid mutations.
VALID: dict[str, list[Any]] = {
    "/compute/v2.1/servers": [
        {"server": {"name": "fz", "imageRef": IMAGE, "flavorRef": "1", "min_count": 1,
                    "max_count": 1, "metadata": {"k": "v"}, "key_name": None}}],
    "/compute/v2.1/servers/{server_id}": [{"server": {"name": "renamed"}}],
    "/compute/v2.1/servers/{server_id}/action": [
        {"pause": None}, {"unpause": None}, {"suspend": None}, {"resume": None},
        {"os-stop": None}, {"os-start": None}, {"lock": None}, {"unlock": None},
        {"reboot": {"type": "SOFT"}}, {"os-getConsoleOutput": {"length": 10}},
        {"forceDelete": None}],
    "/compute/v2.1/servers/{server_id}/metadata": [{"metadata": {"a": "b"}}],
    "/compute/v2.1/flavors": [
        {"flavor": {"name": "fz", "ram": 64, "vcpus": 1, "disk": 1, "id": "fz",
                    "os-flavor-access:is_public": False}}],
    "/compute/v2.1/flavors/{flavor_id}/action": [
        {"addTenantAccess": {"tenant": "admin"}}, {"removeTenantAccess": {"tenant": "x"}}],
    "/compute/v2.1/os-keypairs": [
        {"keypair": {"name": "fz"}},
        {"keypair": {"name": "fz2", "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"}}],
    "/compute/v2.1/os-quota-sets/{project_id}": [
        {"quota_set": {"instances": 5, "cores": 10, "ram": 2048}}],
    "/compute/v2.1/os-services/{service_id}": [{"status": "disabled",
                                                "disabled_reason": "fuzz"}],
    "/compute/v2.1/os-services/disable": [{"host": "compute1", "binary": "nova-compute"}],
    "/compute/v2.1/os-services/enable": [{"host": "compute1", "binary": "nova-compute"}],
    "/compute/v2.1/os-services/disable-log-reason": [
        {"host": "compute2", "binary": "nova-compute", "disabled_reason": "fuzz"}],
    "/compute/v2.1/servers/{server_id}/metadata/{key}": [{"meta": {"k": "v"}}],
    "/image/v2/images": [
        {"name": "fz", "disk_format": "qcow2", "container_format": "bare",
         "visibility": "private"}],
    "/image/v2/images/{image_id}": [[{"op": "replace", "path": "/name", "value": "x"}]],
    "/identity/v3/auth/tokens": [
        {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": "admin", "domain": {"name": "Default"}, "password": "nope"}}},
            "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}],
    "/identity/v3/users": [{"user": {"name": "fz", "password": "pw", "enabled": True}}],
    "/identity/v3/users/{user_id}": [{"user": {"enabled": False, "password": "pw2"}}],
    "/identity/v3/projects": [{"project": {"name": "fz", "domain_id": "default"}}],
}

JUNK_TEXT = ["", " ", "\u0000", "名前", "💥" * 300, "\ud800", "' OR 1=1 --",
             "../../etc/passwd", "%s%n", "<script>", "x" * 70_000]


def command_routes() -> list[tuple[str, str]]:
    """(method, path template) of every write route the API serves."""
    app = create_app(cast(Context, SimpleNamespace()))
    found = {(method, route.path) for route in app.routes if isinstance(route, Route)
             for method in (route.methods or ()) if method in WRITES}
    # Deletes last, so the real server lives through the other routes' examples.
    return sorted(found, key=lambda mr: (mr[0] == "DELETE", mr[1], mr[0]))


def nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


bad_values = st.one_of(
    st.none(), st.booleans(), st.just(-1), st.integers(min_value=-2**70, max_value=2**70),
    st.floats(), st.sampled_from(JUNK_TEXT), st.text(max_size=30),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(),
                                                         max_size=3),
    st.integers(min_value=2, max_value=400).map(nested),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=12,
)
DROP = object()


def leaf_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            paths += leaf_paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            paths += leaf_paths(inner, (*prefix, i))
    return paths


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy: Any = dict(value) if isinstance(value, dict) else list(value)
    if len(path) == 1 and new is DROP:
        del copy[path[0]]
    else:
        copy[path[0]] = replaced(copy[path[0]], path[1:], new)
    return copy


@st.composite
def near_valid(draw: st.DrawFn, seeds: list[Any]) -> bytes:
    seed = draw(st.sampled_from(seeds))
    path = draw(st.sampled_from(leaf_paths(seed) or [()]))
    new = draw(st.just(DROP) | bad_values) if path else draw(bad_values)
    return json.dumps(replaced(seed, path, new)).encode()


def bodies(template: str) -> st.SearchStrategy[bytes]:
    raw = st.one_of(
        json_values.map(lambda v: json.dumps(v).encode()),
        st.binary(max_size=64),
        st.integers(min_value=1000, max_value=100_000).map(lambda n: b"[" * n + b"]" * n),
        st.integers(min_value=1000, max_value=100_000).map(
            lambda n: b'{"a":' * n + b"1" + b"}" * n),
    )
    seeds = VALID.get(template)
    return st.one_of(near_valid(seeds), near_valid(seeds), raw) if seeds else raw


def path_values(name: str, server_id: str) -> st.SearchStrategy[str]:
    known = [str(uuid.uuid4()), "1", "admin", "compute1"]
    if name == "server_id":
        known = [server_id, server_id, *known]
    return st.sampled_from(known) | st.text(max_size=40)


def error_message(body: Any) -> str | None:
    """The message of an OpenStack-style JSON error body, if it is one."""
    if not isinstance(body, dict):
        return None
    if isinstance(body.get("message"), str):
        return str(body["message"])
    for inner in body.values():
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
    return None


class Fuzzer:
    """Sends one example and checks the three properties (runs in a thread)."""

    def __init__(self, stack: RunningStack, token: str) -> None:
        self.http = httpx.Client(base_url=stack.settings.base_url, timeout=30,
                                 headers={"X-Auth-Token": token})
        self.db = psycopg.connect(stack.database_url, autocommit=True)

    def close(self) -> None:
        self.http.close()
        self.db.close()

    def head(self) -> int:
        return head(self.db)

    def pending(self) -> int:
        """Operations accepted and not yet answered by their hosts (per the views)."""
        row = self.db.execute(
            f"SELECT (SELECT count(*) FROM {VIEWS_SCHEMA}.instances WHERE pending IS NOT NULL)"
            f" + (SELECT count(*) FROM {VIEWS_SCHEMA}.volumes WHERE pending IS NOT NULL)"
        ).fetchone()
        return int(row[0]) if row else 0

    def settle(self) -> None:
        """Wait until accepted work is done (every host has answered and the log
        has been quiet for a moment), max 10 s."""
        deadline = time.monotonic() + 10
        last, quiet_since = self.head(), time.monotonic()
        while time.monotonic() < deadline and (
                self.pending() or time.monotonic() - quiet_since < 0.4):
            time.sleep(0.05)
            now = self.head()
            if now != last:
                last, quiet_since = now, time.monotonic()

    def check(self, method: str, path: str, body: bytes) -> None:
        before = self.head()
        r = self.http.request(method, path, content=body,
                              headers={"Content-Type": "application/json"})
        shown = f"{method} {path} {body[:300]!r}... -> {r.status_code} {r.text[:300]}"
        assert r.status_code < 500, shown
        if r.status_code < 400:
            self.settle()
            return
        try:
            message = error_message(r.json())
        except ValueError:
            message = None
        assert message, f"4xx without a JSON error message: {shown}"
        assert self.head() == before, f"a rejected request wrote events: {shown}"


def fuzz_route(fuzzer: Fuzzer, method: str, template: str, server_id: str,
               examples: int) -> None:
    names = re.findall(r"{(\w+)(?::\w+)?}", template)

    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              phases=(Phase.explicit, Phase.generate),
              suppress_health_check=list(HealthCheck))
    @given(params=st.fixed_dictionaries({n: path_values(n, server_id) for n in names}),
           body=bodies(template))
    def run(params: dict[str, str], body: bytes) -> None:
        path = re.sub(r"{(\w+)(?::\w+)?}", lambda m: quote(params[m.group(1)], safe=""),
                      template)
        fuzzer.check(method, path, body)

    run()


async def test_no_request_body_causes_a_5xx_a_bare_4xx_or_a_write_when_rejected(
        running_stack: RunningStack) -> None:
    r = await running_stack.http.post("/compute/v2.1/servers", json={
        "server": {"name": "fuzz-target", "imageRef": IMAGE, "flavorRef": "1"}})
    assert r.status_code == 202, r.text
    server_id = r.json()["server"]["id"]
    await running_stack.wait_for_status(server_id, "ACTIVE")
    routes = command_routes()
    assert ("POST", "/compute/v2.1/servers") in routes
    per_route = max(6, TOTAL_EXAMPLES // len(routes))
    token = running_stack.http.headers["X-Auth-Token"]

    def fuzz_all() -> list[str]:
        fuzzer = Fuzzer(running_stack, token)
        failures = []
        try:
            for method, template in routes:
                try:
                    fuzz_route(fuzzer, method, template, server_id, per_route)
                except Exception as exc:  # gathered, so one run reports every route
                    failures.append(f"{method} {template}: {str(exc)[:1500]}")
        finally:
            fuzzer.close()
        return failures

    failures = await asyncio.to_thread(fuzz_all)
    assert not failures, f"{len(failures)} of {len(routes)} routes failed:\n" + "\n\n".join(
        failures)
