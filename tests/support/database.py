"""A fresh, migrated database per test (or per module, for a module's shared
stack), cloned from a template made once.

Cloning (CREATE DATABASE ... TEMPLATE) takes a fraction of a second, so every
test that touches storage starts from an empty event log and empty views.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from migrations.runner import upgrade


def _with_db(url: str, dbname: str) -> str:
    return make_conninfo(url, dbname=dbname)


def _drop(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(drop.format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def template_database(server_database_url: str) -> Iterator[str]:
    name = f"nimbus_tpl_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    upgrade(_with_db(server_database_url, name))
    yield name
    _drop(server_database_url, name)


@contextlib.contextmanager
def _cloned(server_database_url: str, template_database: str) -> Iterator[str]:
    name = f"nimbus_t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_database_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(name), sql.Identifier(template_database)
            )
        )
    yield _with_db(server_database_url, name)
    _drop(server_database_url, name)


@pytest.fixture
def database_url(server_database_url: str, template_database: str) -> Iterator[str]:
    with _cloned(server_database_url, template_database) as url:
        yield url


@pytest.fixture(scope="module")
def module_database_url(server_database_url: str, template_database: str) -> Iterator[str]:
    """One fresh database for a test module (the module stack's)."""
    with _cloned(server_database_url, template_database) as url:
        yield url
