"""Quota decisions as pure functions: claims within limits, Nova's wording over them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain import quota as model
from domain.errors import InvalidInput

AT = datetime(2026, 1, 1, tzinfo=UTC)
DEFAULTS = model.QuotaDefaults()


def used(instances: int, *, vcpus: int = 2, ram: int = 4096) -> model.Quota:
    state: model.Quota | None = None
    for n in range(instances):
        for event in model.claim(state, DEFAULTS, project_id="p", instance_ids=[f"i{n}"],
                                 vcpus=vcpus, ram=ram, at=AT):
            state = model.evolve(state, event, "q")
    assert state is not None
    return state


def test_the_defaults_are_the_seeds_flags() -> None:
    assert (DEFAULTS.instances, DEFAULTS.cores, DEFAULTS.ram) == (10, 20, 51200)
    assert (DEFAULTS.floating_ips, DEFAULTS.volumes, DEFAULTS.gigabytes) == (10, 10, 1000)
    assert (DEFAULTS.metadata_items, DEFAULTS.injected_files) == (128, 5)
    assert (DEFAULTS.injected_file_content_bytes, DEFAULTS.injected_file_path_bytes) == (
        10240, 255)


def test_a_claim_within_the_limits_records_one_claim_per_instance() -> None:
    events = model.claim(None, DEFAULTS, project_id="p", instance_ids=["a", "b"], vcpus=2,
                         ram=2048, at=AT)
    assert [(e.instance_id, e.cores, e.ram) for e in events] == [("a", 2, 2048),
                                                                  ("b", 2, 2048)]


def test_going_over_the_cores_is_refused_in_novas_words() -> None:
    state = used(10, vcpus=2, ram=512)  # 10 instances, 20 cores
    state = model.evolve(state, model.QuotaLimitsSet(at=AT, project_id="p", request_id="r",
                                                     limits={"instances": 20}), "q")
    with pytest.raises(model.QuotaExceeded) as refused:
        model.claim(state, DEFAULTS, project_id="p", instance_ids=["x"], vcpus=2, ram=512,
                    at=AT)
    assert refused.value.message == (
        "Quota exceeded for cores: Requested 2, but already used 20 of 20 cores")


def test_every_resource_over_its_limit_is_named_in_sorted_order() -> None:
    state = used(10, vcpus=2, ram=4096)
    with pytest.raises(model.QuotaExceeded) as refused:
        model.claim(state, DEFAULTS, project_id="p", instance_ids=["x"], vcpus=2, ram=16384,
                    at=AT)
    assert refused.value.message == (
        "Quota exceeded for cores, instances, ram: Requested 2, 1, 16384, but already used"
        " 20, 10, 40960 of 20, 10, 51200 cores, instances, ram")


def test_minus_one_is_unlimited_and_a_release_gives_the_claim_back() -> None:
    state = model.evolve(None, model.QuotaLimitsSet(
        at=AT, project_id="p", request_id="r", limits={"instances": -1, "cores": -1,
                                                        "ram": -1}), "q")
    for event in model.claim(state, DEFAULTS, project_id="p",
                             instance_ids=[str(n) for n in range(50)], vcpus=8, ram=99999,
                             at=AT):
        state = model.evolve(state, event, "q")
    assert state.in_use().instances == 50
    released = model.release(state, "7", AT)
    assert released is not None
    assert model.evolve(state, released, "q").in_use().instances == 49
    assert model.release(state, "not-mine", AT) is None


def test_a_limit_below_what_is_used_is_refused_unless_forced() -> None:
    state = used(5)
    with pytest.raises(InvalidInput) as refused:
        model.set_limits(state, DEFAULTS, project_id="p", request_id="r",
                         limits={"instances": 3}, force=False, at=AT)
    assert refused.value.message == (
        "Quota limit 3 for instances must be greater than or equal to already used and"
        " reserved 5.")
    forced = model.set_limits(state, DEFAULTS, project_id="p", request_id="r",
                              limits={"instances": 3}, force=True, at=AT)
    assert forced.limits == {"instances": 3}


@pytest.mark.parametrize(("limits", "named"), [
    ({"bogus": 1}, "'bogus' was unexpected"),
    ({"cores": -2}, "less than the minimum of -1"),
])
def test_bad_limits_are_refused_naming_the_field(limits: dict[str, int], named: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        model.set_limits(None, DEFAULTS, project_id="p", request_id="r", limits=limits,
                         force=False, at=AT)
    assert named in refused.value.message


def test_a_reset_drops_the_overrides() -> None:
    state = model.evolve(None, model.QuotaLimitsSet(at=AT, project_id="p", request_id="r",
                                                    limits={"cores": 99}), "q")
    assert state.limits(DEFAULTS)["cores"] == 99
    state = model.evolve(state, model.reset("p", "r2", AT), "q")
    assert state.limits(DEFAULTS)["cores"] == 20


def test_the_running_usage_is_the_sum_of_the_claims_held_through_claims_and_releases() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    events: list[model.QuotaEvent] = [
        model.QuotaUsageClaimed(at=at, project_id="p", instance_id="a", instances=1, cores=2,
                                ram=512),
        model.QuotaVolumeClaimed(at=at, project_id="p", volume_id="v", gigabytes=10),
        model.QuotaUsageClaimed(at=at, project_id="p", instance_id="b", instances=1, cores=4,
                                ram=1024),
        model.QuotaUsageReleased(at=at, project_id="p", instance_id="a"),
        model.QuotaUsageReleased(at=at, project_id="p", instance_id="a"),  # again: no change
        model.QuotaUsageClaimed(at=at, project_id="p", instance_id="b", instances=1, cores=1,
                                ram=256),  # in place of b's first claim
        model.QuotaNetworkClaimed(at=at, project_id="p", owner_id="f", resource="floating_ips"),
    ]
    quota = None
    for event in events:
        quota = model.evolve(quota, event, "p")
        summed = model.Usage()
        for claim in quota.claims.values():
            summed = summed + claim
        assert quota.in_use() == summed
    assert quota is not None
    assert quota.in_use() == model.Usage(instances=1, cores=1, ram=256, volumes=1,
                                         gigabytes=10, floating_ips=1)


def test_a_resize_claim_holds_the_larger_flavor_and_refuses_growth_over_the_limit() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    limited = model.QuotaDefaults(ram=1024)

    def resized(quota: model.Quota, defaults: model.QuotaDefaults, ram: int,
                check: bool = True) -> model.QuotaUsageClaimed | None:
        return model.resize_claim(quota, defaults, project_id="p", instance_id="i", cores=1,
                                  ram=ram, at=at, check=check)

    (boot,) = model.claim(None, DEFAULTS, project_id="p", instance_ids=["i"], vcpus=1,
                          ram=512, at=at)
    quota = model.evolve(None, boot, "")
    with pytest.raises(model.QuotaExceeded, match="Quota exceeded for ram: Requested 1536"):
        resized(quota, limited, 2048)
    grown = resized(quota, DEFAULTS, 2048)
    assert grown is not None and grown.replaces
    quota = model.evolve(quota, grown, "")
    assert (quota.in_use().instances, quota.in_use().ram) == (1, 2048)
    assert resized(quota, DEFAULTS, 2048) is None
    settled = resized(quota, limited, 512, check=False)
    assert settled is not None and model.evolve(quota, settled, "").in_use().ram == 512


def test_the_default_quota_class_changes_the_defaults_a_project_is_held_to() -> None:
    changed = model.set_class_limits(model.DEFAULT_CLASS, request_id="r", at=AT,
                                     limits={"instances": 1})
    assert changed.project_id == model.class_key("default")
    defaults = model.with_class(DEFAULTS, model.evolve(None, changed, "c"))
    assert (defaults.instances, defaults.cores) == (1, DEFAULTS.cores)
    with pytest.raises(model.QuotaExceeded, match="Quota exceeded for instances"):
        model.claim(used(1, vcpus=1, ram=512), defaults, project_id="p",
                    instance_ids=["i9"], vcpus=1, ram=512, at=AT)
    assert model.with_class(DEFAULTS, None) is DEFAULTS


def test_a_quota_class_limit_must_be_a_known_resource_of_at_least_minus_one() -> None:
    for limits in ({"bogus": 1}, {"cores": -2}):
        with pytest.raises(InvalidInput):
            model.set_class_limits("default", request_id="r", at=AT, limits=limits)
