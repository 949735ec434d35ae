"""Identity: projects, users, their roles on projects, and revoked tokens.

Each project and each user is an aggregate whose id is derived from its name
(so a name is unique: a second create of it meets the first at version 1).
A user's role assignments live on the user aggregate, which is all a token
issue has to read. Passwords are stored only as salted scrypt hashes; the
decisions here are pure and never see a password in clear except to verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from datetime import datetime
from typing import ClassVar

import msgspec

from domain.base import Event, UnknownEvent, unknown_event
from domain.errors import Forbidden, InvalidInput, InvalidState, NotFound, Unauthorized

# Shared with the ids the API handed out before identity was event-sourced, so
# a project's id (and every instance's project_id) stays the same.
ID_NAMESPACE = uuid.UUID("0b7e3f0e-54f4-4d8e-b1a5-3a4c1b2d9e77")

DEFAULT_DOMAIN_ID = "default"
DEFAULT_DOMAIN_NAME = "Default"
# Keystone's system scope (the cloud itself): a role "on the system" is
# recorded as a grant on this scope, which no project id can equal
SYSTEM = "system"


def domain_scope(domain_id: str) -> str:
    """The scope key of a grant on a domain (no project id has this form)."""
    return f"domain:{domain_id}"


INHERITED = "inherited:"


def inherited_scope(scope: str) -> str:
    """The scope key of a grant on a domain or project that its projects
    inherit (Keystone's OS-INHERIT ``inherited_to_projects``), not the scope
    itself."""
    return INHERITED + scope

# Today's Keystone's default roles, then the seed's project roles under their
# Keystone names; the seed's "cloudadmin" is "admin".
ROLES: tuple[str, ...] = ("admin", "manager", "member", "reader", "itsec", "sysadmin",
                          "netadmin", "projectmanager")
ROLE_ALIASES = {"cloudadmin": "admin", "_member_": "member"}
# Keystone's default implied roles: a token carries each role its roles imply.
IMPLIES = {"admin": "manager", "manager": "member", "member": "reader"}
# the roles that may only read (a token holding nothing else cannot change anything)
READ_ONLY_ROLES = frozenset({"reader"})


def with_implied(roles: list[str]) -> list[str]:
    """``roles`` and every role they imply, each once, in that order."""
    out: list[str] = []
    for role in roles:
        while role not in out:
            out.append(role)
            if role not in IMPLIES:
                break
            role = IMPLIES[role]
    return out

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


def aggregate_id(kind: str, name: str) -> uuid.UUID:
    """The deterministic aggregate id of a project, user or revoked token."""
    return uuid.uuid5(ID_NAMESPACE, f"{kind}:{name}")


def member_id(kind: str, name: str, domain_id: str = DEFAULT_DOMAIN_ID) -> uuid.UUID:
    """The aggregate id of a project or user named ``name`` in a domain: names
    are unique per domain, and the Default domain's keep the ids they had."""
    return aggregate_id(kind, name if domain_id == DEFAULT_DOMAIN_ID else f"{domain_id}/{name}")


def domain_id_of(name: str) -> str:
    """The id of the domain named ``name`` (a domain keeps its name)."""
    return DEFAULT_DOMAIN_ID if name == DEFAULT_DOMAIN_NAME else keystone_id("domain", name)


def keystone_id(kind: str, name: str) -> str:
    """The id clients see (Keystone style: 32 hex digits)."""
    return aggregate_id(kind, name).hex


def role_id(role: str) -> str:
    return keystone_id("role", role)


def granted_role_id(key: str) -> str:
    """The id of the role a grant records as ``key`` (a default role's name, or
    a custom role's id)."""
    return role_id(key) if key in ROLES else key


def role_named(name: str) -> str:
    """A role by its name, its seed alias or its id; NotFound otherwise."""
    role = ROLE_ALIASES.get(name, name)
    if role in ROLES:
        return role
    found = next((r for r in ROLES if role_id(r) == name), None)
    if found is None:
        raise NotFound(f"Could not find role: {name}.")
    return found


def hash_password(password: str, salt: bytes) -> str:
    """A salted scrypt hash in a self-describing text form."""
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R,
                            p=_SCRYPT_P, dklen=32)
    b64 = base64.urlsafe_b64encode
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def password_matches(stored: str, password: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        expected = base64.urlsafe_b64decode(digest)
        actual = hashlib.scrypt(password.encode(), salt=base64.urlsafe_b64decode(salt),
                                n=int(n), r=int(r), p=int(p), dklen=len(expected))
    except ValueError:
        return False
    return scheme == "scrypt" and hmac.compare_digest(actual, expected)


_NAME_LENGTH = {"user": 255, "project": 64}  # Keystone's schema's limits


def valid_name(kind: str, name: str) -> str:
    name = name.strip()
    limit = _NAME_LENGTH.get(kind, 64)
    if not name or len(name) > limit:
        raise InvalidInput(
            f"Invalid input for field '{kind}.name': must be 1 to {limit} characters.")
    return name


# ---- events ---------------------------------------------------------------


class IdentityEvent(Event, frozen=True, kw_only=True):
    """Anything that happened to a project, a user or a token."""

    request_id: str


class DomainEvent(IdentityEvent, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "domain"


class DomainCreated(DomainEvent, frozen=True, kw_only=True):
    name: str
    description: str = ""
    enabled: bool = True


class DomainUpdated(DomainEvent, frozen=True, kw_only=True):
    """A new description and/or enabled flag (None: unchanged). A disabled
    domain's projects and users get no token."""

    description: str | None = None
    enabled: bool | None = None


class DomainDeleted(DomainEvent, frozen=True, kw_only=True):
    pass


class ProjectEvent(IdentityEvent, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "project"


class ProjectCreated(ProjectEvent, frozen=True, kw_only=True):
    name: str
    description: str = ""
    domain_id: str = DEFAULT_DOMAIN_ID
    enabled: bool = True


class ProjectDeleted(ProjectEvent, frozen=True, kw_only=True):
    pass


class ProjectUpdated(ProjectEvent, frozen=True, kw_only=True):
    """A new description and/or enabled flag (None: unchanged). A disabled
    project's tokens are refused and no new one is issued for it."""

    description: str | None = None
    enabled: bool | None = None


class ProjectTagsSet(ProjectEvent, frozen=True, kw_only=True):
    """The project's tags are now ``tags`` (every tag change writes the whole set)."""

    tags: list[str]


class UserEvent(IdentityEvent, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "user"


class UserCreated(UserEvent, frozen=True, kw_only=True):
    name: str
    password_hash: str  # salted scrypt, never the password
    default_project_id: str | None = None
    domain_id: str = DEFAULT_DOMAIN_ID
    email: str | None = None
    description: str | None = None
    enabled: bool = True


class UserUpdated(UserEvent, frozen=True, kw_only=True):
    """New attributes (None: unchanged); a disabled user gets no token."""

    email: str | None = None
    description: str | None = None
    enabled: bool | None = None


class UserPasswordChanged(UserEvent, frozen=True, kw_only=True):
    password_hash: str


class UserDeleted(UserEvent, frozen=True, kw_only=True):
    pass


class RoleGranted(UserEvent, frozen=True, kw_only=True):
    project_id: str
    role: str


class RoleRevoked(UserEvent, frozen=True, kw_only=True):
    project_id: str
    role: str


class UserAddedToGroup(UserEvent, frozen=True, kw_only=True):
    group_id: str


class UserRemovedFromGroup(UserEvent, frozen=True, kw_only=True):
    group_id: str


class TokenEvent(IdentityEvent, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "token"


class TokenRevoked(TokenEvent, frozen=True, kw_only=True):
    """A token was given up (logout); keyed by the token's audit id."""

    audit_id: str
    user_id: str
    project_id: str


AnyDomainEvent = DomainCreated | DomainUpdated | DomainDeleted
AnyProjectEvent = ProjectCreated | ProjectDeleted | ProjectUpdated | ProjectTagsSet
AnyUserEvent = (UserCreated | UserPasswordChanged | UserDeleted | RoleGranted | RoleRevoked
                | UserUpdated | UserAddedToGroup | UserRemovedFromGroup)
AnyTokenEvent = TokenRevoked


# ---- state ----------------------------------------------------------------


class Domain(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    description: str = ""
    enabled: bool = True
    deleted: bool = False


class Project(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    description: str = ""
    domain_id: str = DEFAULT_DOMAIN_ID
    enabled: bool = True
    tags: tuple[str, ...] = ()
    deleted: bool = False


class User(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    name: str
    password_hash: str
    default_project_id: str | None = None
    roles: dict[str, list[str]] = msgspec.field(default_factory=dict)  # project id -> roles
    domain_id: str = DEFAULT_DOMAIN_ID
    email: str | None = None
    description: str | None = None
    enabled: bool = True
    groups: tuple[str, ...] = ()  # the ids of the groups the user is in
    deleted: bool = False

    def roles_on(self, project_id: str) -> list[str]:
        return [] if self.deleted else list(self.roles.get(project_id, []))


class RevokedToken(msgspec.Struct, frozen=True, kw_only=True):
    audit_id: str


def evolve_domain(state: Domain | None, event: Event, aggregate: str) -> Domain:
    if not isinstance(event, AnyDomainEvent):
        raise UnknownEvent(event, "domain")
    if isinstance(event, DomainCreated):
        return Domain(id=uuid.UUID(aggregate).hex, name=event.name,
                      description=event.description, enabled=event.enabled)
    assert state is not None
    match event:
        case DomainUpdated():
            return msgspec.structs.replace(
                state, description=state.description if event.description is None
                else event.description,
                enabled=state.enabled if event.enabled is None else event.enabled)
        case DomainDeleted():
            return msgspec.structs.replace(state, deleted=True)
        case _:
            unknown_event(event, "domain")


def evolve_project(state: Project | None, event: Event, aggregate: str) -> Project:
    if not isinstance(event, AnyProjectEvent):
        raise UnknownEvent(event, "project")
    if isinstance(event, ProjectCreated):
        return Project(id=uuid.UUID(aggregate).hex, name=event.name,
                       description=event.description, domain_id=event.domain_id,
                       enabled=event.enabled)
    assert state is not None
    match event:
        case ProjectDeleted():
            return msgspec.structs.replace(state, deleted=True)
        case ProjectUpdated():
            return msgspec.structs.replace(
                state, description=state.description if event.description is None
                else event.description,
                enabled=state.enabled if event.enabled is None else event.enabled)
        case ProjectTagsSet():
            return msgspec.structs.replace(state, tags=tuple(event.tags))
        case _:
            unknown_event(event, "project")


def evolve_user(state: User | None, event: Event, aggregate: str) -> User:
    if not isinstance(event, AnyUserEvent):
        raise UnknownEvent(event, "user")
    if isinstance(event, UserCreated):
        return User(id=uuid.UUID(aggregate).hex, name=event.name,
                    password_hash=event.password_hash,
                    default_project_id=event.default_project_id, domain_id=event.domain_id,
                    email=event.email, description=event.description, enabled=event.enabled)
    assert state is not None
    match event:
        case UserPasswordChanged():
            return msgspec.structs.replace(state, password_hash=event.password_hash)
        case UserDeleted():
            return msgspec.structs.replace(state, deleted=True, roles={}, groups=())
        case UserAddedToGroup():
            return msgspec.structs.replace(
                state, groups=tuple(dict.fromkeys((*state.groups, event.group_id))))
        case UserRemovedFromGroup():
            return msgspec.structs.replace(
                state, groups=tuple(g for g in state.groups if g != event.group_id))
        case UserUpdated():
            return msgspec.structs.replace(
                state, email=state.email if event.email is None else event.email,
                description=state.description if event.description is None
                else event.description,
                enabled=state.enabled if event.enabled is None else event.enabled)
        case RoleGranted() | RoleRevoked():
            current = state.roles.get(event.project_id, [])
            if isinstance(event, RoleGranted):
                held = current if event.role in current else [*current, event.role]
            else:
                held = [r for r in current if r != event.role]
            roles = {p: r for p, r in state.roles.items() if p != event.project_id}
            if held:
                roles[event.project_id] = held
            return msgspec.structs.replace(state, roles=roles)
        case _:
            unknown_event(event, "user")


def evolve_token(state: RevokedToken | None, event: Event, aggregate: str) -> RevokedToken:
    if not isinstance(event, AnyTokenEvent):
        raise UnknownEvent(event, "token")
    match event:
        case TokenRevoked():
            return RevokedToken(audit_id=event.audit_id)
        case _:
            unknown_event(event, "token")


# ---- decisions ------------------------------------------------------------


def create_domain(existing: Domain | None, *, request_id: str, name: str, description: str,
                  enabled: bool, at: datetime) -> DomainCreated:
    if name == DEFAULT_DOMAIN_NAME or existing is not None:
        # like a project's, a deleted domain's name stays taken (its id derives from it)
        raise InvalidState(f"Conflict occurred attempting to store domain - Duplicate entry "
                           f"found with name {name}.")
    return DomainCreated(request_id=request_id, name=name, description=description,
                         enabled=enabled, at=at)


def live_domain(state: Domain | None, ref: str) -> Domain:
    if state is None or state.deleted:
        raise NotFound(f"Could not find domain: {ref}.")
    return state


def open_domain(state: Domain | None, ref: str) -> Domain:
    """A domain new projects and users may be made in: it exists and is enabled."""
    domain = live_domain(state, ref)
    if not domain.enabled:
        raise InvalidInput(f"Domain {domain.id} is disabled: nothing can be created in it.")
    return domain


def update_domain(state: Domain | None, ref: str, *, request_id: str, at: datetime,
                  name: str | None = None, description: str | None = None,
                  enabled: bool | None = None) -> DomainUpdated:
    domain = live_domain(state, ref)
    if name is not None and name != domain.name:
        raise InvalidInput("Invalid input for field 'domain.name': a domain keeps the name it "
                           "was created with.")
    return DomainUpdated(request_id=request_id, at=at, description=description,
                         enabled=enabled)


def delete_domain(state: Domain | None, ref: str, *, request_id: str,
                  at: datetime) -> DomainDeleted:
    if live_domain(state, ref).enabled:
        raise Forbidden("Cannot delete a domain that is enabled, please disable it first.")
    return DomainDeleted(request_id=request_id, at=at)


def create_project(existing: Project | None, *, request_id: str, name: str, description: str,
                   at: datetime, domain_id: str = DEFAULT_DOMAIN_ID,
                   enabled: bool = True) -> ProjectCreated:
    if existing is not None:
        # A deleted project's name stays taken: its id is derived from the name,
        # and resources that still carry that id must never reappear elsewhere.
        raise InvalidState(f"Conflict occurred attempting to store project - Duplicate entry "
                           f"found with name {name} at domain ID {domain_id}.")
    return ProjectCreated(request_id=request_id, name=name, description=description,
                          domain_id=domain_id, enabled=enabled, at=at)


def live_project(state: Project | None, ref: str) -> Project:
    if state is None or state.deleted:
        raise NotFound(f"Could not find project: {ref}.")
    return state


def delete_project(state: Project | None, ref: str, *, request_id: str,
                   at: datetime) -> ProjectDeleted:
    live_project(state, ref)
    return ProjectDeleted(request_id=request_id, at=at)


def update_project(state: Project | None, ref: str, *, request_id: str, at: datetime,
                   name: str | None = None, description: str | None = None,
                   enabled: bool | None = None) -> ProjectUpdated:
    """Describe, enable or disable a project. Its name is its identity here (its
    id derives from it), so a rename is refused rather than half done."""
    project = live_project(state, ref)
    if name is not None and name != project.name:
        raise InvalidInput("Invalid input for field 'project.name': a project keeps the "
                           "name it was created with.")
    return ProjectUpdated(request_id=request_id, at=at, description=description,
                          enabled=enabled)


MAX_PROJECT_TAGS = 80  # Keystone's limit
_TAG = 255


def set_project_tags(state: Project | None, ref: str, tags: list[str], *, request_id: str,
                     at: datetime) -> ProjectTagsSet:
    """Replace a project's tags; Keystone's rules: at most 80, each 1-255
    characters without '/' or ','."""
    live_project(state, ref)
    for tag in tags:
        if not 1 <= len(tag) <= _TAG or "/" in tag or "," in tag:
            raise InvalidInput(f"Invalid input for field 'tags': {tag!r} must be 1 to {_TAG} "
                               "characters without '/' or ','.")
    unique = list(dict.fromkeys(tags))
    if len(unique) > MAX_PROJECT_TAGS:
        raise InvalidInput(f"Invalid input for field 'tags': more than {MAX_PROJECT_TAGS} "
                           "tags.")
    return ProjectTagsSet(request_id=request_id, at=at, tags=unique)


def live_user(state: User | None, ref: str) -> User:
    if state is None or state.deleted:
        raise NotFound(f"Could not find user: {ref}.")
    return state


def create_user(existing: User | None, *, request_id: str, name: str, password_hash: str,
                default_project_id: str | None, at: datetime,
                domain_id: str = DEFAULT_DOMAIN_ID, email: str | None = None,
                description: str | None = None, enabled: bool = True) -> UserCreated:
    if existing is not None and not existing.deleted:
        raise InvalidState(f"Conflict occurred attempting to store user - Duplicate entry "
                           f"found with name {name} at domain ID {domain_id}.")
    return UserCreated(request_id=request_id, name=name, password_hash=password_hash,
                       default_project_id=default_project_id, domain_id=domain_id,
                       email=email, description=description, enabled=enabled, at=at)


def update_user(state: User | None, ref: str, *, request_id: str, at: datetime,
                email: str | None = None, description: str | None = None,
                enabled: bool | None = None) -> UserUpdated | None:
    """New attributes; None when nothing is asked to change."""
    live_user(state, ref)
    if email is None and description is None and enabled is None:
        return None
    return UserUpdated(request_id=request_id, at=at, email=email, description=description,
                       enabled=enabled)


def valid_password(password: str) -> str:
    if not password:
        raise InvalidInput("Invalid input for field 'user.password': must not be empty.")
    return password


def change_password(state: User | None, ref: str, *, request_id: str, password_hash: str,
                    at: datetime) -> UserPasswordChanged:
    live_user(state, ref)
    return UserPasswordChanged(request_id=request_id, password_hash=password_hash, at=at)


def delete_user(state: User | None, ref: str, *, request_id: str, at: datetime) -> UserDeleted:
    live_user(state, ref)
    return UserDeleted(request_id=request_id, at=at)


def join_group(user: User, group_id: str, *, request_id: str,
               at: datetime) -> UserAddedToGroup | None:
    """None when the user is in the group already."""
    if group_id in user.groups:
        return None
    return UserAddedToGroup(request_id=request_id, group_id=group_id, at=at)


def leave_group(user: User, group_id: str, *, request_id: str,
                at: datetime) -> UserRemovedFromGroup:
    if group_id not in user.groups:
        raise NotFound(f"User {user.id} is not a member of group {group_id}.")
    return UserRemovedFromGroup(request_id=request_id, group_id=group_id, at=at)


def change_own_password(state: User | None, ref: str, *, original: str, request_id: str,
                        password_hash: str, at: datetime) -> UserPasswordChanged:
    """A user's change of their own password: the original must match."""
    user = live_user(state, ref)
    if not password_matches(user.password_hash, original):
        raise Unauthorized("The request you have made requires authentication.")
    return UserPasswordChanged(request_id=request_id, password_hash=password_hash, at=at)


def revoke_token(state: RevokedToken | None, *, request_id: str, audit_id: str, user_id: str,
                 project_id: str, at: datetime) -> TokenRevoked | None:
    """A logout: the token with ``audit_id`` is given up; None if it was before."""
    if state is not None:
        return None
    return TokenRevoked(request_id=request_id, audit_id=audit_id, user_id=user_id,
                        project_id=project_id, at=at)


def grant(user: User, scope: str, role: str, *, request_id: str,
          at: datetime) -> RoleGranted | None:
    """The grant on a scope (a project's id, a ``domain_scope`` or ``SYSTEM``)
    to record, or None when the user already holds the role there."""
    if role in user.roles_on(scope):
        return None
    return RoleGranted(request_id=request_id, project_id=scope, role=role, at=at)


def system_roles(user: User | None, group_roles: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The roles a token of ``user`` scoped to the system carries; Unauthorized
    when the user holds none there."""
    if user is None or user.deleted:
        raise Unauthorized("The request you have made requires authentication.")
    roles = list(dict.fromkeys([*user.roles_on(SYSTEM), *group_roles]))
    if not roles:
        raise Unauthorized(f"User {user.id} has no access to the system.")
    return with_implied(roles)


def revoke(user: User, project_id: str, role: str, *, request_id: str,
           at: datetime) -> RoleRevoked:
    if role not in user.roles_on(project_id):
        raise NotFound(f"Could not find role assignment with role: {granted_role_id(role)}, "
                       f"user or group: {user.id}, project, domain, or system: {project_id}.")
    return RoleRevoked(request_id=request_id, project_id=project_id, role=role,
                       at=at)


def authorise(user: User | None, project: Project | None, password: str,
              project_ref: str) -> list[str]:
    """The roles a password login scoped to ``project`` gets; Unauthorized otherwise."""
    return roles_on(authenticated(user, password), project, project_ref)


def authenticated(user: User | None, password: str) -> User:
    """The user whose password this is; Unauthorized otherwise."""
    if user is None or user.deleted or not password_matches(user.password_hash, password):
        raise Unauthorized("The request you have made requires authentication.")
    if not user.enabled:
        raise Unauthorized(f"User {user.id} is disabled.")
    return user


def roles_on(user: User | None, project: Project | None, project_ref: str,
             group_roles: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The roles a token of ``user`` scoped to ``project`` carries; Unauthorized when the
    user is gone, the project is unknown or the user holds no role on it."""
    if user is None or user.deleted:
        raise Unauthorized("The request you have made requires authentication.")
    if project is None or project.deleted:
        raise Unauthorized(f"Could not find project: {project_ref}.")
    if not project.enabled:
        raise Unauthorized(f"Project {project.id} is disabled.")
    roles = list(dict.fromkeys([*user.roles_on(project.id), *group_roles]))
    if not roles:
        raise Unauthorized(f"User {user.id} has no access to project {project.id}.")
    return with_implied(roles)
