"""Keystone v3: tokens, domains, projects, users, groups, roles, implied roles, role assignments,
regions, services and endpoints,
one module per resource."""

from api.identity import (
    auth,
    catalog_entries,
    domains,
    groups,
    projects,
    role_inferences,
    roles,
    users,
)

RESOURCES = (auth, domains, projects, users, groups, roles, role_inferences, catalog_entries)
