"""The catalog views follow the log and are rebuilt equal by replay."""

from __future__ import annotations

from pathlib import Path

import psycopg

from commands.catalog import ensure_defaults
from commands.flavors import NewFlavor
from commands.image_files import ImageFiles
from commands.images import NewImage
from commands.messages import Caller
from commands.services import Commands
from projections.projector import catch_up
from projections.replay import replay

ADMIN = Caller(user_id="admin", project_id="admin", is_admin=True)
USER = Caller(user_id="u", project_id="p")
TABLES = ("flavors", "flavor_access", "images", "keypairs")


def catalog_rows(database_url: str) -> dict[str, list[tuple[object, ...]]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        while catch_up(conn):
            pass
        return {t: conn.execute(f"SELECT * FROM views.{t} ORDER BY 1, 2").fetchall()
                for t in TABLES}


def test_catalog_views_follow_the_log_and_replay_equal(database_url: str,
                                                       tmp_path: Path) -> None:
    commands = Commands.open(database_url, ["h1"])
    commands.image_files = ImageFiles(tmp_path)
    try:
        ensure_defaults(commands.flavors, commands.images)
        commands.flavors.create(NewFlavor(name="priv", vcpus=1, ram=64, disk=1, flavor_id="pv",
                                          is_public=False), ADMIN, "r1")
        commands.flavors.grant("pv", "p", ADMIN, "r2", allow=True)
        commands.flavors.delete("5", ADMIN, "r3")
        image = commands.images.create(NewImage(name="mine", disk_format="raw",
                                                container_format="bare"), USER, "r4").state
        commands.images.start_upload(image.id, USER, "r5")
        commands.images.finish_upload(image.id, commands.image_files.put(image.id, b"x"), "r5")
        commands.keypairs.create("k1", None, USER, "r6")
        commands.keypairs.create("k2", None, USER, "r7")
        commands.keypairs.delete("k2", USER, "r8")
    finally:
        commands.close()
    rows = catalog_rows(database_url)
    assert [r[0] for r in rows["flavors"]] == ["1", "2", "3", "4", "pv"]
    assert rows["flavor_access"] == [("pv", "p")]
    assert [r[4] for r in rows["images"]] == ["active", "active"]
    assert [r[2] for r in rows["keypairs"]] == ["k1"]
    report = replay(database_url)
    assert report.equal
    assert set(TABLES) <= {t.table for t in report.tables}
    assert catalog_rows(database_url) == rows
