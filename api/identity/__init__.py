"""Keystone v3: tokens, projects, users and roles, one module per resource."""

from api.identity import auth, projects, roles, users

RESOURCES = (auth, projects, users, roles)
