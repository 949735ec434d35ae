"""Token expiry and logout on an API app over the real event store and views.

The app runs in-process (ASGI); its token signer reads a clock the test sets,
so a token's expiry is reached by moving the clock on, not by waiting. A
query-only app issues tokens too, because a login reads the user aggregate
from the store, not from Commands.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import psycopg
import pytest

from api.app import Role, create_app
from api.context import ApiSettings, Context
from api.revocations import RevocationCache
from api.tokens import TokenSigner
from commands.application import NimbusApplication
from commands.identity import IdentityCommands
from domain.clock import Clock, system_clock
from domain.quota import QuotaDefaults
from migrations.runner import VIEWS_SCHEMA
from projections import projector
from projections.identity_queries import RevocationReader
from tests.support.clock import SetClock
from tests.support.polling import eventually
from tests.support.stack import auth_body

T = "/identity/v3/auth/tokens"


@pytest.fixture
async def identity(database_url: str) -> AsyncIterator[IdentityCommands]:
    app = NimbusApplication(database_url)
    commands = IdentityCommands(app)
    await asyncio.to_thread(commands.ensure_admin, user="admin", project="admin",
                            password="pw")
    yield commands
    app.close()


@asynccontextmanager
async def client(identity: IdentityCommands, database_url: str, role: Role,
                 ttl: int, clock: Clock = system_clock) -> AsyncIterator[httpx.AsyncClient]:
    ctx = Context(signer=TokenSigner(b"secret", ttl, clock), base_url="http://nimbus",
                  region="RegionOne", identity=identity,
                  revocations=RevocationCache(database_url),
                  settings=ApiSettings(image_dir=Path("/nonexistent"),
                                       quota_defaults=QuotaDefaults(), service_down_time=60.0))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(ctx, role)),
                                     base_url="http://nimbus") as http:
            yield http
    finally:
        ctx.revocations.close()


async def test_a_token_is_refused_once_its_lifetime_has_passed(identity: IdentityCommands,
                                                                database_url: str) -> None:
    clock = SetClock()
    async with client(identity, database_url, "query", ttl=60, clock=clock) as http:
        r = await http.post(T, json=auth_body("admin", "pw", "admin"))
        assert r.status_code == 201, r.text
        assert r.json()["token"]["expires_at"].startswith("2026-01-01T00:01:00")
        token = r.headers["X-Subject-Token"]
        headers = {"X-Auth-Token": token, "X-Subject-Token": token}
        clock.advance(59.9)
        assert (await http.get(T, headers=headers)).status_code == 200
        clock.advance(0.1)
        r = await http.get(T, headers=headers)
        assert r.status_code == 401, r.text
        assert (await http.get("/compute/v2.1/servers", headers=headers)).status_code == 401


async def test_a_login_is_scoped_by_project_id_and_domain_id_too(
        identity: IdentityCommands, database_url: str) -> None:
    project = identity.project("admin")
    body = auth_body("admin", "pw", "admin")
    body["auth"]["scope"] = {"project": {"id": project.id}}
    body["auth"]["identity"]["password"]["user"]["domain"] = {"id": "default"}
    async with client(identity, database_url, "query", ttl=60) as http:
        r = await http.post(T, json=body)
        assert r.status_code == 201, r.text
        assert r.json()["token"]["project"]["id"] == project.id


async def test_a_revoked_token_is_refused_by_another_process_once_it_is_projected(
        identity: IdentityCommands, database_url: str) -> None:
    async with (client(identity, database_url, "command", ttl=60) as commands,
                client(identity, database_url, "query", ttl=60) as queries):
        r = await commands.post(T, json=auth_body("admin", "pw", "admin"))
        token = r.headers["X-Subject-Token"]
        headers = {"X-Auth-Token": token, "X-Subject-Token": token}
        assert (await queries.get(T, headers=headers)).status_code == 200
        assert (await commands.delete(T, headers=headers)).status_code == 204
        with psycopg.connect(database_url, autocommit=True) as conn:
            projector.catch_up(conn)

        async def refused() -> bool:
            return (await queries.get(T, headers=headers)).status_code == 401

        await eventually(refused, what="the revocation reaching the query app")


def test_a_revocation_read_that_fails_closes_its_connection(database_url: str) -> None:
    """The reader opens its connection again on the next call; the failed one
    is closed, not left open to the garbage collector (and the server)."""
    reader = RevocationReader(database_url)
    assert reader.after(0) == []
    opened = reader._conn
    assert opened is not None
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE {VIEWS_SCHEMA}.revocations")
    assert reader.after(0) is None
    assert opened.closed
    reader.close()
