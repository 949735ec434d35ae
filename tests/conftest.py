"""Shared fixtures: the real PostgreSQL and NATS servers every test talks to.

Each server is found in this order, so the suite passes on a fresh machine:
``NIMBUS_TEST_DATABASE_URL`` / ``NIMBUS_TEST_NATS_URL`` when set; else the
servers on 127.0.0.1 (5432, 4222) when they answer; else nimbus's own
embedded servers, started for this test session in a folder under /tmp and
stopped at its end. Each test gets its own subject prefix (and so its own
JetStream streams) so tests never see each other's messages.

Each test also carries the marker of its tier, the folder it is in
(tests/README.md), so that ``pytest -m unit`` runs one tier.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from runtime.embedded import EmbeddedNats, EmbeddedPostgres, nats_answers, postgres_answers
from tests.support.stack import RunningStack, new_subject_prefix, stack_running

LOCAL_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
LOCAL_NATS_URL = "nats://127.0.0.1:4222"
TIERS = ("unit", "service", "adapters", "e2e", "clients")
HERE = Path(__file__).resolve().parent


def pytest_itemcollected(item: pytest.Item) -> None:
    tier = item.path.relative_to(HERE).parts[0]
    if tier in TIERS:
        item.add_marker(tier)


@pytest.fixture(scope="session")
def embedded_state_dir() -> Iterator[Path]:
    """Where embedded servers keep their data: under /tmp, and open to the
    postgres user that the embedded PostgreSQL runs as under root."""
    folder = Path(tempfile.mkdtemp(prefix="nimbus-test-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def nats_url(embedded_state_dir: Path) -> Iterator[str]:
    configured = os.environ.get("NIMBUS_TEST_NATS_URL")
    if configured:
        yield configured
    elif nats_answers(LOCAL_NATS_URL):
        yield LOCAL_NATS_URL
    else:
        with EmbeddedNats(embedded_state_dir) as server:
            yield server.url


@pytest.fixture(scope="session")
def server_database_url(embedded_state_dir: Path) -> Iterator[str]:
    """A maintenance database on the test server, for CREATE/DROP DATABASE."""
    configured = os.environ.get("NIMBUS_TEST_DATABASE_URL")
    if configured:
        yield configured
    elif postgres_answers(LOCAL_DATABASE_URL):
        yield LOCAL_DATABASE_URL
    else:
        with EmbeddedPostgres(embedded_state_dir) as server:
            yield server.url_for("postgres")


@pytest.fixture
def subject_prefix() -> Iterator[str]:
    yield new_subject_prefix()


@pytest.fixture
async def running_stack(
    database_url: str, nats_url: str, subject_prefix: str, tmp_path: Path
) -> AsyncIterator[RunningStack]:
    """The whole stack on this test's own database and subjects."""
    async with stack_running(database_url, nats_url, subject_prefix, tmp_path) as running:
        yield running


pytest_plugins = [
    "tests.support.database", "tests.support.shared", "tests.support.scheduling"]
