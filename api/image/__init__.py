"""Glance v2: images, one module per resource."""

from api.image import images, versions

RESOURCES = (versions, images)
