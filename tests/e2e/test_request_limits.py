"""Request bodies are bounded before they are parsed: in size (413) and in the
time they take to arrive (408), on the real API over real sockets. An image
upload streams past the body limit, bounded by its own cap."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psycopg
import pytest

from projections.log import head
from runtime.settings import load
from tests.support.stack import RunningStack, stack_running

LIMIT = 4096  # the limited stack's max_request_body_bytes
TIMEOUT = 0.5  # the limited stack's request_body_timeout_seconds
TOO_LARGE = {"overLimit": {"code": 413, "message": "Request is too large."}}


def log_head(stack: RunningStack) -> int:
    with psycopg.connect(stack.database_url) as conn:
        return head(conn)


async def quiet_head(stack: RunningStack) -> int:
    """The log's head once the hosts have registered (their first reports
    write events of their own, which no request under test should be blamed for)."""
    await stack.hosts_once_reported()
    return log_head(stack)


@pytest.fixture
async def limited_stack(database_url: str, nats_url: str, subject_prefix: str,
                        tmp_path: Path) -> AsyncIterator[RunningStack]:
    async with stack_running(database_url, nats_url, subject_prefix, tmp_path,
                             max_request_body_bytes=LIMIT,
                             request_body_timeout_seconds=TIMEOUT) as running:
        yield running


async def raw_exchange(stack: RunningStack, head_lines: list[str], body: bytes) -> bytes:
    """Send a request head and the start of a body, then stop sending; what the
    server answers before it closes the connection (20 s at most)."""
    reader, writer = await asyncio.open_connection(stack.settings.api_host,
                                                   stack.settings.api_port)
    try:
        writer.write(("\r\n".join([*head_lines, "Host: nimbus", "", ""])).encode() + body)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 20)
    finally:
        writer.close()


def test_the_limits_default_to_novas_and_come_from_the_environment() -> None:
    defaults = load(env={})
    assert (defaults.max_request_body_bytes, defaults.request_body_timeout_seconds) == (
        114688, 30.0)
    chosen = load(env={"NIMBUS_MAX_REQUEST_BODY_BYTES": "2048",
                       "NIMBUS_REQUEST_BODY_TIMEOUT_SECONDS": "1.5"})
    assert (chosen.max_request_body_bytes, chosen.request_body_timeout_seconds) == (2048, 1.5)


async def test_a_body_larger_than_the_default_limit_is_refused_413_and_writes_nothing(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    before = await quiet_head(running_stack)
    project = (await http.get("/identity/v3/auth/tokens", headers={
        "X-Subject-Token": http.headers["X-Auth-Token"]})).json()["token"]["project"]["id"]
    big = {"volume": {"size": 1, "name": "v", "description": "d" * 120_000}}
    r = await http.post(f"/volume/v3/{project}/volumes", json=big)
    assert (r.status_code, r.json()) == (413, TOO_LARGE)
    # refused before anything looks at the token, so unauthenticated too
    r = await http.post("/compute/v2.1/servers", content=b"x" * 200_000,
                        headers={"X-Auth-Token": "", "Content-Type": "application/json"})
    assert (r.status_code, r.json()) == (413, TOO_LARGE)
    assert log_head(running_stack) == before


async def test_a_chunked_body_is_counted_as_it_arrives_and_refused_past_the_limit(
        limited_stack: RunningStack) -> None:
    before = await quiet_head(limited_stack)
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"server": {"name": "vm", "imageRef": "x", "flavorRef": "1", "metadata": {'
        for i in range(200):
            sent.append(i)
            yield f'"k{i}": "{"v" * 200}", '.encode()
        yield b'"end": "x"}}}'

    r = await limited_stack.http.post("/compute/v2.1/servers", content=chunks(),
                                      headers={"Content-Type": "application/json"})
    assert (r.status_code, r.json()) == (413, TOO_LARGE)
    assert log_head(limited_stack) == before


async def test_a_body_within_the_limit_is_served(limited_stack: RunningStack) -> None:
    r = await limited_stack.http.post("/compute/v2.1/os-keypairs",
                                      json={"keypair": {"name": "small"}})
    assert r.status_code == 200, r.text


async def test_an_image_upload_streams_past_the_body_limit(
        limited_stack: RunningStack) -> None:
    http = limited_stack.http
    r = await http.post("/image/v2/images", json={
        "name": "big", "disk_format": "raw", "container_format": "bare"})
    assert r.status_code == 201, r.text
    image_id = r.json()["id"]
    data = bytes(range(256)) * 1024  # 256 KiB, 64 times the body limit
    r = await http.put(f"/image/v2/images/{image_id}/file", content=data,
                       headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 204, r.text
    position = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
    image = (await http.get(f"/image/v2/images/{image_id}", headers=position)).json()
    assert (image["status"], image["size"]) == ("active", len(data))


async def test_a_body_that_stops_arriving_is_answered_408_and_the_connection_closed(
        limited_stack: RunningStack) -> None:
    before = await quiet_head(limited_stack)
    # a login reads its body before any token is looked at: anyone can try this
    answer = await raw_exchange(limited_stack, [
        "POST /identity/v3/auth/tokens HTTP/1.1", "Content-Type: application/json",
        "Content-Length: 200"], b'{"auth": {"identity": ')
    status, _, rest = answer.partition(b"\r\n")
    assert status == b"HTTP/1.1 408 Request Timeout", answer
    assert json.loads(rest.partition(b"\r\n\r\n")[2])["requestTimeout"]["code"] == 408
    chunked = await raw_exchange(limited_stack, [
        "POST /identity/v3/auth/tokens HTTP/1.1", "Content-Type: application/json",
        "Transfer-Encoding: chunked"], b"5\r\n{\"au\"\r\n")
    assert chunked.startswith(b"HTTP/1.1 408 "), chunked
    assert log_head(limited_stack) == before


async def test_an_image_upload_that_pauses_too_long_is_answered_408(
        limited_stack: RunningStack) -> None:
    http = limited_stack.http
    r = await http.post("/image/v2/images", json={
        "name": "stalled", "disk_format": "raw", "container_format": "bare"})
    image_id = r.json()["id"]
    answer = await raw_exchange(limited_stack, [
        f"PUT /image/v2/images/{image_id}/file HTTP/1.1",
        "Content-Type: application/octet-stream", "Content-Length: 100000",
        f"X-Auth-Token: {http.headers['X-Auth-Token']}"], b"x" * 10_000)
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    r = await http.get(f"/image/v2/images/{image_id}")
    assert r.status_code == 200 and r.json()["status"] != "active"


async def test_a_stream_that_idles_longer_than_the_body_timeout_goes_on(
        limited_stack: RunningStack) -> None:
    """Only a body is timed: an event stream left idle still delivers what comes later."""
    http = limited_stack.http
    async with http.stream("GET", "/events/stream", params={"follow": "true"}) as stream:
        assert stream.status_code == 200
        lines = stream.aiter_lines()
        assert (await anext(lines)).startswith("id: ")
        await asyncio.sleep(TIMEOUT * 3)  # the point of the test: idle past the timeout
        async with httpx.AsyncClient(base_url=limited_stack.settings.base_url,
                                     headers=http.headers) as other:
            r = await other.post("/compute/v2.1/os-keypairs",
                                 json={"keypair": {"name": "later"}})
            assert r.status_code == 200, r.text

        async def keypair_event() -> None:
            async for line in lines:
                if line.startswith("event: Keypair"):
                    return

        await asyncio.wait_for(keypair_event(), 20)
