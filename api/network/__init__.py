"""Neutron's API: networks, subnets, ports, routers, the network hosts as agents,
floating IPs, security groups, the extension list and quotas."""

from api.network import (
    agents,
    extensions,
    floating_ips,
    networks,
    ports,
    quotas,
    routers,
    security_group_rules,
    security_groups,
    subnets,
    versions,
)

RESOURCES = (versions, extensions, quotas, networks, subnets, ports, routers, agents,
             floating_ips, security_groups, security_group_rules)
