"""Fuzzing every route's path, query string and body: no 5xx, no hang, clean 4xx,
nothing written when refused.

The routes come from ``api.app.create_app`` itself, so a route added later is
fuzzed without touching this file: every query route (GET) and every route
that changes something (POST/PUT/PATCH/DELETE). Path parameters are filled
with a real id, a random uuid, or junk (NUL, control characters, other
scripts, very long text); query strings with the parameters the routes read
(``limit``, ``marker``, ``name``, ``after``, ...) and random ones, holding
junk numbers ("²", 2**70, -1), NUL and the like; some requests carry a junk
``Nimbus-Log-Position``. Write routes also get arbitrary JSON values, raw
junk, very deep nesting, and near-valid bodies (a known-good body with one
field replaced by a wrong type, a huge or odd string, a negative number,
null or a nested structure, or removed). Every answer must come within the
client's timeout and below 500; every 4xx must be a JSON error naming a
message (Nova ``{"badRequest": {"message"}}``, Keystone ``{"error":
{"message"}}``, or a top-level ``message``); and a rejected request must
leave the event log's head where it was. Failures are gathered per route
and reported together.

The examples run in a worker thread (hypothesis is synchronous) with a
blocking HTTP client, while the stack keeps serving in the test's loop.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import quote

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from starlette.routing import Route

from api.app import create_app
from api.context import Context
from migrations.runner import VIEWS_SCHEMA
from projections.log import EVENTS_TABLE, head
from projections.projector import NAME as TRACKING
from tests.support.stack import RunningStack, stack_running

TOTAL_EXAMPLES = 600
MIN_PER_ROUTE = 4
WRITES = ("POST", "PUT", "PATCH", "DELETE")
METHODS = ("GET", *WRITES)  # HEAD is GET's handler without a body to check
IMAGE = "cirros-0.6.2-x86_64-disk"
CIRROS = "2a9b8f3e-1c4d-4e5f-8a6b-7c8d9e0f1a2b"
# The fuzzed stack lets a query wait longer for the views than the client waits
# for an answer, so a query that waits its whole wait (a log position from
# nowhere, views stopped by an event they cannot hold) shows up as a hang.
REQUEST_TIMEOUT = 10  # s
QUERY_WAIT_SECONDS = 30

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
    "/volume/v3/{project_id}/volumes": [
        {"volume": {"size": 1, "name": "fz", "description": "d", "metadata": {"k": "v"}}}],
    "/volume/v3/{project_id}/volumes/{ident}": [{"volume": {"name": "r", "description": "d"}}],
    "/volume/v3/{project_id}/snapshots": [
        {"snapshot": {"volume_id": str(uuid.uuid4()), "name": "s", "description": "d"}}],
    "/volume/v3/{project_id}/backups": [
        {"backup": {"volume_id": str(uuid.uuid4()), "name": "b", "description": "d"}}],
    "/volume/v3/{project_id}/backups/{ident}/restore": [{"restore": {"name": "r"}}],
    "/volume/v3/{tenant_id}/os-quota-sets/{project_id}": [
        {"quota_set": {"volumes": 5, "gigabytes": 100}}],
    "/compute/v2.1/servers/{server_id}/os-volume_attachments": [
        {"volumeAttachment": {"volumeId": str(uuid.uuid4()), "device": "/dev/vdb"}}],
}

JUNK_TEXT = ["", " ", "\u0000", "名前", "💥" * 300, "\ud800", "' OR 1=1 --",
             "../../etc/passwd", "%s%n", "<script>", "x" * 70_000]
JUNK_PARAMS = ["", " ", "\x00", "a\x00b", "\n", "²", "٣", "-1", "0", "1", "2147483648",
               str(2**70), "9" * 40, "1e3", "0x10", "1_0", "true", "none", "all", "in:a,b",
               "1970-01-01T00:00:00Z", "名前", "💥" * 50, "x" * 3000, "%", "%00", "[", "(",
               "*", "\\", "../..", str(uuid.uuid4())]
QUERY_KEYS = ["limit", "marker", "name", "status", "all_tenants", "changes-since", "host",
              "flavor", "image", "is_public", "visibility", "id", "os_hidden", "after",
              "follow", "binary", "tenant_id", "user.id", "scope.project.id", "volume_id"]


def fuzzed_routes() -> list[tuple[str, str]]:
    """(method, path template) of every query and write route the API serves."""
    app = create_app(cast(Context, SimpleNamespace(max_request_body_bytes=114688,
                                                   request_body_timeout_seconds=30.0)))
    found = {(method, route.path) for route in app.routes if isinstance(route, Route)
             for method in (route.methods or ()) if method in METHODS}
    # Queries first, deletes last, so the real server lives through the others' examples.
    order = {"GET": 0, "DELETE": 2}
    return sorted(found, key=lambda mr: (order.get(mr[0], 1), mr[1], mr[0]))


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


def every_string(value: Any, new: str) -> Any:
    """``value`` with each string in it (not the keys) replaced by ``new``."""
    if isinstance(value, str):
        return new
    if isinstance(value, dict):
        return {k: every_string(v, new) for k, v in value.items()}
    if isinstance(value, list):
        return [every_string(v, new) for v in value]
    return value


def explicit(method: str, template: str, names: list[str], real: dict[str, str]
             ) -> list[dict[str, Any]]:
    """Examples every route gets before the generated ones: NUL in the path,
    odd numbers and NUL in the query, a log position from nowhere, and (for a
    write) its known-good bodies with every string a NUL or a newline."""
    params = {n: real.get(n, "1") for n in names}
    seeds = VALID.get(template, [{}]) if method in WRITES else []
    body = json.dumps(seeds[0]).encode() if seeds else None
    numbers = [("limit", "²"), ("after", "٣"), ("marker", "²")]
    nul = [(k, "a\x00") for k in ("name", "status", "marker", "host", "id", "image")]
    found: list[dict[str, Any]] = [
        {"params": {n: "a\x00b" for n in names}, "query": [], "body": body, "position": None},
        {"params": params, "query": numbers, "body": body, "position": None},
        {"params": params, "query": nul, "body": body, "position": None},
        {"params": params, "query": [], "body": body, "position": str(2**70)},
    ]
    for seed in seeds:
        for junk in ("n\x00", "two\nlines"):
            found.append({"params": params, "query": [], "position": None,
                          "body": json.dumps(every_string(seed, junk)).encode()})
    return found


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


def path_values(name: str, real: dict[str, str]) -> st.SearchStrategy[str]:
    """A real id for the parameter when there is one, a plausible one, or junk."""
    known = [str(uuid.uuid4()), "1", "admin", "compute1"]
    if name in real:
        known = [real[name], real[name], *known]
    junk = st.sampled_from(["\x00", "a\x00b", "x\n", "²", "..", "%", "x" * 300, "💥",
                            "' OR 1=1 --"])
    return st.sampled_from(known) | junk | st.text(max_size=40)


query_strings = st.lists(
    st.tuples(st.sampled_from(QUERY_KEYS) | st.text(max_size=8),
              st.sampled_from(JUNK_PARAMS) | st.text(max_size=20)),
    max_size=4)
positions = st.none() | st.sampled_from(["²", "-1", str(2**70), str(2**63), "x", "1", "0"])


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
        self.http = httpx.Client(base_url=stack.settings.base_url, timeout=REQUEST_TIMEOUT,
                                 headers={"X-Auth-Token": token})
        self.db = psycopg.connect(stack.database_url, autocommit=True)

    def close(self) -> None:
        self.http.close()
        self.db.close()

    def head(self) -> int:
        return head(self.db)

    def settled(self) -> bool:
        """Every accepted operation has been answered by its host, and the views
        include the whole log: nothing more will be written (one snapshot of the
        database, so the views, the head and the pending counts agree)."""
        pending = " + ".join(
            f"(SELECT count(*) FROM {VIEWS_SCHEMA}.{table} WHERE pending IS NOT NULL)"
            for table in ("instances", "volumes", "snapshots", "backups"))
        row = self.db.execute(
            f"SELECT (SELECT position FROM {VIEWS_SCHEMA}.tracking WHERE projection = %s),"
            f" (SELECT COALESCE(MAX(notification_id), 0) FROM {EVENTS_TABLE}), {pending}",
            (TRACKING,)).fetchone()
        assert row is not None
        projected, logged, unanswered = row
        return bool(projected == logged and unanswered == 0)

    def settle(self) -> None:
        """Wait until accepted work is done, max 10 s."""
        deadline = time.monotonic() + 10
        while not self.settled() and time.monotonic() < deadline:
            time.sleep(0.02)

    def check(self, method: str, path: str, query: list[tuple[str, str]], body: bytes | None,
              position: str | None) -> None:
        before = self.head()
        headers = {b"Content-Type": b"application/json"}
        if position is not None:
            headers[b"Nimbus-Log-Position"] = position.encode()
        asked = f"{method} {path} ?{query!r:.300} {(body or b'')[:300]!r}..."
        try:
            # streamed: an event stream or an image download is not read through
            with self.http.stream(method, path, params=tuple(query), content=body,
                                  headers=headers) as r:
                text = "" if r.status_code < 400 else r.read().decode(errors="replace")
        except httpx.TimeoutException as exc:
            raise AssertionError(f"no answer within {REQUEST_TIMEOUT} s: {asked}") from exc
        shown = f"{asked} -> {r.status_code} {text[:300]}"
        assert r.status_code < 500, shown
        if r.status_code < 400:
            if method != "GET":
                self.settle()
            return
        try:
            message = error_message(json.loads(text))
        except ValueError:
            message = None
        assert message, f"4xx without a JSON error message: {shown}"
        assert self.head() == before, f"a rejected request wrote events: {shown}"


def fuzz_route(fuzzer: Fuzzer, method: str, template: str, real: dict[str, str],
               examples: int) -> None:
    names = re.findall(r"{(\w+)(?::\w+)?}", template)
    body = bodies(template) if method in WRITES else st.none()

    def send(params: dict[str, str], query: list[tuple[str, str]], body: bytes | None,
             position: str | None) -> None:
        path = re.sub(r"{(\w+)(?::\w+)?}", lambda m: quote(params[m.group(1)], safe=""),
                      template)
        fuzzer.check(method, path, query, body, position)

    for case in explicit(method, template, names, real):
        send = example(**case)(send)
    run = settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                   phases=(Phase.explicit, Phase.generate),
                   suppress_health_check=list(HealthCheck))(
        given(params=st.fixed_dictionaries({n: path_values(n, real) for n in names}),
              query=query_strings, body=body, position=positions)(send))
    run()


async def real_ids(stack: RunningStack) -> dict[str, str]:
    """Ids that exist, by path parameter name: a server, a volume, the admin's project."""
    http = stack.http
    token = (await http.get("/identity/v3/auth/tokens", headers={
        "X-Subject-Token": http.headers["X-Auth-Token"]})).json()["token"]
    project = token["project"]["id"]
    r = await http.post("/compute/v2.1/servers", json={
        "server": {"name": "fuzz-target", "imageRef": IMAGE, "flavorRef": "1"}})
    assert r.status_code == 202, r.text
    server_id = r.json()["server"]["id"]
    r = await http.post(f"/volume/v3/{project}/volumes", json={"volume": {"size": 1}})
    assert r.status_code == 202, r.text
    await stack.wait_for_status(server_id, "ACTIVE")
    await stack.hosts_once_reported()
    return {"server_id": server_id, "project_id": project, "tenant_id": project,
            "ident": r.json()["volume"]["id"], "volume_id": r.json()["volume"]["id"],
            "image_id": CIRROS, "flavor_id": "1", "host_name": "compute1",
            "hypervisor_id": "1", "user_id": token["user"]["id"], "role_id": "member"}


@pytest.fixture
async def fuzzed_stack(database_url: str, nats_url: str, subject_prefix: str,
                       tmp_path: Path) -> AsyncIterator[RunningStack]:
    async with stack_running(database_url, nats_url, subject_prefix, tmp_path,
                             query_wait_seconds=QUERY_WAIT_SECONDS) as running:
        yield running


async def test_no_request_causes_a_5xx_a_hang_a_bare_4xx_or_a_write_when_rejected(
        fuzzed_stack: RunningStack) -> None:
    running_stack = fuzzed_stack
    real = await real_ids(running_stack)
    routes = fuzzed_routes()
    assert ("POST", "/compute/v2.1/servers") in routes
    assert ("GET", "/compute/v2.1/servers/detail") in routes
    per_route = max(MIN_PER_ROUTE, TOTAL_EXAMPLES // len(routes))
    token = running_stack.http.headers["X-Auth-Token"]

    def fuzz_all() -> list[str]:
        fuzzer = Fuzzer(running_stack, token)
        fuzzer.settle()  # the volume's creation is answered before the first example
        failures = []
        try:
            for method, template in routes:
                try:
                    fuzz_route(fuzzer, method, template, real, per_route)
                except Exception as exc:  # gathered, so one run reports every route
                    failures.append(f"{method} {template}: {str(exc)[:1500]}")
        finally:
            fuzzer.close()
        return failures

    failures = await asyncio.to_thread(fuzz_all)
    assert not failures, f"{len(failures)} of {len(routes)} routes failed:\n" + "\n\n".join(
        failures)
