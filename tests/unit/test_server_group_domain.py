"""Server group policies, decided purely: where a group's next members may
run given its live members, and how one boot's members are placed among
themselves (affinity on one host, anti-affinity each on its own; a soft
policy gives way when it cannot be met)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain import server_group as model
from domain.errors import InvalidInput
from domain.host import AllocationRatios, Host, NoValidHost

AT = datetime(2026, 1, 1, tzinfo=UTC)
HOSTS = [Host(host=f"compute{n}", number=n, vcpus=4, memory_mb=4096, local_gb=40)
         for n in (1, 2)]


def group(policy: str) -> model.ServerGroup:
    return model.ServerGroup(id="g", name="g", policy=policy, project_id="p", user_id="u")


def place(policy: str, count: int) -> list[str]:
    claims = model.place(policy, HOSTS, AllocationRatios(),
                         instance_ids=[f"i{n}" for n in range(count)], project_id="p",
                         vcpus=1, memory_mb=512, disk_gb=1, at=AT)
    return [c.host for c in claims]


def test_affinity_follows_the_members_and_anti_affinity_avoids_them() -> None:
    every = ["compute1", "compute2"]
    assert model.allowed_hosts(group("affinity"), {}, every) == frozenset(every)
    assert model.allowed_hosts(group("affinity"), {"a": "compute2"}, every) == {"compute2"}
    assert model.allowed_hosts(group("anti-affinity"), {"a": "compute2"}, every) == {
        "compute1"}
    full = {"a": "compute1", "b": "compute2"}
    assert model.allowed_hosts(group("anti-affinity"), full, every) == frozenset()
    assert model.allowed_hosts(group("soft-anti-affinity"), full, every) == frozenset(every)


def test_one_boots_members_share_a_host_or_take_one_each() -> None:
    assert len(set(place("affinity", 3))) == 1
    assert sorted(place("anti-affinity", 2)) == ["compute1", "compute2"]
    with pytest.raises(NoValidHost):
        place("anti-affinity", 3)
    assert len(place("soft-anti-affinity", 3)) == 3


def test_only_nova_policies_are_groups_and_soft_ones_only_when_allowed() -> None:
    made = model.create(None, request_id="r", name="web", policy="anti-affinity",
                        soft_allowed=False, project_id="p", user_id="u", at=AT)
    assert made.group_id == model.group_uuid("r")
    for policy, soft in (("nearby", True), ("soft-affinity", False)):
        with pytest.raises(InvalidInput, match="policies"):
            model.create(None, request_id="r", name="web", policy=policy,
                         soft_allowed=soft, project_id="p", user_id="u", at=AT)
