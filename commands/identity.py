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
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

import msgspec

from commands.application import Aggregate, Change, NimbusApplication, Written
from commands.identity_app_credentials import AppCredentialCommands
from commands.identity_catalog import CatalogCommands
from commands.identity_credentials import CredentialCommands
from commands.identity_groups import GroupCommands, RoleCommands
from domain import identity as model
from domain import identity_roles as roles
from domain.errors import NotFound, Unauthorized
from domain.registry import DOMAIN, GROUP, PROJECT, ROLE, TOKEN, USER, Kind

S = TypeVar("S")


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """Who logged in, scoped to which project (or the system), holding which roles there."""

    user_id: str
    user_name: str
    project_id: str
    project_name: str
    roles: list[str]
    system: bool = False
    user_domain: tuple[str, str] = (model.DEFAULT_DOMAIN_ID, model.DEFAULT_DOMAIN_NAME)
    project_domain: tuple[str, str] = (model.DEFAULT_DOMAIN_ID, model.DEFAULT_DOMAIN_NAME)


def _uuid(ref: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(ref)
    except ValueError:
        return None


class IdentityCommands:
    def __init__(self, app: NimbusApplication) -> None:
        self.app = app
        self.roles = RoleCommands(self)
        self.groups = GroupCommands(self)
        self.catalog = CatalogCommands(app)
        self.credentials = CredentialCommands(app)
        self.app_credentials = AppCredentialCommands(self)

    # ---- lookups on the write side --------------------------------------

    def _aggregate(self, kind: Kind[S], ref: str,
                   domain_id: str = model.DEFAULT_DOMAIN_ID) -> Aggregate[S]:
        """The domain, project or user named ``ref`` by id or by name in
        ``domain_id`` (empty if none)."""
        by_id = _uuid(ref)
        found = self.app.find(kind, by_id) if by_id is not None else None
        return found or self._named(kind, ref, domain_id)

    def _named(self, kind: Kind[S], name: str,
               domain_id: str = model.DEFAULT_DOMAIN_ID) -> Aggregate[S]:
        """The domain, project or user of that name (empty if none): its id comes from it."""
        if kind is DOMAIN:
            return self.app.load_or_new(model.aggregate_id("domain", name), kind)
        return self.app.load_or_new(model.member_id(kind.name, name, domain_id), kind)

    def domain(self, ref: str) -> model.Domain:
        """A domain that exists; the Default one always does."""
        if ref in (model.DEFAULT_DOMAIN_ID, model.DEFAULT_DOMAIN_NAME):
            return model.Domain(id=model.DEFAULT_DOMAIN_ID, name=model.DEFAULT_DOMAIN_NAME)
        return model.live_domain(self._aggregate(DOMAIN, ref).current, ref)

    def _open_domain(self, ref: str) -> str:
        """The id of a domain things may be made in."""
        domain = self.domain(ref)
        return model.open_domain(domain, ref).id

    def project(self, ref: str) -> model.Project:
        return model.live_project(self._aggregate(PROJECT, ref).current, ref)

    def user(self, ref: str) -> model.User:
        return model.live_user(self._aggregate(USER, ref).current, ref)

    def role_key(self, ref: str) -> str:
        """What a grant records of the role ``ref`` (a name or an id): a default
        role's name, or a live custom role's id; NotFound otherwise."""
        try:
            return model.role_named(ref)
        except NotFound:
            by_id = _uuid(ref)
            found = self.app.find(ROLE, by_id) if by_id is not None else None
            if found is None:
                found = self._named(ROLE, ref)
            return roles.live_role(found.current, ref).id

    def effective_roles(self, keys: list[str]) -> list[roles.CustomRole | str]:
        """The roles granted as ``keys`` and those they imply, each once: a
        default role by name, a live custom role as itself."""
        found: list[roles.CustomRole | str] = []
        seen: set[str] = set()
        todo = list(keys)
        while todo:
            key = todo.pop(0)
            if key in seen:
                continue
            seen.add(key)
            if key in model.ROLES:
                found.append(key)
                todo.extend(model.with_implied([key])[1:])
                continue
            by_id = _uuid(key)
            aggregate = self.app.find(ROLE, by_id) if by_id is not None else None
            role = aggregate.current if aggregate is not None else None
            if role is not None and not role.deleted:
                found.append(role)
                todo.extend(role.implies)
        return found

    def role_names(self, keys: list[str]) -> list[str]:
        """The names a token shows of the roles granted as ``keys`` and of
        those they imply. A deleted custom role is no role; a domain's role
        is not shown (Keystone's tokens carry only what it implies)."""
        return [r if isinstance(r, str) else r.name for r in self.effective_roles(keys)
                if isinstance(r, str) or r.domain_id is None]

    def held_keys(self, user: model.User, project: model.Project) -> list[str]:
        """What the user holds on the project in effect, as grants name roles."""
        held = [*user.roles_on(project.id), *self._extra_roles(user, project)]
        return [r if isinstance(r, str) else r.id for r in self.effective_roles(held)]

    def _extra_roles(self, user: model.User, project: model.Project) -> list[str]:
        """What a user holds on a project besides their own grants there: their
        groups' grants, and the grants its domain passes on (OS-INHERIT)."""
        inherited = model.inherited_scope(model.domain_scope(project.domain_id))
        return [*user.roles_on(inherited), *self.group_roles(user, project.id),
                *self.group_roles(user, inherited)]

    def group_roles(self, user: model.User, scope: str) -> list[str]:
        """What the user's groups hold on ``scope``."""
        held: list[str] = []
        for group_id in user.groups:
            found = self.app.find(GROUP, uuid.UUID(group_id))
            if found is not None and found.current is not None:
                held.extend(found.current.roles_on(scope))
        return held

    # ---- logins ----------------------------------------------------------

    def authenticate(self, *, user_ref: str, password: str, project_ref: str | None,
                     unscoped: bool = False, user_domain: str = model.DEFAULT_DOMAIN_ID,
                     project_domain: str = model.DEFAULT_DOMAIN_ID) -> Principal:
        """Check a password login against the user aggregate; Unauthorized if wrong.
        With no project named, the token is scoped to the user's default project,
        or to none (an unscoped token, as Keystone gives) when there is none.
        Names are looked up in the domains named (ids or names)."""
        user = model.authenticated(
            self._aggregate(USER, user_ref, self._login_domain(user_domain)).current, password)
        self._login_domain(user.domain_id)
        if project_ref is None and not unscoped:
            project_ref = user.default_project_id
        if project_ref is None:
            return Principal(user_id=user.id, user_name=user.name, project_id="",
                             project_name="", roles=[], user_domain=self._named_domain(
                                 user.domain_id))
        return self.scope(user_id=user.id, project_ref=project_ref,
                          project_domain=project_domain)

    def authenticate_system(self, *, user_ref: str, password: str,
                            user_domain: str = model.DEFAULT_DOMAIN_ID) -> Principal:
        """A password login scoped to the system (Keystone's system scope)."""
        user = model.authenticated(
            self._aggregate(USER, user_ref, self._login_domain(user_domain)).current, password)
        return self.scope_system(user_id=user.id)

    def scope_system(self, *, user_id: str) -> Principal:
        user = self._aggregate(USER, user_id).current
        held = model.system_roles(
            user, self.group_roles(user, model.SYSTEM) if user is not None else ())
        assert user is not None
        return Principal(user_id=user.id, user_name=user.name, project_id="",
                         project_name="", roles=self.role_names(held), system=True,
                         user_domain=self._named_domain(user.domain_id))

    def _login_domain(self, ref: str) -> str:
        """The id of an enabled domain to log in within; Unauthorized otherwise."""
        try:
            domain = self.domain(ref)
        except NotFound:
            raise Unauthorized("The request you have made requires authentication."
                                     ) from None
        if not domain.enabled:
            raise Unauthorized(f"Domain {domain.id} is disabled.")
        return domain.id

    def scope(self, *, user_id: str, project_ref: str,
              project_domain: str = model.DEFAULT_DOMAIN_ID) -> Principal:
        """A token of an authenticated user scoped to a project (Keystone's
        ``token`` method): the roles the user holds there now."""
        user = self._aggregate(USER, user_id).current
        project = self._aggregate(PROJECT, project_ref, self._login_domain(project_domain)).current
        if project is not None:
            self._login_domain(project.domain_id)
        extra = self._extra_roles(user, project) if (
            user is not None and project is not None) else []
        held = model.roles_on(user, project, project_ref, extra)
        assert user is not None and project is not None
        return Principal(user_id=user.id, user_name=user.name, project_id=project.id,
                         project_name=project.name, roles=self.role_names(held),
                         user_domain=self._named_domain(user.domain_id),
                         project_domain=self._named_domain(project.domain_id))

    def _named_domain(self, domain_id: str) -> tuple[str, str]:
        """A domain's (id, name), as a token shows it."""
        try:
            return domain_id, self.domain(domain_id).name
        except NotFound:
            return domain_id, domain_id

    def revoke_token(self, *, audit_id: str, user_id: str,
                     project_id: str) -> Written[model.RevokedToken]:
        """Record a logout; giving up a token twice writes nothing the second time."""
        request_id = f"revoke-{audit_id}"
        return self.app.execute(
            request_id, lambda: self._named(TOKEN, audit_id),
            lambda token, at: [(token, model.revoke_token(
                token.current, request_id=request_id, audit_id=audit_id, user_id=user_id,
                project_id=project_id, at=at))])

    # ---- domains ---------------------------------------------------------

    def create_domain(self, *, request_id: str, name: str, description: str = "",
                      enabled: bool = True) -> Written[model.Domain]:
        name = model.valid_name("domain", name)
        return self.app.execute(
            request_id, lambda: self._named(DOMAIN, name),
            lambda domain, at: [(domain, model.create_domain(
                domain.current, request_id=request_id, name=name, description=description,
                enabled=enabled, at=at))])

    def update_domain(self, *, request_id: str, ref: str, name: str | None = None,
                      description: str | None = None,
                      enabled: bool | None = None) -> Written[model.Domain]:
        return self.app.execute(
            request_id, lambda: self._aggregate(DOMAIN, ref),
            lambda domain, at: [(domain, model.update_domain(
                domain.current, ref, request_id=request_id, at=at, name=name,
                description=description, enabled=enabled))])

    def delete_domain(self, *, request_id: str, ref: str) -> Written[model.Domain]:
        """A disabled domain; its projects and users are the caller's to delete first."""
        return self.app.execute(
            request_id, lambda: self._aggregate(DOMAIN, ref),
            lambda domain, at: [(domain, model.delete_domain(
                domain.current, ref, request_id=request_id, at=at))])

    # ---- projects --------------------------------------------------------

    def create_project(self, *, request_id: str, name: str, description: str = "",
                       domain: str = model.DEFAULT_DOMAIN_ID, enabled: bool = True,
                       tags: list[str] | None = None) -> Written[model.Project]:
        """A new project (with ``tags``: and its tags, in the same commit)."""
        name = model.valid_name("project", name)
        domain_id = self._open_domain(domain)

        def decide(project: Aggregate[model.Project], at: datetime) -> list[Change]:
            created = model.create_project(
                project.current, request_id=request_id, name=name, description=description,
                domain_id=domain_id, enabled=enabled, at=at)
            if not tags:
                return [(project, created)]
            made = model.evolve_project(None, created, str(project.id))
            return [(project, [created, model.set_project_tags(
                made, name, tags, request_id=request_id, at=at)])]
        return self.app.execute(request_id, lambda: self._named(PROJECT, name, domain_id),
                                decide)

    def delete_project(self, *, request_id: str, ref: str) -> Written[model.Project]:
        return self.app.execute(
            request_id, lambda: self._aggregate(PROJECT, ref),
            lambda project, at: [(project, model.delete_project(
                project.current, ref, request_id=request_id, at=at))])

    def update_project(self, *, request_id: str, ref: str, name: str | None = None,
                       description: str | None = None,
                       enabled: bool | None = None) -> Written[model.Project]:
        return self.app.execute(
            request_id, lambda: self._aggregate(PROJECT, ref),
            lambda project, at: [(project, model.update_project(
                project.current, ref, request_id=request_id, at=at, name=name,
                description=description, enabled=enabled))])

    def change_project_tags(self, *, request_id: str, ref: str,
                            change: Callable[[tuple[str, ...]], list[str]]
                            ) -> Written[model.Project]:
        """Set the tags ``change`` makes of the current ones (replace, add, remove)."""
        def decide(project: Aggregate[model.Project], at: datetime) -> list[Change]:
            current = model.live_project(project.current, ref)
            return [(project, model.set_project_tags(
                current, ref, change(current.tags), request_id=request_id, at=at))]
        return self.app.execute(request_id, lambda: self._aggregate(PROJECT, ref), decide)

    # ---- users -----------------------------------------------------------

    def create_user(self, *, request_id: str, name: str, password: str,
                    default_project: str | None = None,
                    domain: str = model.DEFAULT_DOMAIN_ID, email: str | None = None,
                    description: str | None = None,
                    enabled: bool = True) -> Written[model.User]:
        name = model.valid_name("user", name)
        password = model.valid_password(password)
        domain_id = self._open_domain(domain)
        default_project_id = self.project(default_project).id if default_project else None
        password_hash = _hash(password)
        return self.app.execute(
            request_id, lambda: self._named(USER, name, domain_id),
            lambda user, at: [(user, model.create_user(
                user.current, request_id=request_id, name=name, password_hash=password_hash,
                default_project_id=default_project_id, domain_id=domain_id, email=email,
                description=description, enabled=enabled, at=at))])

    def update_user(self, *, request_id: str, ref: str, email: str | None = None,
                    description: str | None = None,
                    enabled: bool | None = None) -> Written[model.User]:
        return self.app.execute(
            request_id, lambda: self._aggregate(USER, ref),
            lambda user, at: [(user, model.update_user(
                user.current, ref, request_id=request_id, at=at, email=email,
                description=description, enabled=enabled))])

    def change_own_password(self, *, request_id: str, ref: str, original: str,
                            password: str) -> Written[model.User]:
        """A user's own change (POST /users/{id}/password): the original must match."""
        password_hash = _hash(password)
        return self.app.execute(
            request_id, lambda: self._aggregate(USER, ref),
            lambda user, at: [(user, model.change_own_password(
                user.current, ref, original=original, request_id=request_id,
                password_hash=password_hash, at=at))])

    def change_password(self, *, request_id: str, ref: str,
                        password: str) -> Written[model.User]:
        password_hash = _hash(password)
        return self.app.execute(
            request_id, lambda: self._aggregate(USER, ref),
            lambda user, at: [(user, model.change_password(
                user.current, ref, request_id=request_id, password_hash=password_hash, at=at))])

    def delete_user(self, *, request_id: str, ref: str) -> Written[model.User]:
        return self.app.execute(
            request_id, lambda: self._aggregate(USER, ref),
            lambda user, at: [(user, model.delete_user(user.current, ref,
                                                       request_id=request_id, at=at))])

    # ---- roles -----------------------------------------------------------

    def grant_scope(self, project_ref: str | None, domain_ref: str | None = None,
                    inherited: bool = False) -> str:
        """The scope key of a grant: on a project, a domain, or (neither) the
        system; ``inherited``: the one the domain's or project's projects inherit."""
        if domain_ref is not None:
            scope = model.domain_scope(self.domain(domain_ref).id)
        elif project_ref is not None:
            scope = self.project(project_ref).id
        else:
            return model.SYSTEM
        return model.inherited_scope(scope) if inherited else scope

    def grant(self, *, request_id: str, user_ref: str, project_ref: str | None,
              role: str, domain_ref: str | None = None,
              inherited: bool = False) -> Written[model.User]:
        """Give ``user`` ``role`` on ``project`` or ``domain`` (neither: on the
        system); holding it already writes nothing."""
        key = self.role_key(role)
        scope = self.grant_scope(project_ref, domain_ref, inherited)
        return self.app.execute(
            request_id, lambda: self._aggregate(USER, user_ref),
            lambda user, at: [(user, model.grant(
                model.live_user(user.current, user_ref), scope, key, request_id=request_id,
                at=at))])

    def revoke_role(self, *, request_id: str, user_ref: str, project_ref: str | None,
                    role: str, domain_ref: str | None = None,
                    inherited: bool = False) -> Written[model.User]:
        """Take ``role`` on ``project`` or ``domain`` (neither: on the system) from ``user``."""
        key = self.role_key(role)

        def decide(user: Aggregate[model.User], at: datetime) -> list[Change]:
            state = model.live_user(user.current, user_ref)
            if domain_ref is not None or inherited:
                scope = self.grant_scope(project_ref, domain_ref, inherited)
            elif project_ref is None:
                scope = model.SYSTEM
            else:
                project = self._aggregate(PROJECT, project_ref).current
                if project is None:
                    raise NotFound(f"Could not find project: {project_ref}.")
                scope = project.id
            return [(user, model.revoke(state, scope, key, request_id=request_id, at=at))]

        return self.app.execute(request_id, lambda: self._aggregate(USER, user_ref), decide)

    # ---- the first admin -------------------------------------------------

    def ensure_admin(self, *, user: str, project: str, password: str) -> None:
        """Make sure the cloud's first admin exists, can log in with ``password``
        and holds admin and member on its project. Idempotent: nothing is
        written when all of it is already so (fixed request ids for the
        creates; the grants and a password change are decided afresh)."""
        try:
            self.project(project)
        except NotFound:
            self.create_project(request_id=f"ensure-admin-project-{project}", name=project,
                                description="The cloud administrators' project")
        try:
            admin = self.user(user)
        except NotFound:
            admin = self.create_user(request_id=f"ensure-admin-user-{user}", name=user,
                                     password=password, default_project=project).state
        if not model.password_matches(admin.password_hash, password):
            self.change_password(request_id=f"ensure-admin-password-{uuid.uuid4()}", ref=user,
                                 password=password)
        for role in ("admin", "member"):
            self.grant(request_id=f"ensure-admin-role-{project}-{role}-{uuid.uuid4()}",
                       user_ref=user, project_ref=project, role=role)
        # and admin on the system, as Keystone's bootstrap gives its admin
        self.grant(request_id=f"ensure-admin-system-{uuid.uuid4()}", user_ref=user,
                   project_ref=None, role="admin")


def _hash(password: str) -> str:
    """A new salted hash of a new password (never empty)."""
    return model.hash_password(model.valid_password(password), secrets.token_bytes(16))
