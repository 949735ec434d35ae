"""The identity views (domains, projects, users, role assignments) and token revocations.

Revocations follow Keystone's revocation events: a logout revokes one token
(its audit id); deleting a user or changing a password revokes every token
the user was issued until then; revoking a role revokes the user's tokens on
that project; deleting a project revokes every token scoped to it. Rows are
keyed by log position so readers fetch only what is new. Tables are named
without a schema: the caller's ``search_path`` picks the live or a replay one.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from domain import identity as ev
from domain import identity_app_credentials as app_credentials
from domain import identity_catalog as catalog
from domain import identity_credentials as credentials
from domain import identity_groups as groups
from domain import identity_roles as roles
from projections.log import LogEntry
from projections.statements import Statements

_REVOKE = ("INSERT INTO revocations (position, audit_id, user_id, project_id, revoked_at)"
           " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING")


def apply(conn: psycopg.Connection[Any], items: list[tuple[LogEntry, ev.IdentityEvent]]) -> None:
    """Apply identity events (in log order) inside the caller's transaction."""
    out = Statements()
    for entry, event in items:
        own_id = entry.aggregate_id.hex
        if isinstance(event, ev.DomainCreated):
            out.add("INSERT INTO domains (id, name, description, enabled, created_at)"
                    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    (own_id, event.name, event.description, event.enabled, event.at))
        elif isinstance(event, ev.DomainUpdated):
            out.add("UPDATE domains SET description = COALESCE(%s, description),"
                    " enabled = COALESCE(%s, enabled) WHERE id = %s",
                    (event.description, event.enabled, own_id))
        elif isinstance(event, ev.DomainDeleted):
            out.add("DELETE FROM domains WHERE id = %s", (own_id,))
        elif isinstance(event, ev.ProjectCreated):
            out.add("INSERT INTO projects (id, name, description, created_at, domain_id, enabled)"
                    " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    (own_id, event.name, event.description, event.at, event.domain_id,
                     event.enabled))
        elif isinstance(event, ev.ProjectDeleted):
            out.add("DELETE FROM projects WHERE id = %s", (own_id,))
            out.add("DELETE FROM role_assignments WHERE project_id = %s", (own_id,))
            out.add(_REVOKE, (entry.position, None, None, own_id, event.at))
        elif isinstance(event, ev.ProjectUpdated):
            out.add("UPDATE projects SET description = COALESCE(%s, description),"
                    " enabled = COALESCE(%s, enabled) WHERE id = %s",
                    (event.description, event.enabled, own_id))
            if event.enabled is False:  # Keystone revokes a disabled project's tokens
                out.add(_REVOKE, (entry.position, None, None, own_id, event.at))
        elif isinstance(event, ev.ProjectTagsSet):
            out.add("UPDATE projects SET tags = %s WHERE id = %s", (Jsonb(event.tags), own_id))
        elif isinstance(event, ev.UserCreated):
            out.add("INSERT INTO users (id, name, default_project_id, created_at, domain_id,"
                    " email, description, enabled)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET"
                    " default_project_id = EXCLUDED.default_project_id,"
                    " created_at = EXCLUDED.created_at, email = EXCLUDED.email,"
                    " description = EXCLUDED.description, enabled = EXCLUDED.enabled",
                    (own_id, event.name, event.default_project_id, event.at, event.domain_id,
                     event.email, event.description, event.enabled))
        elif isinstance(event, ev.UserUpdated):
            out.add("UPDATE users SET email = COALESCE(%s, email),"
                    " description = COALESCE(%s, description),"
                    " enabled = COALESCE(%s, enabled) WHERE id = %s",
                    (event.email, event.description, event.enabled, own_id))
            if event.enabled is False:  # Keystone revokes a disabled user's tokens
                out.add(_REVOKE, (entry.position, None, own_id, None, event.at))
        elif isinstance(event, ev.UserPasswordChanged):
            out.add(_REVOKE, (entry.position, None, own_id, None, event.at))
        elif isinstance(event, ev.UserDeleted):
            out.add("DELETE FROM users WHERE id = %s", (own_id,))
            out.add("DELETE FROM role_assignments WHERE user_id = %s", (own_id,))
            out.add("DELETE FROM group_members WHERE user_id = %s", (own_id,))
            out.add("DELETE FROM credentials WHERE user_id = %s", (own_id,))
            out.add("DELETE FROM app_credentials WHERE user_id = %s", (own_id,))
            out.add(_REVOKE, (entry.position, None, own_id, None, event.at))
        elif isinstance(event, ev.RoleGranted):
            out.add("INSERT INTO role_assignments (user_id, project_id, role)"
                    " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                    (own_id, event.project_id, event.role))
        elif isinstance(event, ev.RoleRevoked):
            out.add("DELETE FROM role_assignments WHERE user_id = %s"
                    " AND project_id = %s AND role = %s",
                    (own_id, event.project_id, event.role))
            out.add(_REVOKE, (entry.position, None, own_id, event.project_id, event.at))
        elif isinstance(event, ev.UserAddedToGroup):
            out.add("INSERT INTO group_members (group_id, user_id) VALUES (%s, %s)"
                    " ON CONFLICT DO NOTHING", (event.group_id, own_id))
        elif isinstance(event, ev.UserRemovedFromGroup):
            out.add("DELETE FROM group_members WHERE group_id = %s AND user_id = %s",
                    (event.group_id, own_id))
            out.add(_REVOKE, (entry.position, None, own_id, None, event.at))
        elif isinstance(event, roles.RoleEvent):
            _role(out, own_id, event)
        elif isinstance(event, catalog.CatalogEntrySaved):
            out.add("INSERT INTO catalog_entries (aggregate_id, kind, id, attributes)"
                    " VALUES (%s, %s, %s, %s) ON CONFLICT (aggregate_id) DO UPDATE SET"
                    " attributes = EXCLUDED.attributes",
                    (own_id, event.kind, event.entry_id, Jsonb(event.attributes)))
        elif isinstance(event, catalog.CatalogEntryDeleted):
            out.add("DELETE FROM catalog_entries WHERE aggregate_id = %s", (own_id,))
        elif isinstance(event, credentials.CredentialEvent):
            _credential(out, own_id, event)
        elif isinstance(event, app_credentials.ApplicationCredentialCreated):
            out.add("INSERT INTO app_credentials (id, user_id, project_id, name, description,"
                    " roles, expires_at, unrestricted) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (id) DO UPDATE SET project_id = EXCLUDED.project_id,"
                    " description = EXCLUDED.description, roles = EXCLUDED.roles,"
                    " expires_at = EXCLUDED.expires_at, unrestricted = EXCLUDED.unrestricted",
                    (own_id, event.user_id, event.project_id, event.name, event.description,
                     Jsonb(event.roles), event.expires_at, event.unrestricted))
        elif isinstance(event, app_credentials.ApplicationCredentialDeleted):
            out.add("DELETE FROM app_credentials WHERE id = %s", (own_id,))
        elif isinstance(event, groups.GroupEvent):
            _group(out, entry, own_id, event)
        elif isinstance(event, ev.TokenRevoked):
            out.add(_REVOKE, (entry.position, event.audit_id, event.user_id,
                                  event.project_id, event.at))
    out.send(conn)


def _role(out: Statements, own_id: str, event: roles.RoleEvent) -> None:
    if isinstance(event, roles.RoleCreated):
        out.add("INSERT INTO custom_roles (id, name, domain_id, description)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name,"
                " domain_id = EXCLUDED.domain_id, description = EXCLUDED.description",
                (own_id, event.name, event.domain_id, event.description))
    elif isinstance(event, roles.RoleUpdated):
        out.add("UPDATE custom_roles SET name = COALESCE(%s, name),"
                " description = COALESCE(%s, description) WHERE id = %s",
                (event.name, event.description, own_id))
    elif isinstance(event, roles.RoleDeleted):  # Keystone deletes its grants with it
        out.add("DELETE FROM custom_roles WHERE id = %s", (own_id,))
        out.add("DELETE FROM role_assignments WHERE role = %s", (own_id,))
        out.add("DELETE FROM group_assignments WHERE role = %s", (own_id,))
        out.add("DELETE FROM role_implications WHERE prior = %s OR implied = %s",
                (own_id, own_id))
    elif isinstance(event, roles.RoleImplied):
        out.add("INSERT INTO role_implications (prior, implied) VALUES (%s, %s)"
                " ON CONFLICT DO NOTHING", (own_id, event.implied))
    elif isinstance(event, roles.RoleImplicationRemoved):
        out.add("DELETE FROM role_implications WHERE prior = %s AND implied = %s",
                (own_id, event.implied))


def _group(out: Statements, entry: LogEntry, own_id: str, event: groups.GroupEvent) -> None:
    if isinstance(event, groups.GroupCreated):
        out.add("INSERT INTO groups (id, name, domain_id, description, created_at)"
                " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET"
                " name = EXCLUDED.name, description = EXCLUDED.description",
                (own_id, event.name, event.domain_id, event.description, event.at))
    elif isinstance(event, groups.GroupUpdated):
        out.add("UPDATE groups SET name = COALESCE(%s, name),"
                " description = COALESCE(%s, description) WHERE id = %s",
                (event.name, event.description, own_id))
    elif isinstance(event, groups.GroupDeleted):
        out.add("DELETE FROM groups WHERE id = %s", (own_id,))
        out.add("DELETE FROM group_members WHERE group_id = %s", (own_id,))
        out.add("DELETE FROM group_assignments WHERE group_id = %s", (own_id,))
    elif isinstance(event, groups.GroupRoleGranted):
        out.add("INSERT INTO group_assignments (group_id, scope, role) VALUES (%s, %s, %s)"
                " ON CONFLICT DO NOTHING", (own_id, event.scope, event.role))
    elif isinstance(event, groups.GroupRoleRevoked):
        out.add("DELETE FROM group_assignments WHERE group_id = %s AND scope = %s"
                " AND role = %s", (own_id, event.scope, event.role))


def _credential(out: Statements, own_id: str, event: credentials.CredentialEvent) -> None:
    """Rows keyed by the id clients see (the aggregate id derives from it)."""
    if isinstance(event, credentials.CredentialCreated):
        cred_id = credentials.credential_id(access=event.access, request_id=event.request_id)
        out.add("INSERT INTO credentials (id, aggregate_id, user_id, project_id, type,"
                " sealed_blob, access) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (id) DO UPDATE SET user_id = EXCLUDED.user_id,"
                " project_id = EXCLUDED.project_id, type = EXCLUDED.type,"
                " sealed_blob = EXCLUDED.sealed_blob",
                (cred_id, own_id, event.user_id, event.project_id, event.credential_type,
                 event.sealed_blob, event.access))
    elif isinstance(event, credentials.CredentialUpdated):
        out.add("UPDATE credentials SET project_id = COALESCE(%s, project_id),"
                " type = COALESCE(%s, type), sealed_blob = COALESCE(%s, sealed_blob)"
                " WHERE aggregate_id = %s",
                (event.project_id, event.credential_type, event.sealed_blob, own_id))
    elif isinstance(event, credentials.CredentialDeleted):
        out.add("DELETE FROM credentials WHERE aggregate_id = %s", (own_id,))
