"""Flavor and image decisions as pure functions: Nova's and Glance's rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from msgspec.structs import asdict

from domain import flavor, image
from domain.errors import Forbidden, InvalidInput, InvalidState, NotFound

AT = datetime(2026, 1, 1, tzinfo=UTC)


def created(**fields: object) -> flavor.FlavorCreated:
    values: dict[str, object] = {"at": AT, "request_id": "r", "flavor_id": "9", "name": "f",
                                 "vcpus": 1, "ram": 64, "disk": 1, **fields}
    return flavor.FlavorCreated(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(("fields", "named"), [
    ({"ram": 0}, "ram"), ({"vcpus": 0}, "vcpus"), ({"disk": -1}, "disk"),
    ({"swap": -1}, "swap"), ({"ephemeral": -1}, "ephemeral"), ({"name": ""}, "name"),
    ({"name": " padded"}, "name"), ({"flavor_id": "a/b"}, "id"), ({"rxtx_factor": 0.0},
                                                                   "rxtx_factor"),
])
def test_a_flavor_with_a_bad_field_is_refused_naming_it(fields: dict[str, object],
                                                        named: str) -> None:
    with pytest.raises(InvalidInput, match=named):
        flavor.create(None, None, **asdict(created(**fields)))


def test_a_taken_name_or_id_conflicts_but_a_deleted_flavors_id_is_free() -> None:
    state = flavor.evolve(None, created(), "x")
    with pytest.raises(InvalidState, match="Flavor with name f already exists"):
        flavor.create(None, flavor.NameClaim("9"), **asdict(created()))
    with pytest.raises(InvalidState, match="Flavor with ID 9 already exists"):
        flavor.create(state, None, **asdict(created(name="g")))
    deleted = flavor.evolve(state, flavor.FlavorDeleted(at=AT, request_id="d", flavor_id="9"),
                            "x")
    assert flavor.create(deleted, flavor.NameClaim(None), **asdict(created())).name == "f"


def test_flavor_access_is_for_private_flavors_only() -> None:
    public = flavor.evolve(None, created(), "x")
    with pytest.raises(InvalidState, match="public flavor"):
        flavor.add_access(public, "9", "p", request_id="r", at=AT)
    private = flavor.evolve(None, created(is_public=False), "x")
    assert not flavor.visible(private, "p", False)
    granted = flavor.evolve(private, flavor.add_access(private, "9", "p", request_id="r",
                                                       at=AT), "x")
    assert flavor.visible(granted, "p", False) and not flavor.visible(granted, "q", False)
    assert flavor.visible(granted, "q", True)
    with pytest.raises(InvalidState, match="already exists"):
        flavor.add_access(granted, "9", "p", request_id="r", at=AT)
    with pytest.raises(NotFound):
        flavor.remove_access(granted, "9", "q", request_id="r", at=AT)


def new_image(**fields: object) -> image.ImageCreated:
    values: dict[str, object] = {"at": AT, "request_id": "r", "name": "i", "owner": "p",
                                 "disk_format": "raw", "container_format": "bare", **fields}
    return image.ImageCreated(**values)  # type: ignore[arg-type]


def create_image(*, is_admin: bool, **fields: object) -> image.ImageCreated:
    return image.create(None, image_id="i", **asdict(new_image(**fields)), is_admin=is_admin)


def test_image_rules_follow_glance() -> None:
    with pytest.raises(Forbidden):
        create_image(visibility="public", is_admin=False)
    with pytest.raises(InvalidInput, match="visibility"):
        create_image(visibility="everyone", is_admin=True)
    with pytest.raises(InvalidInput, match="min_ram"):
        create_image(min_ram=-1, is_admin=False)
    state = image.evolve(None, create_image(visibility="shared", is_admin=False),
                         "00000000-0000-0000-0000-000000000001")
    assert image.visible(state, "p", False) and not image.visible(state, "q", False)
    with pytest.raises(Forbidden):
        image.start_upload(state, request_id="u", at=AT, project_id="q", is_admin=False)
    saving = image.evolve(state, image.start_upload(state, request_id="u", at=AT,
                                                    project_id="p", is_admin=False), "x")
    assert saving.status == "saving"
    with pytest.raises(InvalidState):
        image.start_upload(saving, request_id="u2", at=AT, project_id="p", is_admin=False)
    protected = image.evolve(None, new_image(protected=True), "x")
    with pytest.raises(Forbidden, match="protected"):
        image.delete(protected, request_id="d", at=AT, project_id="p", is_admin=True)
