"""Identity decisions: names, passwords, roles and logins, without a store."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain import identity as model
from domain.errors import InvalidState, NotFound, Unauthorized

AT = datetime(2026, 1, 1, tzinfo=UTC)


def a_user(password: str = "s3cret") -> model.User:
    uid = str(model.aggregate_id("user", "alice"))
    return model.evolve_user(None, model.UserCreated(
        request_id="r1", name="alice", password_hash=model.hash_password(password, b"salt" * 4),
        at=AT), uid)


def a_project(name: str = "web") -> model.Project:
    pid = str(model.aggregate_id("project", name))
    return model.evolve_project(None, model.ProjectCreated(request_id="r", name=name, at=AT), pid)


def test_a_password_is_stored_as_a_salted_scrypt_hash_that_verifies() -> None:
    stored = model.hash_password("s3cret", b"0123456789abcdef")
    assert stored.startswith("scrypt$") and "s3cret" not in stored
    assert model.password_matches(stored, "s3cret")
    assert not model.password_matches(stored, "wrong")
    assert model.hash_password("s3cret", b"another-salt-16b") != stored


def test_a_garbled_hash_never_matches() -> None:
    assert not model.password_matches("not-a-hash", "anything")


def test_ids_come_from_names_and_look_like_keystone_ids() -> None:
    assert model.keystone_id("project", "web") == model.aggregate_id("project", "web").hex
    assert len(model.keystone_id("user", "alice")) == 32
    assert model.keystone_id("user", "web") != model.keystone_id("project", "web")


def test_a_second_create_of_a_live_name_is_a_conflict() -> None:
    with pytest.raises(InvalidState, match="Duplicate entry found with name alice"):
        model.create_user(a_user(), request_id="r2", name="alice", password_hash="x",
                          default_project_id=None, at=AT)
    with pytest.raises(InvalidState, match="Duplicate entry found with name web"):
        model.create_project(a_project(), request_id="r2", name="web", description="", at=AT)


def test_a_deleted_user_name_can_be_used_again_with_no_roles_left() -> None:
    user = a_user()
    project = a_project()
    granted = model.grant(user, project.id, "member", request_id="g", at=AT)
    assert granted is not None
    user = model.evolve_user(user, granted, "")
    user = model.evolve_user(user, model.UserDeleted(request_id="d", at=AT), "")
    assert user.roles_on(project.id) == []
    again = model.create_user(user, request_id="r3", name="alice", password_hash="h",
                              default_project_id=None, at=AT)
    assert again.name == "alice"


def test_granting_a_held_role_records_nothing_and_revoking_an_unheld_one_is_not_found() -> None:
    user, project = a_user(), a_project()
    event = model.grant(user, project.id, "member", request_id="g1", at=AT)
    assert event is not None
    user = model.evolve_user(user, event, "")
    assert model.grant(user, project.id, "member", request_id="g2", at=AT) is None
    with pytest.raises(NotFound, match="Could not find role assignment"):
        model.revoke(user, project.id, "admin", request_id="r", at=AT)
    user = model.evolve_user(user, model.revoke(user, project.id, "member", request_id="r",
                                                at=AT), "")
    assert user.roles_on(project.id) == []


def test_the_seeds_role_names_map_to_keystone_names() -> None:
    assert model.role_named("cloudadmin") == "admin"
    assert model.role_named("netadmin") == "netadmin"
    assert model.role_named(model.role_id("member")) == "member"
    with pytest.raises(NotFound, match="Could not find role: wizard"):
        model.role_named("wizard")


def test_a_login_needs_the_right_password_and_a_role_on_the_project() -> None:
    user, project = a_user("s3cret"), a_project()
    with pytest.raises(Unauthorized):
        model.authorise(user, project, "wrong", "web")
    with pytest.raises(Unauthorized, match="has no access to project"):
        model.authorise(user, project, "s3cret", "web")
    with pytest.raises(Unauthorized):
        model.authorise(None, project, "s3cret", "web")
    grant = model.grant(user, project.id, "member", request_id="g", at=AT)
    assert grant is not None
    user = model.evolve_user(user, grant, "")
    assert model.authorise(user, project, "s3cret", "web") == ["member", "reader"]
    deleted = model.evolve_project(project, model.ProjectDeleted(request_id="d", at=AT), "")
    with pytest.raises(Unauthorized, match="Could not find project"):
        model.authorise(user, deleted, "s3cret", "web")
