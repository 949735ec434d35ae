"""The network answers the clients need before a network service exists."""

from api.network import networks, quotas, versions

RESOURCES = (versions, quotas, networks)
