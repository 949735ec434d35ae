"""Glance v2: images, one module per resource."""

from api.image import actions, images, info, members, metadefs, patch, schemas, tags, versions

RESOURCES = (versions, schemas, info, metadefs, images, patch, tags, actions, members)
