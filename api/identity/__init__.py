"""Keystone v3: tokens, the domain, projects, users and roles, one module per resource."""

from api.identity import auth, domains, projects, roles, users

RESOURCES = (auth, domains, projects, users, roles)
