"""The metadata service answers a booted guest about itself, in OpenStack's
and EC2's layouts, from the views: its name, metadata, user data and the
public key of its keypair; a request it cannot tie to an instance is refused."""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from psycopg_pool import AsyncConnectionPool

from api.metadata.service import MetadataContext, create_metadata_app
from domain.metadata import signature
from runtime import credentials
from runtime.settings import load
from runtime.stack import PARTS, StackFailed, serve
from tests.support.cloud import IMAGE
from tests.support.polling import eventually
from tests.support.stack import RunningStack, stack_running

PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMc9apYODuCMDlNQ8vfLiNA7jq0vRbsbwfC/QJiqoK7k"
SECRET = "s3cret"


@pytest.fixture
async def metadata(running_stack: RunningStack) -> AsyncIterator[httpx.AsyncClient]:
    pool: AsyncConnectionPool = AsyncConnectionPool(running_stack.database_url, min_size=1,
                                                    max_size=2, open=False)
    await pool.open()
    app = create_metadata_app(MetadataContext(views=pool, shared_secret=SECRET))
    transport = httpx.ASGITransport(app=app, client=("10.0.0.2", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://169.254.169.254") as c:
        yield c
    await pool.close()


async def test_a_guest_reads_its_own_metadata_user_data_and_key(
        running_stack: RunningStack, metadata: httpx.AsyncClient) -> None:
    http = running_stack.http
    made = await http.post("/compute/v2.1/os-keypairs",
                           json={"keypair": {"name": "mine", "public_key": PUBLIC_KEY}})
    assert made.status_code == 200, made.text
    booted = await http.post("/compute/v2.1/servers", json={"server": {
        "name": "Web 1", "flavorRef": "1", "imageRef": IMAGE,
        "key_name": "mine", "metadata": {"role": "web"},
        "user_data": base64.b64encode(b"#cloud-config\n").decode()}})
    assert booted.status_code == 202, booted.text
    server = booted.json()["server"]["id"]
    await running_stack.wait_for_status(server, "ACTIVE")
    signed = {"X-Instance-ID": server, "X-Instance-ID-Signature": signature(SECRET, server)}

    document = (await metadata.get("/openstack/latest/meta_data.json", headers=signed)).json()
    assert (document["uuid"], document["name"], document["hostname"], document["meta"]) == (
        server, "Web 1", "web-1.novalocal", {"role": "web"})
    assert document["public_keys"] == {"mine": PUBLIC_KEY}
    user_data = await metadata.get("/openstack/2013-04-04/user_data", headers=signed)
    assert user_data.content == b"#cloud-config\n"
    listing = await metadata.get("/latest/meta-data/", headers=signed)
    assert "instance-id" in listing.text.splitlines()
    assert "public-keys/" in listing.text.splitlines()
    key = await metadata.get("/latest/meta-data/public-keys/0/openssh-key", headers=signed)
    assert key.text == PUBLIC_KEY
    assert (await metadata.get("/2009-04-04/meta-data/placement/availability-zone",
                               headers=signed)).text == "nova"
    assert (await metadata.get("/latest/user-data", headers=signed)).content == \
        b"#cloud-config\n"


async def test_a_request_it_cannot_tie_to_an_instance_is_refused(
        metadata: httpx.AsyncClient) -> None:
    forged = {"X-Instance-ID": "00000000-0000-0000-0000-000000000001",
              "X-Instance-ID-Signature": "00" * 32}
    refused = await metadata.get("/openstack/latest/meta_data.json", headers=forged)
    assert refused.status_code == 403 and "signature" in refused.text
    unknown = "00000000-0000-0000-0000-000000000002"
    missing = await metadata.get("/openstack/latest/meta_data.json", headers={
        "X-Instance-ID": unknown, "X-Instance-ID-Signature": signature(SECRET, unknown)})
    assert missing.status_code == 404
    anonymous = await metadata.get("/openstack/latest/meta_data.json")
    assert anonymous.status_code == 404
    assert (await metadata.get("/2001-01-01/meta-data/", headers=forged)).status_code == 404


@pytest.fixture
async def with_metadata(database_url: str, nats_url: str, subject_prefix: str,
                        tmp_path: Path) -> AsyncIterator[RunningStack]:
    """The whole stack, the metadata service included."""
    async with stack_running(database_url, nats_url, subject_prefix, tmp_path,
                             parts=PARTS) as running:
        yield running


async def test_the_stack_serves_it_on_the_metadata_port_with_its_own_secret(
        with_metadata: RunningStack) -> None:
    running_stack = with_metadata
    settings = running_stack.settings
    booted = await running_stack.http.post("/compute/v2.1/servers", json={"server": {
        "name": "vm", "flavorRef": "1", "imageRef": IMAGE}})
    server = booted.json()["server"]["id"]
    secret = credentials.metadata_secret(settings)
    async with httpx.AsyncClient(
            base_url=f"http://{settings.metadata_host}:{settings.metadata_port}") as guest:
        signed = {"X-Instance-ID": server, "X-Instance-ID-Signature": signature(secret, server)}
        answer = await eventually(lambda: _found(guest, signed))
        assert answer.json()["uuid"] == server
        wrong = {**signed, "X-Instance-ID-Signature": signature(SECRET, server)}
        assert (await guest.get("/openstack/latest/meta_data.json",
                                headers=wrong)).status_code == 403


async def _found(guest: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response | None:
    answer = await guest.get("/openstack/latest/meta_data.json", headers=headers)
    return answer if answer.status_code == 200 else None  # the view may lag the boot


async def test_a_metadata_port_in_use_stops_the_stack_saying_so_not_exiting_the_process(
        database_url: str, nats_url: str, subject_prefix: str, tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        settings = load({"state_dir": str(tmp_path), "subject_prefix": subject_prefix,
                         "metadata_port": port}, env={})
        with pytest.raises(StackFailed, match=f"metadata service cannot listen on"
                                               f" 127.0.0.1:{port}"):
            await serve(settings, database_url, nats_url, asyncio.Event(),
                        parts=frozenset({"metadata"}))
