"""Neutron v2.0: networks, subnets, ports, routers, agents, the extension list and quotas."""

from api.network import agents, extensions, networks, ports, quotas, routers, subnets, versions

RESOURCES = (versions, extensions, quotas, networks, subnets, ports, routers, agents)
