"""The catalog a boot refers to, held in memory: as current as the log, also
for what another write side (another process) changed since it was held."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from commands.flavors import NewFlavor
from commands.messages import BootInstance, Caller
from commands.services import Commands
from domain.errors import InvalidInput
from tests.support.cloud import IMAGE, ROOMY, open_cloud

ADMIN = Caller(user_id="u-admin", project_id="p-admin", is_admin=True)
ALICE = Caller(user_id="u-alice", project_id="p-alice")


@pytest.fixture
def two_writers(database_url: str) -> Iterator[tuple[Commands, Commands]]:
    mine, theirs = (open_cloud(database_url, ["h1"], limits=ROOMY) for _ in range(2))
    yield mine, theirs
    mine.close()
    theirs.close()


def boot(cloud: Commands, request_id: str, flavor: str, key_name: str | None = None) -> str:
    return cloud.instances.boot(BootInstance(
        request_id=request_id, caller=ALICE, name="vm", flavor_ref=flavor, image_ref=IMAGE,
        key_name=key_name)).instance_id


def test_a_boot_finds_a_flavor_another_writer_created_after_the_catalog_was_held(
        two_writers: tuple[Commands, Commands]) -> None:
    mine, theirs = two_writers
    boot(mine, "r-1", "1")  # the catalog of the first boot is held now
    with pytest.raises(InvalidInput):
        boot(mine, "r-2", "m1.huge")
    theirs.flavors.create(NewFlavor(name="m1.huge", vcpus=1, ram=512, disk=1,
                                    flavor_id="huge"), ADMIN, "r-flavor")
    assert mine.instances.instance(boot(mine, "r-3", "m1.huge"), ALICE).flavor_id == "huge"


def test_a_boot_is_refused_a_flavor_another_writer_deleted_after_the_catalog_was_held(
        two_writers: tuple[Commands, Commands]) -> None:
    mine, theirs = two_writers
    boot(mine, "r-1", "2")
    theirs.flavors.delete("2", ADMIN, "r-delete")
    with pytest.raises(InvalidInput, match="Flavor 2 could not be found"):
        boot(mine, "r-2", "2")


def test_a_boot_is_refused_a_keypair_another_writer_deleted_after_the_catalog_was_held(
        two_writers: tuple[Commands, Commands]) -> None:
    mine, theirs = two_writers
    theirs.keypairs.create("k", None, ALICE, "r-key")
    boot(mine, "r-1", "1", key_name="k")
    theirs.keypairs.delete("k", ALICE, "r-key-delete")
    with pytest.raises(InvalidInput, match="Invalid key_name"):
        boot(mine, "r-2", "1", key_name="k")
