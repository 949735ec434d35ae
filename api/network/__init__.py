"""The network answers the clients need before a network service exists."""

from api.network import agents, networks, quotas, versions

RESOURCES = (versions, quotas, networks, agents)
