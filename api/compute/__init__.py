"""Nova 2.1: servers and what hangs off them, flavors, keypairs, quotas and the
fleet's hosts, one module per resource."""

from api.compute import (
    aggregates,
    availability_zones,
    extensions,
    flavor_access,
    flavor_extra_specs,
    flavors,
    hosts,
    hypervisor_reports,
    hypervisors,
    images,
    instance_actions,
    instance_usage_audit_log,
    keypairs,
    limits,
    quota_sets,
    server_actions,
    server_groups,
    server_metadata,
    server_security_groups,
    server_tags,
    servers,
    services,
    tenant_usage,
    versions,
    volume_attachments,
    volumes,
)

RESOURCES = (versions, servers, server_actions, server_metadata, server_tags,
             server_security_groups,
             instance_actions, volume_attachments, flavors, flavor_access, keypairs,
             quota_sets, limits, services, hypervisor_reports, hypervisors, hosts, aggregates,
             availability_zones, flavor_extra_specs, tenant_usage,
             instance_usage_audit_log, extensions, volumes, images,
             server_groups)
