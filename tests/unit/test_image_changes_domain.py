"""An image's PATCH, tags, deactivation and members as pure decisions:
Glance v2's rules, and the state each event leaves."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from domain import image, image_changes, image_members, image_patch
from domain.base import Event
from domain.errors import Conflict, Forbidden, InvalidInput, InvalidState, NotFound, TooLarge
from domain.image_patch import Operation

AT = datetime(2026, 1, 1, tzinfo=UTC)
OWNER = "proj-a"
IMAGE_ID = "2a9b8f3e-1c4d-4e5f-8a6b-7c8d9e0f1a2b"


def fold(*events: Event) -> image.ImageState:
    state = None
    for event in events:
        state = image.evolve(state, event, IMAGE_ID)
    assert state is not None
    return state


def queued(**fields: Any) -> image.ImageState:
    return fold(image.ImageCreated(at=AT, request_id="c", name="img", owner=OWNER,
                                   disk_format="raw", container_format="bare",
                                   tags=["one"], properties={"os_distro": "cirros"}, **fields))


def active(**fields: Any) -> image.ImageState:
    state = queued(**fields)
    for event in (image.ImageUploadStarted(at=AT, request_id="u"),
                  image.ImageActivated(at=AT, request_id="u", size=3, checksum="c",
                                       os_hash_algo="sha512", os_hash_value="v")):
        state = image.evolve(state, event, IMAGE_ID)
    return state


def patch(state: image.ImageState, *ops: Operation, project: str = OWNER,
          admin: bool = False) -> image.ImageUpdated | None:
    return image_patch.update(state, list(ops), request_id="p", at=AT, project_id=project,
                              is_admin=admin)


def op(kind: str, path: str, value: Any = None) -> Operation:
    return Operation(op=kind, path=path, value=value) if kind != "remove" else Operation(
        op=kind, path=path)


def test_a_patch_replaces_adds_and_removes_in_one_event_the_fold_applies() -> None:
    state = queued()
    event = patch(state, op("replace", "/name", "renamed"), op("add", "/min_ram", 128),
                  op("add", "/hw_disk_bus", "virtio"), op("remove", "/os_distro"),
                  op("replace", "/tags", ["b", "a", "b"]), op("replace", "/protected", True))
    assert event is not None
    after = image.evolve(state, event, IMAGE_ID)
    assert (after.name, after.min_ram, after.protected) == ("renamed", 128, True)
    assert after.properties == {"hw_disk_bus": "virtio"}
    assert after.tags == ("b", "a")


def test_only_an_admin_gives_an_image_to_another_project() -> None:
    with pytest.raises(Forbidden, match="owner"):
        patch(queued(), op("replace", "/owner", "proj-b"))
    event = image_patch.update(queued(), [op("replace", "/owner", "proj-b")], request_id="p",
                               at=AT, project_id="proj-admin", is_admin=True)
    assert event is not None and image.evolve(queued(), event, IMAGE_ID).owner == "proj-b"


def test_a_patch_that_changes_nothing_writes_nothing() -> None:
    assert patch(queued(), op("replace", "/name", "img"), op("add", "/os_distro", "cirros")) \
        is None


@pytest.mark.parametrize("path", ["/status", "/checksum", "/size", "/id",
                                  "/created_at", "/file", "/self"])
def test_a_read_only_attribute_is_refused_with_403(path: str) -> None:
    with pytest.raises(Forbidden, match="is read-only"):
        patch(queued(), op("replace", path, "x"))


def test_an_attribute_of_the_image_may_not_be_removed_nor_a_missing_property_touched() -> None:
    with pytest.raises(Forbidden, match="Property name may not be removed"):
        patch(queued(), op("remove", "/name"))
    with pytest.raises(InvalidState, match="Property nope does not exist"):
        patch(queued(), op("remove", "/nope"))
    with pytest.raises(InvalidState, match="Property nope does not exist"):
        patch(queued(), op("replace", "/nope", "x"))


@pytest.mark.parametrize(("operation", "words"), [
    (op("replace", "/min_disk", "ten"), "min_disk"),
    (op("replace", "/min_disk", -1), "min_disk"),
    (op("replace", "/protected", "yes"), "protected"),
    (op("replace", "/visibility", "everyone"), "visibility"),
    (op("replace", "/disk_format", "floppy"), "disk_format"),
    (op("add", "/os_distro", 7), "os_distro"),
    (op("replace", "/tags", "one"), "tags"),
    (op("move", "/name", "x"), "Invalid operation"),
    (Operation(op="add", path="/name"), 'requires a member named "value"'),
    (op("add", "name", "x"), 'does not start with "/"'),
    (op("add", "/a/b", "x"), "Invalid JSON pointer"),
])
def test_a_malformed_operation_or_a_value_the_schema_refuses_is_400(operation: Operation,
                                                                   words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        patch(queued(), operation)


def test_only_the_owner_or_an_admin_patches_and_only_an_admin_publishes() -> None:
    with pytest.raises(Forbidden, match="not permitted to modify"):
        patch(queued(), op("replace", "/name", "x"), project="proj-b")
    with pytest.raises(Forbidden, match="publicize_image"):
        patch(queued(), op("replace", "/visibility", "public"))
    event = patch(queued(), op("replace", "/visibility", "public"), project="x", admin=True)
    assert event is not None and event.visibility == "public"


def test_formats_change_only_while_the_image_has_no_data() -> None:
    event = patch(queued(), op("replace", "/disk_format", "qcow2"))
    assert event is not None and event.disk_format == "qcow2"
    with pytest.raises(Forbidden, match="only replaced for a queued image"):
        patch(active(), op("replace", "/disk_format", "qcow2"))


def test_one_property_past_the_quota_is_413() -> None:
    ops = [op("add", f"/p{n}", "v") for n in range(image_patch.PROPERTY_QUOTA)]
    with pytest.raises(TooLarge):
        patch(queued(), *ops)


def test_tags_are_added_once_and_a_missing_one_cannot_be_removed() -> None:
    state = queued()
    added = image_changes.add_tag(state, "two", request_id="t", at=AT, project_id=OWNER,
                                  is_admin=False)
    assert added is not None
    state = image.evolve(state, added, IMAGE_ID)
    assert state.tags == ("one", "two")
    assert image_changes.add_tag(state, "two", request_id="t2", at=AT, project_id=OWNER,
                                 is_admin=False) is None
    removed = image_changes.remove_tag(state, "one", request_id="r", at=AT, project_id=OWNER,
                                       is_admin=False)
    assert image.evolve(state, removed, IMAGE_ID).tags == ("two",)
    with pytest.raises(NotFound, match="Tag nope not found"):
        image_changes.remove_tag(state, "nope", request_id="r", at=AT, project_id=OWNER,
                                 is_admin=False)
    with pytest.raises(Forbidden):
        image_changes.add_tag(state, "x", request_id="t", at=AT, project_id="proj-b",
                              is_admin=False)


def test_an_admin_deactivates_an_active_image_and_reactivates_it() -> None:
    admin: dict[str, Any] = {"project_id": "proj-admin", "is_admin": True}
    with pytest.raises(Forbidden, match="deactivate"):
        image_changes.deactivate(active(), request_id="d", at=AT, project_id="proj-b",
                                 is_admin=False)
    with pytest.raises(Forbidden, match="status 'queued'"):
        image_changes.deactivate(queued(), request_id="d", at=AT, **admin)
    off = image_changes.deactivate(active(), request_id="d", at=AT, **admin)
    assert off is not None
    state = image.evolve(active(), off, IMAGE_ID)
    assert state.status == "deactivated"
    assert image_changes.deactivate(state, request_id="d2", at=AT, **admin) is None
    with pytest.raises(Forbidden, match="deactivated"):
        image_changes.downloadable(state.status, is_admin=False)
    image_changes.downloadable(state.status, is_admin=True)
    on = image_changes.reactivate(state, request_id="r", at=AT, **admin)
    assert on is not None and image.evolve(state, on, IMAGE_ID).status == "active"
    with pytest.raises(Forbidden, match="status 'queued'"):
        image_changes.reactivate(queued(), request_id="r", at=AT, **admin)


def test_its_owner_deactivates_and_reactivates_an_image() -> None:
    off = image_changes.deactivate(active(), request_id="d", at=AT, project_id=OWNER,
                                   is_admin=False)
    assert off is not None
    state = image.evolve(active(), off, IMAGE_ID)
    on = image_changes.reactivate(state, request_id="r", at=AT, project_id=OWNER,
                                  is_admin=False)
    assert on is not None and image.evolve(state, on, IMAGE_ID).status == "active"


def member_added(state: image.ImageState, member: str) -> image.ImageState:
    event = image_members.add_member(state, member, request_id="m", at=AT, project_id=OWNER,
                                     is_admin=False)
    return image.evolve(state, event, IMAGE_ID)


def test_a_shared_image_is_seen_by_its_members_and_answered_by_them_alone() -> None:
    state = queued(visibility="shared")
    assert not image.visible(state, "proj-b", is_admin=False)
    state = member_added(state, "proj-b")
    assert state.members["proj-b"].status == "pending"
    assert image.visible(state, "proj-b", is_admin=False)
    with pytest.raises(Forbidden, match="only the member itself"):
        image_members.change_status(state, "proj-b", "accepted", request_id="s", at=AT,
                                    project_id=OWNER, is_admin=False)
    with pytest.raises(InvalidInput, match="status"):
        image_members.change_status(state, "proj-b", "maybe", request_id="s", at=AT,
                                    project_id="proj-b", is_admin=False)
    changed = image_members.change_status(state, "proj-b", "accepted", request_id="s", at=AT,
                                          project_id="proj-b", is_admin=False)
    assert changed is not None
    state = image.evolve(state, changed, IMAGE_ID)
    assert state.members["proj-b"].status == "accepted"
    with pytest.raises(Conflict, match="already a member"):
        member_added(state, "proj-b")
    with pytest.raises(Forbidden):
        image_members.remove_member(state, "proj-b", request_id="x", at=AT,
                                    project_id="proj-b", is_admin=False)
    removed = image_members.remove_member(state, "proj-b", request_id="x", at=AT,
                                          project_id=OWNER, is_admin=False)
    state = image.evolve(state, removed, IMAGE_ID)
    assert state.members == {} and not image.visible(state, "proj-b", is_admin=False)
    with pytest.raises(NotFound, match="not a member"):
        image_members.remove_member(state, "proj-b", request_id="x", at=AT, project_id=OWNER,
                                    is_admin=False)


def test_only_a_shared_image_has_members() -> None:
    with pytest.raises(Forbidden, match="only shared images have members"):
        member_added(queued(), "proj-b")


def test_community_images_are_seen_by_everyone_private_ones_by_their_owner() -> None:
    assert image.visible(queued(visibility="community"), "proj-z", is_admin=False)
    assert not image.visible(queued(), "proj-z", is_admin=False)
    assert image.visible(queued(), OWNER, is_admin=False)
