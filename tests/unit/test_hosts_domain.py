"""Host decisions as pure functions: registration, enable/disable, the choice of host."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain import host as model
from domain.errors import NotFound

AT = datetime(2026, 1, 1, tzinfo=UTC)
ONE = model.AllocationRatios()


def report(name: str, vcpus: int = 4, memory_mb: int = 8192, local_gb: int = 100
           ) -> model.HostReport:
    return model.HostReport(host=name, vcpus=vcpus, memory_mb=memory_mb, local_gb=local_gb,
                            hypervisor_type="QEMU", hypervisor_version=8002000,
                            host_ip="10.0.0.1", at=AT)


def registered(name: str, fleet: model.Fleet | None = None, **capacity: int
               ) -> tuple[model.Host, model.Fleet]:
    joined, event = model.register(None, fleet, report(name, **capacity))
    assert joined is not None and event is not None
    return model.evolve(None, event, "h"), model.evolve_fleet(fleet, joined, "f")


def test_hosts_are_numbered_in_order_of_registration_and_a_same_report_writes_nothing() -> None:
    one, fleet = registered("compute1")
    two, fleet = registered("compute2", fleet)
    assert (one.number, two.number) == (1, 2)
    assert model.register(one, fleet, report("compute1")) == (None, None)
    joined, changed = model.register(one, fleet, report("compute1", vcpus=8))
    assert joined is None and changed is not None and changed.number == 1


def test_a_configured_registration_never_overrides_a_reported_one() -> None:
    host, fleet = registered("compute1", vcpus=64)
    assert model.register(host, fleet, report("compute1"), source="configured") == (None, None)


def test_placement_picks_the_enabled_host_with_the_most_free_ram() -> None:
    big, _ = registered("a", memory_mb=16384)
    small, _ = registered("b", memory_mb=8192)
    assert model.choose([small, big], ONE, vcpus=1, memory_mb=512, disk_gb=1).host == "a"
    disabled = model.disable(big, "a", reason="maintenance", request_id="r", at=AT)
    assert disabled is not None
    big = model.evolve(big, disabled, "h")
    assert model.choose([small, big], ONE, vcpus=1, memory_mb=512, disk_gb=1).host == "b"


def test_a_host_is_never_over_committed_and_then_no_valid_host_is_found() -> None:
    host, _ = registered("a", vcpus=2, memory_mb=4096, local_gb=40)
    for n in range(2):
        chosen = model.choose([host], ONE, vcpus=1, memory_mb=2048, disk_gb=20)
        host = model.evolve(host, model.claim(chosen, instance_id=str(n), project_id="p",
                                              vcpus=1, memory_mb=2048, disk_gb=20, at=AT), "h")
    with pytest.raises(model.NoValidHost) as refused:
        model.choose([host], ONE, vcpus=1, memory_mb=2048, disk_gb=20)
    assert refused.value.message == (
        "No valid host was found. There are not enough hosts available.")
    doubled = model.AllocationRatios(cpu=2.0, ram=2.0, disk=2.0)
    assert model.choose([host], doubled, vcpus=1, memory_mb=2048, disk_gb=20) is host
    released = model.release(host, "0", AT)
    assert released is not None
    assert model.choose([model.evolve(host, released, "h")], ONE, vcpus=1, memory_mb=2048,
                        disk_gb=20).host == "a"


def test_enabling_and_disabling_an_unknown_host_is_not_found_and_repeats_write_nothing() -> None:
    with pytest.raises(NotFound):
        model.disable(None, "ghost", reason=None, request_id="r", at=AT)
    host, _ = registered("a")
    assert model.enable(host, "a", request_id="r", at=AT) is None
    event = model.disable(host, "a", reason=None, request_id="r", at=AT)
    assert event is not None
    host = model.evolve(host, event, "h")
    assert model.disable(host, "a", reason=None, request_id="r2", at=AT) is None
    enabled = model.enable(host, "a", request_id="r3", at=AT)
    assert enabled is not None and not model.evolve(host, enabled, "h").disabled


def test_a_hosts_running_use_is_the_sum_of_its_claims_through_claims_and_releases() -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC)

    def claimed(instance_id: str, vcpus: int) -> model.HostCapacityClaimed:
        return model.HostCapacityClaimed(at=at, host="h", instance_id=instance_id,
                                         project_id="p", vcpus=vcpus, memory_mb=vcpus * 512,
                                         disk_gb=vcpus)

    host = None
    for event in (claimed("a", 2), claimed("b", 4), claimed("b", 1),
                  model.HostCapacityReleased(at=at, host="h", instance_id="a"),
                  model.HostCapacityReleased(at=at, host="h", instance_id="a")):
        host = model.evolve(host, event, "h")
        claims = host.claims.values()
        assert host.used() == model.Capacity(vcpus=sum(c.vcpus for c in claims),
                                             memory_mb=sum(c.memory_mb for c in claims),
                                             local_gb=sum(c.disk_gb for c in claims))
    assert host is not None and host.used() == model.Capacity(vcpus=1, memory_mb=512,
                                                              local_gb=1)
