"""How projects, users and roles look in Keystone v3 responses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from domain.identity import DEFAULT_DOMAIN_ID, ROLES, role_id


def project_body(base_url: str, id: str, name: str, description: str, *, enabled: bool = True,
                 tags: Sequence[str] = (), domain_id: str = DEFAULT_DOMAIN_ID) -> dict[str, Any]:
    return {
        "id": id, "name": name, "description": description, "domain_id": domain_id,
        "enabled": enabled, "is_domain": False, "parent_id": domain_id,
        "tags": list(tags),
        "options": {}, "links": {"self": f"{base_url}/identity/v3/projects/{id}"},
    }


class UserLike(Protocol):
    """A user as the write side or the users view holds it."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def default_project_id(self) -> str | None: ...
    @property
    def domain_id(self) -> str: ...
    @property
    def email(self) -> str | None: ...
    @property
    def description(self) -> str | None: ...
    @property
    def enabled(self) -> bool: ...


def user_body(base_url: str, user: UserLike) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": user.id, "name": user.name, "domain_id": user.domain_id,
        "enabled": user.enabled, "password_expires_at": None, "options": {},
        "links": {"self": f"{base_url}/identity/v3/users/{user.id}"},
    }
    for key in ("default_project_id", "email", "description"):
        if getattr(user, key):
            body[key] = getattr(user, key)
    return body


def domain_body(base_url: str, id: str, name: str, description: str,
                enabled: bool) -> dict[str, Any]:
    return {"id": id, "name": name, "description": description, "enabled": enabled,
            "tags": [], "options": {},
            "links": {"self": f"{base_url}/identity/v3/domains/{id}"}}


def role_body(base_url: str, name: str) -> dict[str, Any]:
    rid = role_id(name)
    return {"id": rid, "name": name, "domain_id": None, "description": None, "options": {},
            "links": {"self": f"{base_url}/identity/v3/roles/{rid}"}}


class RoleLike(Protocol):
    """A custom role as the write side or the roles view holds it."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def domain_id(self) -> str | None: ...
    @property
    def description(self) -> str | None: ...


def custom_role_body(base_url: str, role: RoleLike) -> dict[str, Any]:
    return {"id": role.id, "name": role.name, "domain_id": role.domain_id,
            "description": role.description, "options": {},
            "links": {"self": f"{base_url}/identity/v3/roles/{role.id}"}}


class GroupLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def domain_id(self) -> str: ...
    @property
    def description(self) -> str: ...


def group_body(base_url: str, group: GroupLike) -> dict[str, Any]:
    return {"id": group.id, "name": group.name, "domain_id": group.domain_id,
            "description": group.description,
            "links": {"self": f"{base_url}/identity/v3/groups/{group.id}"}}


def all_roles(base_url: str) -> list[dict[str, Any]]:
    return [role_body(base_url, r) for r in ROLES]
