"""Identity commands: projects, users, role assignments, logins and logouts.

Every decision reads the project and user aggregates from the event store,
never a view. Ids come from names (``domain.identity.aggregate_id``), so a
second create of a name conflicts at version 1 and exactly one of two racing
creates wins. A request id already in an aggregate's history returns what is
there and writes nothing; ``ensure_admin`` uses fixed request ids so that a
second start of the cloud writes nothing at all.

``authenticate`` is also what a query-only API process uses to issue tokens:
it only loads aggregates, so it works over any ``NimbusApplication``.
"""

from __future__ import annotations

import secrets
import uuid

import msgspec

from commands.application import Aggregate, NimbusApplication, retrying
from domain import identity as model
from domain.errors import InvalidInput, NotFound


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who logged in, scoped to which project, holding which roles there."""

    user_id: str
    user_name: str
    project_id: str
    project_name: str
    roles: list[str]


class Written(msgspec.Struct, frozen=True, kw_only=True):
    """The log position of what a command wrote; None when it wrote nothing."""

    position: int | None


def _uuid(ref: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(ref)
    except ValueError:
        return None


class IdentityCommands:
    def __init__(self, app: NimbusApplication) -> None:
        self.app = app

    # ---- lookups on the write side --------------------------------------

    def _aggregate(self, kind: str, ref: str) -> Aggregate | None:
        """The aggregate of a project or user named ``ref`` by id or by name."""
        by_id = _uuid(ref)
        if by_id is not None:
            found = self.app.load(by_id)
            if found is not None and found.kind == kind:
                return found
        found = self.app.load(model.aggregate_id(kind, ref))
        return found if found is not None and found.kind == kind else None

    def project(self, ref: str) -> model.Project:
        found = self._aggregate("project", ref)
        return model.live_project(found.state if found else None, ref)

    def user(self, ref: str) -> model.User:
        found = self._aggregate("user", ref)
        return model.live_user(found.state if found else None, ref)

    # ---- logins ----------------------------------------------------------

    def authenticate(self, *, user_ref: str, password: str, project_ref: str | None) -> Principal:
        """Check a password login against the user aggregate; Unauthorized if wrong."""
        found = self._aggregate("user", user_ref)
        user: model.User | None = found.state if found else None
        if project_ref is None and user is not None:
            project_ref = user.default_project_id
        project_found = self._aggregate("project", project_ref) if project_ref else None
        project: model.Project | None = project_found.state if project_found else None
        roles = model.authorise(user, project, password, project_ref or "(none given)")
        assert user is not None and project is not None
        return Principal(user_id=user.id, user_name=user.name, project_id=project.id,
                         project_name=project.name, roles=roles)

    def revoke_token(self, *, audit_id: str, user_id: str, project_id: str) -> Written:
        """Record a logout; giving up a token twice writes nothing the second time."""
        token_id = model.aggregate_id("token", audit_id)

        def attempt() -> Written:
            if self.app.load(token_id) is not None:
                return Written(position=None)
            aggregate = Aggregate(token_id, model.TokenEvent.aggregate)
            aggregate.record(model.TokenRevoked(
                request_id=f"revoke-{audit_id}", audit_id=audit_id, user_id=user_id,
                project_id=project_id, at=self.app.clock()))
            return Written(position=self.app.commit(aggregate))

        return retrying(attempt)

    # ---- projects --------------------------------------------------------

    def create_project(self, *, request_id: str, name: str,
                       description: str = "") -> tuple[model.Project, Written]:
        name = model.valid_name("project", name)
        project_id = model.aggregate_id("project", name)

        def attempt() -> tuple[model.Project, Written]:
            found = self.app.load(project_id)
            if found is not None and request_id in found.requests:
                return found.state, Written(position=None)
            aggregate = found or Aggregate(project_id, model.ProjectEvent.aggregate)
            aggregate.record(model.create_project(
                found.state if found else None, request_id=request_id, name=name,
                description=description, at=self.app.clock()))
            return aggregate.state, Written(position=self.app.commit(aggregate))

        return retrying(attempt)

    def delete_project(self, *, request_id: str, ref: str) -> Written:
        def attempt() -> Written:
            found = self._aggregate("project", ref)
            if found is not None and request_id in found.requests:
                return Written(position=None)
            model.live_project(found.state if found else None, ref)
            assert found is not None
            found.record(model.ProjectDeleted(request_id=request_id, at=self.app.clock()))
            return Written(position=self.app.commit(found))

        return retrying(attempt)

    # ---- users -----------------------------------------------------------

    def create_user(self, *, request_id: str, name: str, password: str,
                    default_project: str | None = None) -> tuple[model.User, Written]:
        name = model.valid_name("user", name)
        if not password:
            raise InvalidInput("Invalid input for field 'user.password': must not be empty.")
        default_project_id = self.project(default_project).id if default_project else None
        password_hash = model.hash_password(password, secrets.token_bytes(16))
        user_id = model.aggregate_id("user", name)

        def attempt() -> tuple[model.User, Written]:
            found = self.app.load(user_id)
            if found is not None and request_id in found.requests:
                return found.state, Written(position=None)
            aggregate = found or Aggregate(user_id, model.UserEvent.aggregate)
            aggregate.record(model.create_user(
                found.state if found else None, request_id=request_id, name=name,
                password_hash=password_hash, default_project_id=default_project_id,
                at=self.app.clock()))
            return aggregate.state, Written(position=self.app.commit(aggregate))

        return retrying(attempt)

    def change_password(self, *, request_id: str, ref: str, password: str) -> Written:
        if not password:
            raise InvalidInput("Invalid input for field 'user.password': must not be empty.")
        password_hash = model.hash_password(password, secrets.token_bytes(16))

        def attempt() -> Written:
            found = self._aggregate("user", ref)
            if found is not None and request_id in found.requests:
                return Written(position=None)
            model.live_user(found.state if found else None, ref)
            assert found is not None
            found.record(model.UserPasswordChanged(request_id=request_id,
                                                   password_hash=password_hash,
                                                   at=self.app.clock()))
            return Written(position=self.app.commit(found))

        return retrying(attempt)

    def delete_user(self, *, request_id: str, ref: str) -> Written:
        def attempt() -> Written:
            found = self._aggregate("user", ref)
            if found is not None and request_id in found.requests:
                return Written(position=None)
            model.live_user(found.state if found else None, ref)
            assert found is not None
            found.record(model.UserDeleted(request_id=request_id, at=self.app.clock()))
            return Written(position=self.app.commit(found))

        return retrying(attempt)

    # ---- roles -----------------------------------------------------------

    def grant(self, *, request_id: str, user_ref: str, project_ref: str, role: str) -> Written:
        """Give ``user`` ``role`` on ``project``; holding it already writes nothing."""
        role = model.role_named(role)
        project = self.project(project_ref)

        def attempt() -> Written:
            found = self._aggregate("user", user_ref)
            user = model.live_user(found.state if found else None, user_ref)
            assert found is not None
            event = model.grant(user, project, role, request_id=request_id,
                                at=self.app.clock())
            if event is None:
                return Written(position=None)
            found.record(event)
            return Written(position=self.app.commit(found))

        return retrying(attempt)

    def revoke_role(self, *, request_id: str, user_ref: str, project_ref: str,
                    role: str) -> Written:
        role = model.role_named(role)

        def attempt() -> Written:
            found = self._aggregate("user", user_ref)
            user = model.live_user(found.state if found else None, user_ref)
            assert found is not None
            if request_id in found.requests:
                return Written(position=None)
            project_found = self._aggregate("project", project_ref)
            if project_found is None:
                raise NotFound(f"Could not find project: {project_ref}.")
            project_id: str = project_found.state.id
            found.record(model.revoke(user, project_id, role, request_id=request_id,
                                      at=self.app.clock()))
            return Written(position=self.app.commit(found))

        return retrying(attempt)

    # ---- the first admin -------------------------------------------------

    def ensure_admin(self, *, user: str, project: str, password: str) -> None:
        """Make sure the cloud's first admin exists, can log in with ``password``
        and holds admin and member on its project. Idempotent: fixed request
        ids, and nothing is written when all of it is already so."""
        try:
            self.project(project)
        except NotFound:
            self.create_project(request_id=f"ensure-admin-project-{project}", name=project,
                                description="The cloud administrators' project")
        try:
            admin = self.user(user)
        except NotFound:
            admin, _ = self.create_user(request_id=f"ensure-admin-user-{user}", name=user,
                                        password=password, default_project=project)
        if not model.password_matches(admin.password_hash, password):
            self.change_password(request_id=f"ensure-admin-password-{uuid.uuid4()}", ref=user,
                                 password=password)
        for role in ("admin", "member"):
            self.grant(request_id=f"ensure-admin-role-{project}-{role}", user_ref=user,
                       project_ref=project, role=role)
