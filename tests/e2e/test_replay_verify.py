"""``nimbus replay --verify``: a rebuild from the log compared with the live
views at the same log position, the live views kept; a replay that cannot
reach the log head swaps nothing. The ``nimbus`` command runs as an operator
runs it, on a database a cloud wrote."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from commands.services import Commands
from projections import replay as rebuild
from projections.log import head
from tests.e2e.test_stuck_views import (
    NIMBUS,
    NUL_NAME,
    boot,
    instance_named,
    names,
    project_all,
    schema_oid,
)
from tests.support.cloud import open_cloud


@pytest.fixture
def commands(database_url: str) -> Iterator[Commands]:
    opened = open_cloud(database_url, ["h1"])
    yield opened
    opened.close()


@pytest.fixture
def cloud(database_url: str, commands: Commands) -> Iterator[str]:
    """A log with a few servers, and live views that follow it."""
    for name in ("vm1", "vm2", "vm3"):
        boot(commands, name)
    with psycopg.connect(database_url, autocommit=True) as conn:
        project_all(conn)
    yield database_url


def nimbus_replay(database_url: str, state_dir: Path, *args: str
                  ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NIMBUS_", "OS_"))}
    env.update(NIMBUS_DATABASE_URL=database_url, NIMBUS_STATE_DIR=str(state_dir))
    return subprocess.run([NIMBUS, "replay", *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_verify_after_a_normal_run_finds_the_checksums_equal_and_keeps_the_live_views(
        cloud: str, tmp_path: Path) -> None:
    with psycopg.connect(cloud, autocommit=True) as conn:
        live, position = schema_oid(conn, "views"), head(conn)

    ran = nimbus_replay(cloud, tmp_path, "--verify")
    assert ran.returncode == 0, ran
    lines = ran.stdout.splitlines()
    assert lines[0] == (f"rebuilt every view from the log up to position {position} and"
                        " compared it with the live views; nothing was swapped")
    assert lines[1:-1] and all(line.endswith("  equal") for line in lines[1:-1]), ran.stdout
    assert lines[-2].split()[:2] == ["all", "views"]
    assert lines[-1] == "the live views equal a rebuild from the log"
    summary = ran.stderr.splitlines()[-1]  # no terminal: no bar, but the summary line
    assert re.fullmatch(rf"replay \(verify\): {position:,} events in [0-9.]+ s"
                        r" \([0-9,]+ events/s\)", summary), ran.stderr
    with psycopg.connect(cloud, autocommit=True) as conn:
        assert schema_oid(conn, "views") == live
        assert schema_oid(conn, rebuild.NEXT_SCHEMA) is None


def test_verify_says_which_view_differs_from_the_log_and_exits_1(
        cloud: str, tmp_path: Path) -> None:
    with psycopg.connect(cloud, autocommit=True) as conn:
        conn.execute("UPDATE views.instances SET name = 'tampered' WHERE name = 'vm2'")

    ran = nimbus_replay(cloud, tmp_path, "--verify")
    assert ran.returncode == 1, ran
    lines = ran.stdout.splitlines()
    [instances] = [line for line in lines if line.lstrip().startswith("instances ")]
    assert "DIFFERENT (the live view is kept)" in instances
    assert lines[-1] == "the live views differ from a rebuild from the log: instances"
    with psycopg.connect(cloud, autocommit=True) as conn:
        assert names(conn) == {"vm1", "tampered", "vm3"}  # verified, not repaired


def test_verify_as_json_gives_each_views_checksum_and_the_overall_ones(
        cloud: str, tmp_path: Path) -> None:
    with psycopg.connect(cloud, autocommit=True) as conn:
        conn.execute("UPDATE views.instances SET name = 'tampered' WHERE name = 'vm2'")
        position = head(conn)

    ran = nimbus_replay(cloud, tmp_path, "--verify", "--json")
    assert ran.returncode == 1, ran
    assert ran.stderr == ""  # no progress, no summary line: the object says it all
    report = json.loads(ran.stdout)
    assert (report["position"], report["swapped"], report["equal"]) == (position, False, False)
    assert report["events"] == position and report["seconds"] > 0
    assert report["checksum"] != report["live_checksum"]
    tables = {t["table"]: t for t in report["tables"]}
    assert [name for name, t in tables.items() if not t["equal"]] == ["instances"]
    assert tables["instances"]["rows"] == 3
    assert tables["instances"]["checksum"] != tables["instances"]["live_checksum"]


def test_the_checksums_are_the_same_for_the_same_log(cloud: str) -> None:
    first = rebuild.replay(cloud, swap=False)
    again = rebuild.replay(cloud, swap=False)
    swapped = rebuild.replay(cloud)
    assert first.equal and first.checksum == first.live_checksum
    assert first.checksum == again.checksum == swapped.checksum
    assert [t.new_checksum for t in first.tables] == [t.new_checksum for t in swapped.tables]


def test_a_rebuild_that_cannot_reach_the_log_head_refuses_to_swap_or_verify(
        cloud: str, commands: Commands, tmp_path: Path) -> None:
    _, bad_position = instance_named(commands.app, NUL_NAME)
    with psycopg.connect(cloud, autocommit=True) as conn:
        live = schema_oid(conn, "views")
    for args in ((), ("--verify",)):
        ran = nimbus_replay(cloud, tmp_path, *args)
        assert ran.returncode == 1, ran
        [line] = ran.stderr.splitlines()
        assert line.startswith("nimbus: error: replay cannot rebuild the views up to the log"
                               f" head (position {bad_position}): view instances cannot apply"
                               f" log position {bad_position}")
        assert line.endswith("nothing was swapped")
        assert ran.stdout == ""
    with psycopg.connect(cloud, autocommit=True) as conn:
        assert schema_oid(conn, "views") == live
        assert schema_oid(conn, rebuild.NEXT_SCHEMA) is None
