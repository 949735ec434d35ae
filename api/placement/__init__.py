"""Placement, read only: each compute host as a resource provider with its
inventories and usages, for the clients that read capacity there (Horizon's
admin Hypervisors page)."""

from api.placement import resource_providers

RESOURCES = (resource_providers,)
