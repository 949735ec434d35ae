"""The flavor write side on real PostgreSQL: seeding is idempotent, and names
and ids stay unique when admins race."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from commands.catalog import ensure_defaults
from commands.flavors import NewFlavor
from commands.image_files import ImageFiles
from commands.messages import Caller
from commands.services import Commands
from domain.errors import DomainError, InvalidInput, InvalidState
from projections.log import head

ADMIN = Caller(user_id="admin", project_id="admin", is_admin=True)
MEMBER = Caller(user_id="u", project_id="p")


def open_commands(database_url: str, images: Path) -> Commands:
    commands = Commands.open(database_url, ["h1"])
    commands.image_files = ImageFiles(images)
    return commands


def log_head(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        return head(conn)


def test_seeding_twice_writes_nothing_the_second_time(database_url: str,
                                                      tmp_path: Path) -> None:
    commands = open_commands(database_url, tmp_path)
    try:
        assert ensure_defaults(commands.flavors, commands.images) == 6
        written = log_head(database_url)
        assert ensure_defaults(commands.flavors, commands.images) == 0
        assert log_head(database_url) == written
        assert commands.catalog.flavor("m1.small", MEMBER).ram == 2048
        assert commands.catalog.image("cirros-0.6.2-x86_64-disk", MEMBER).status == "active"
    finally:
        commands.close()


def test_a_deleted_default_flavor_is_not_seeded_again(database_url: str,
                                                      tmp_path: Path) -> None:
    commands = open_commands(database_url, tmp_path)
    try:
        ensure_defaults(commands.flavors, commands.images)
        commands.flavors.delete("1", ADMIN, "req-del")
        ensure_defaults(commands.flavors, commands.images)
        with pytest.raises(InvalidInput, match="Flavor 1 could not be found"):
            commands.catalog.flavor("1", MEMBER)
    finally:
        commands.close()


def test_racing_creates_of_one_name_leave_exactly_one_flavor(database_url: str) -> None:
    apps = [Commands.open(database_url, ["h1"]) for _ in range(4)]

    def create(n: int) -> str:
        new = NewFlavor(name="contested", vcpus=1, ram=64, disk=1, flavor_id=f"id{n}")
        try:
            apps[n].flavors.create(new, ADMIN, f"req-{n}")
            return "created"
        except DomainError as exc:
            return exc.message

    try:
        with ThreadPoolExecutor(4) as pool:
            outcomes = list(pool.map(create, range(4)))
    finally:
        for app in apps:
            app.close()
    assert outcomes.count("created") == 1
    assert sorted(set(outcomes) - {"created"}) == ["Flavor with name contested already exists."]


def test_a_repeated_request_returns_the_first_flavor_and_writes_nothing(
        database_url: str) -> None:
    commands = Commands.open(database_url, ["h1"])
    try:
        new = NewFlavor(name="once", vcpus=1, ram=64, disk=1)
        first = commands.flavors.create(new, ADMIN, "req-once")
        again = commands.flavors.create(new, ADMIN, "req-once")
        assert again.position is None and again.state.flavor == first.state.flavor
        with pytest.raises(InvalidState, match="already exists"):
            commands.flavors.create(new, ADMIN, "req-twice")
    finally:
        commands.close()


def test_a_private_flavor_boots_only_for_projects_with_access(database_url: str) -> None:
    commands = Commands.open(database_url, ["h1"])
    try:
        commands.flavors.create(NewFlavor(name="priv", vcpus=1, ram=64, disk=1, flavor_id="pv",
                                          is_public=False), ADMIN, "req-pv")
        with pytest.raises(InvalidInput):
            commands.catalog.flavor("pv", MEMBER)
        commands.flavors.grant("pv", "p", ADMIN, "req-grant", allow=True)
        assert commands.catalog.flavor("pv", MEMBER).name == "priv"
    finally:
        commands.close()

