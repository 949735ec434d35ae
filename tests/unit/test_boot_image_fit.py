"""A boot's flavor must hold the image's minimums (Nova's FlavorMemoryTooSmall
and FlavorDiskSmallerThanMinDisk); a flavor with no root disk boots any image."""

from __future__ import annotations

import pytest

from domain.catalog import Flavor, Image
from domain.errors import InvalidInput
from domain.instance_boot import check_image_fits

TINY = Flavor("1", "m1.tiny", vcpus=1, ram=512, disk=1)


def test_an_image_within_the_flavor_fits() -> None:
    check_image_fits(TINY, Image("i", "cirros", min_ram=512, min_disk=1))


def test_an_image_needing_more_memory_than_the_flavor_has_is_refused() -> None:
    with pytest.raises(InvalidInput, match="Flavor's memory is too small"):
        check_image_fits(TINY, Image("i", "big", min_ram=513))


def test_an_image_needing_more_disk_is_refused_unless_the_flavor_has_no_root_disk() -> None:
    with pytest.raises(InvalidInput, match="minimum size is 2147483648 bytes"):
        check_image_fits(TINY, Image("i", "big", min_disk=2))
    check_image_fits(Flavor("0", "diskless", vcpus=1, ram=512, disk=0),
                     Image("i", "big", min_disk=2))
