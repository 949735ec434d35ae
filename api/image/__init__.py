"""Glance v2: images, one module per resource."""

from api.image import actions, images, info, members, patch, schemas, tags, versions

RESOURCES = (versions, schemas, info, images, patch, tags, actions, members)
