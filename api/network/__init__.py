"""Neutron v2.0: networks, subnets, ports, routers, the extension list and quotas."""

from api.network import extensions, networks, ports, quotas, routers, subnets, versions

RESOURCES = (versions, extensions, quotas, networks, subnets, ports, routers)
