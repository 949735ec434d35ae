"""``nimbus quota show|set|reset`` as an operator runs them: subprocesses on the store."""

from __future__ import annotations

from pathlib import Path

import psycopg

from projections.log import head
from tests.e2e.test_identity_cli import env_for, nimbus


def log_head(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        return head(conn)


def rows(table: str) -> dict[str, list[str]]:
    """The table's data rows by their first column."""
    return {cells[0]: cells[1:] for cells in (line.split() for line in table.splitlines()[2:])}


def test_an_operator_overrides_shows_and_resets_a_projects_limits(
        database_url: str, tmp_path: Path) -> None:
    env = env_for(database_url, tmp_path)
    assert nimbus(env, "project", "create", "web").returncode == 0
    shown = rows(nimbus(env, "quota", "show", "web").stdout)
    assert shown["instances"] == ["10", "0", "default"]
    assert shown["fixed_ips"] == ["unlimited", "0", "default"]

    changed = nimbus(env, "quota", "set", "web", "--instances", "20", "--cores", "-1")
    assert changed.returncode == 0, changed.stderr
    shown = rows(changed.stdout)
    assert shown["instances"] == ["20", "0", "override"]
    assert shown["cores"] == ["unlimited", "0", "override"]
    assert rows(nimbus(env, "quota", "show", "web").stdout)["instances"][0] == "20"

    assert rows(nimbus(env, "quota", "reset", "web").stdout)["instances"] == [
        "10", "0", "default"]


def test_bad_quota_commands_say_why_and_write_nothing(database_url: str, tmp_path: Path) -> None:
    env = env_for(database_url, tmp_path)
    assert nimbus(env, "project", "create", "web").returncode == 0
    before = log_head(database_url)

    unknown = nimbus(env, "quota", "set", "nowhere", "--instances", "5")
    assert unknown.returncode == 1 and "nowhere" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    negative = nimbus(env, "quota", "set", "web", "--instances", "-2")
    assert negative.returncode == 2 and "below -1" in negative.stderr
    nothing = nimbus(env, "quota", "set", "web")
    assert nothing.returncode != 0 and "at least one limit" in nothing.stderr
    assert log_head(database_url) == before
