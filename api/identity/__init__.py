"""Keystone v3: tokens, domains, projects, users, groups, roles and role assignments,
one module per resource."""

from api.identity import auth, domains, groups, projects, roles, users

RESOURCES = (auth, domains, projects, users, groups, roles)
