"""Neutron's API: the network answers the clients need, the network hosts as
agents, floating IPs and security groups."""

from api.network import (
    agents,
    floating_ips,
    networks,
    quotas,
    security_group_rules,
    security_groups,
    versions,
)

RESOURCES = (versions, quotas, networks, agents, floating_ips, security_groups,
             security_group_rules)
