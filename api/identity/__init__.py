"""Keystone v3, one module per resource: tokens, domains, projects, users,
groups, roles, implied roles, role assignments, regions, services and
endpoints, credentials, application credentials."""

from api.identity import (
    app_credentials,
    auth,
    catalog_entries,
    credentials,
    domains,
    groups,
    projects,
    role_inferences,
    roles,
    users,
)

RESOURCES = (auth, domains, projects, users, groups, roles, role_inferences, catalog_entries,
             credentials, app_credentials)
