"""Identity commands on the real event store: unique names, idempotency, races."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

from commands.application import NimbusApplication
from commands.identity import IdentityCommands
from domain.errors import InvalidState, NotFound, Unauthorized


@pytest.fixture
def identity(database_url: str) -> Iterator[IdentityCommands]:
    app = NimbusApplication(database_url)
    yield IdentityCommands(app)
    app.close()


def events_in_log(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM nimbus_events").fetchone()
        assert row is not None
        return int(row[0])


def test_a_second_create_of_the_same_name_is_refused(identity: IdentityCommands) -> None:
    identity.create_project(request_id="r1", name="web")
    with pytest.raises(InvalidState, match="Duplicate entry"):
        identity.create_project(request_id="r2", name="web")
    identity.create_user(request_id="u1", name="alice", password="pw")
    with pytest.raises(InvalidState, match="Duplicate entry"):
        identity.create_user(request_id="u2", name="alice", password="pw")


def test_a_repeated_request_returns_the_first_result_and_writes_nothing(
        identity: IdentityCommands, database_url: str) -> None:
    written = identity.create_project(request_id="r1", name="web")
    first = written.state
    assert written.position is not None
    before = events_in_log(database_url)
    rewritten = identity.create_project(request_id="r1", name="web")
    again = rewritten.state
    assert again.id == first.id and rewritten.position is None
    assert events_in_log(database_url) == before


def test_the_password_never_reaches_the_log(identity: IdentityCommands,
                                            database_url: str) -> None:
    identity.create_user(request_id="u1", name="alice", password="correct-horse-battery")
    with psycopg.connect(database_url) as conn:
        states = [bytes(r[0]) for r in conn.execute("SELECT state FROM nimbus_events")]
    assert states and not any(b"correct-horse-battery" in s for s in states)
    assert any(b"scrypt$" in s for s in states)


def test_concurrent_creates_of_one_name_have_exactly_one_winner(database_url: str) -> None:
    apps = [NimbusApplication(database_url) for _ in range(6)]
    try:
        def create(i: int) -> str:
            try:
                IdentityCommands(apps[i]).create_project(request_id=f"r{i}", name="race")
                return "won"
            except InvalidState:
                return "lost"

        with ThreadPoolExecutor(len(apps)) as pool:
            outcomes = list(pool.map(create, range(len(apps))))
    finally:
        for app in apps:
            app.close()
    assert sorted(outcomes) == ["lost"] * 5 + ["won"]
    assert events_in_log(database_url) == 1


def test_a_login_needs_a_role_on_the_project(identity: IdentityCommands) -> None:
    project = identity.create_project(request_id="p", name="web").state
    identity.create_user(request_id="u", name="alice", password="pw")
    with pytest.raises(Unauthorized, match="has no access"):
        identity.authenticate(user_ref="alice", password="pw", project_ref="web")
    identity.grant(request_id="g", user_ref="alice", project_ref="web", role="member")
    who = identity.authenticate(user_ref="alice", password="pw", project_ref=project.id)
    assert (who.project_name, who.roles) == ("web", ["member", "reader"])
    with pytest.raises(Unauthorized):
        identity.authenticate(user_ref="alice", password="nope", project_ref="web")


def test_granting_to_a_missing_project_or_user_is_not_found(identity: IdentityCommands) -> None:
    identity.create_user(request_id="u", name="alice", password="pw")
    with pytest.raises(NotFound, match="Could not find project: nowhere"):
        identity.grant(request_id="g", user_ref="alice", project_ref="nowhere", role="member")
    identity.create_project(request_id="p", name="web")
    with pytest.raises(NotFound, match="Could not find user: bob"):
        identity.grant(request_id="g", user_ref="bob", project_ref="web", role="member")


def test_ensure_admin_a_second_time_writes_nothing(identity: IdentityCommands,
                                                  database_url: str) -> None:
    identity.ensure_admin(user="admin", project="admin", password="pw")
    written = events_in_log(database_url)
    assert written == 5  # project, user, admin and member roles on it, admin on the system
    identity.ensure_admin(user="admin", project="admin", password="pw")
    assert events_in_log(database_url) == written
    who = identity.authenticate(user_ref="admin", password="pw", project_ref="admin")
    assert sorted(who.roles) == ["admin", "manager", "member", "reader"]


def test_ensure_admin_takes_a_changed_admin_password(identity: IdentityCommands) -> None:
    identity.ensure_admin(user="admin", project="admin", password="old")
    identity.ensure_admin(user="admin", project="admin", password="new")
    identity.authenticate(user_ref="admin", password="new", project_ref="admin")
    with pytest.raises(Unauthorized):
        identity.authenticate(user_ref="admin", password="old", project_ref="admin")
