"""How projects, users and roles look in Keystone v3 responses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.identity import DEFAULT_DOMAIN_ID, ROLES, role_id


def project_body(base_url: str, id: str, name: str, description: str, *, enabled: bool = True,
                 tags: Sequence[str] = ()) -> dict[str, Any]:
    return {
        "id": id, "name": name, "description": description, "domain_id": DEFAULT_DOMAIN_ID,
        "enabled": enabled, "is_domain": False, "parent_id": DEFAULT_DOMAIN_ID,
        "tags": list(tags),
        "options": {}, "links": {"self": f"{base_url}/identity/v3/projects/{id}"},
    }


def user_body(base_url: str, id: str, name: str,
              default_project_id: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": id, "name": name, "domain_id": DEFAULT_DOMAIN_ID, "enabled": True,
        "password_expires_at": None, "options": {},
        "links": {"self": f"{base_url}/identity/v3/users/{id}"},
    }
    if default_project_id:
        body["default_project_id"] = default_project_id
    return body


def role_body(base_url: str, name: str) -> dict[str, Any]:
    rid = role_id(name)
    return {"id": rid, "name": name, "domain_id": None, "description": None, "options": {},
            "links": {"self": f"{base_url}/identity/v3/roles/{rid}"}}


def all_roles(base_url: str) -> list[dict[str, Any]]:
    return [role_body(base_url, r) for r in ROLES]
