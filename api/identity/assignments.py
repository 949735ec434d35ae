"""Keystone's ``GET /role_assignments``: the grants to users and to groups,
filtered by user, group, role and scope; ``?effective`` answers what users
hold in effect (a group's grants as its members', and the roles the granted
ones imply), as Keystone does."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from api.consistency import caught_up
from api.context import claims, context
from api.identity.requests import listing, pool
from api.policy import require_identity_admin
from domain.identity import (
    IMPLIES,
    INHERITED,
    ROLES,
    SYSTEM,
    domain_scope,
    granted_role_id,
    inherited_scope,
    with_implied,
)
from projections import identity_queries as q
from projections.views import Views


def _scope_body(scope: str) -> dict[str, Any]:
    if scope.startswith(INHERITED):
        return {**_scope_body(scope.removeprefix(INHERITED)),
                "OS-INHERIT:inherited_to": "projects"}
    if scope == SYSTEM:
        return {"system": {"all": True}}
    if scope.startswith("domain:"):
        return {"domain": {"id": scope.removeprefix("domain:")}}
    return {"project": {"id": scope}}


def _scope_path(scope: str) -> str:
    if scope.startswith(INHERITED):
        return "OS-INHERIT/" + _scope_path(scope.removeprefix(INHERITED))
    if scope == SYSTEM:
        return "system"
    if scope.startswith("domain:"):
        return f"domains/{scope.removeprefix('domain:')}"
    return f"projects/{scope}"


class _Listing:
    """The entries of one answer, with the role names known."""

    def __init__(self, base: str, names: dict[str, str], effective: bool,
                 role: str | None, rules: dict[str, list[str]],
                 domain_roles: set[str]) -> None:
        self.base, self.names, self.effective, self.role = base, names, effective, role
        self.rules, self.domain_roles = rules, domain_roles
        self.out: list[dict[str, Any]] = []

    def _implied(self, key: str) -> list[str]:
        """``key`` and what it implies, each once; with ``effective``, without
        a domain's roles (Keystone's tokens never carry those)."""
        if not self.effective:
            return [key]
        found: list[str] = []
        todo = [key]
        while todo:
            role = todo.pop(0)
            if role in found:
                continue
            found.append(role)
            todo.extend(with_implied([role])[1:] if role in IMPLIES
                        else self.rules.get(role, []))
        return [r for r in found if r not in self.domain_roles]

    def add(self, who: str, who_id: str, scope: str, key: str,
            membership: str | None = None, assignee: str | None = None,
            shown: str | None = None) -> None:
        """One grant (of a user or a group), and with ``effective`` its implied
        roles; ``shown``: the scope to show it on (a project inheriting it)."""
        granted = granted_role_id(key)
        link = (f"{self.base}/identity/v3/{_scope_path(scope)}/{assignee or who}s/"
                f"{who_id if assignee is None else membership}/roles/{granted}"
                + ("/inherited_to_projects" if scope.startswith(INHERITED) else ""))
        for implied in self._implied(key):
            if self.role is not None and granted_role_id(implied) != self.role:
                continue
            name = implied if implied in ROLES else self.names.get(implied)
            links: dict[str, str] = {"assignment": link}
            if implied != key:
                links["prior_role"] = f"{self.base}/identity/v3/roles/{granted}"
            if assignee is not None:
                links["membership"] = (f"{self.base}/identity/v3/groups/{membership}/"
                                       f"users/{who_id}")
            self.out.append({"role": {"id": granted_role_id(implied), "name": name},
                             who: {"id": who_id}, "scope": _scope_body(shown or scope),
                             "links": links})


async def role_assignments(request: Request) -> Response:
    who = claims(request)
    await caught_up(request)
    params = request.query_params
    user_id = params.get("user.id")
    if not who.caller.is_admin and user_id != who.user_id:
        require_identity_admin(who, "list_role_assignments")
    group_id = params.get("group.id")
    scope = params.get("scope.project.id")
    if params.get("scope.domain.id"):
        scope = domain_scope(params["scope.domain.id"])
    elif "scope.system" in params:
        scope = SYSTEM
    effective = "effective" in params
    views = pool(request)
    custom = await q.custom_roles_by_id(views)
    names = {k: r.name for k, r in custom.items()}
    found = _Listing(context(request).base_url, names, effective, params.get("role.id"),
                     await q.role_implications(views),
                     {k for k, r in custom.items() if r.domain_id is not None})
    scopes: list[str | None] = [scope]
    if effective and scope is not None and not scope.startswith(("domain:", SYSTEM)):
        project = await q.get_project(views, scope)  # and what its domain passes on
        if project is not None:
            scopes.append(inherited_scope(domain_scope(project.domain_id)))
    for one in scopes:
        shown = scope if one != scope else None
        if group_id is None:
            for a in await q.list_assignments(views, user_id=user_id, project_id=one):
                if not (effective and a.project_id.startswith(INHERITED) and shown is None):
                    found.add("user", a.user_id, a.project_id, a.role, shown=shown)
        await _group_grants(found, views, one, shown, group_id=group_id, user_id=user_id,
                            effective=effective)
    return listing(request, "role_assignments", found.out)


async def _group_grants(found: _Listing, views: Views, scope: str | None, shown: str | None,
                        *, group_id: str | None, user_id: str | None,
                        effective: bool) -> None:
    groups = await q.list_group_assignments(views, group_id=group_id, scope=scope)
    if effective and user_id is not None:
        mine = {g.id for g in await q.list_groups(views, user_id=user_id)}
        groups = [g for g in groups if g.group_id in mine]
    for g in groups:
        if not effective:
            if user_id is None:
                found.add("group", g.group_id, g.scope, g.role)
            continue
        if g.scope.startswith(INHERITED) and shown is None:
            continue  # in effect on the projects that inherit it, not where it was made
        members = await q.group_member_ids(views, g.group_id)
        for member in members if user_id is None else [user_id]:
            found.add("user", member, g.scope, g.role, membership=g.group_id,
                      assignee="group", shown=shown)
