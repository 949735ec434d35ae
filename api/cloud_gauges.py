"""The cloud as gauges, named and labelled as openstack-exporter names them.

A dashboard or alert written for openstack-exporter (``openstack_nova_*``,
``openstack_cinder_*``) reads nimbus's /metrics unchanged: the same names,
the same label names, a server's or volume's value its status's index in
the exporter's table (``SERVER_STATUSES``, ``VOLUME_STATUSES``; -1 for a
status it does not know). As there, ``openstack_nova_vcpus_available`` and
``openstack_nova_memory_available_bytes`` are a hypervisor's whole capacity.
Labels the views cannot give cheaply (addresses, libvirt names, bootable,
aggregates) are present and empty.

Per-server and per-volume series are capped at the newest ``limit`` live
ones (``openstack_nova_total_vms`` and the ``*_status_counter`` counts are
of all of them), so a scrape stays bounded; with ``metrics_resource_series``
false the limit is 0 and those families carry no series at all; each family is stamped by
``nimbus_view_position``: the log position the views reflect.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

from domain.quota import QuotaDefaults
from projections.cloud_queries import Cloud
from projections.hosts_queries import HostView

MEBIBYTE = 1024 * 1024
GIBIBYTE = 1024 * MEBIBYTE

SERVER_STATUSES = {
    "ACTIVE": 0, "BUILD": 1, "BUILD(spawning)": 2, "DELETED": 3, "ERROR": 4, "HARD_REBOOT": 5,
    "PASSWORD": 6, "REBOOT": 7, "REBUILD": 8, "RESCUE": 9, "RESIZE": 10, "SHUTOFF": 11,
    "SUSPENDED": 12, "UNKNOWN": 13, "VERIFY_RESIZE": 14, "MIGRATING": 15, "PAUSED": 16,
    "REVERT_RESIZE": 17, "SHELVED": 18, "SHELVED_OFFLOADED": 19, "SOFT_DELETED": 20,
}
VOLUME_STATUSES = {
    "creating": 0, "available": 1, "reserved": 2, "attaching": 3, "detaching": 4, "in-use": 5,
    "maintenance": 6, "deleting": 7, "awaiting-transfer": 8, "error": 9, "error_deleting": 10,
    "backing-up": 11, "restoring-backup": 12, "error_backing-up": 13, "error_restoring": 14,
    "error_extending": 15, "downloading": 16, "uploading": 17, "retyping": 18, "extending": 19,
}
SERVER_LABELS = ["id", "status", "name", "tenant_id", "user_id", "address_ipv4",
                 "address_ipv6", "host_id", "hypervisor_hostname", "uuid",
                 "availability_zone", "flavor_id", "instance_libvirt"]
HYPERVISOR_LABELS = ["hostname", "availability_zone", "aggregates"]
LIMITS_LABELS = ["tenant", "tenant_id"]
VOLUME_LABELS = ["id", "name", "status", "bootable", "tenant_id", "size", "volume_type",
                 "server_id"]


def gauge(name: str, doc: str, labels: list[str] | None = None) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


def nova_servers(cloud: Cloud) -> Iterator[Metric]:
    status = gauge("openstack_nova_server_status", "A server's status, as the index of"
                    " its name in openstack-exporter's table", SERVER_LABELS)
    for s in cloud.servers:
        host_id = hashlib.sha224(f"{s.tenant_id}{s.host}".encode()).hexdigest() if s.host else ""
        status.add_metric([s.id, s.status, s.name, s.tenant_id, s.user_id, "", "", host_id,
                           s.host, s.id, s.availability_zone, s.flavor_id, ""],
                          SERVER_STATUSES.get(s.status, -1))
    yield status
    total = gauge("openstack_nova_total_vms", "Servers not deleted")
    total.add_metric([], sum(cloud.servers_by_status.values()))
    yield total
    counts = gauge("nimbus_servers", "Servers not deleted, by status", ["status"])
    for name, n in sorted(cloud.servers_by_status.items()):
        counts.add_metric([name], n)
    yield counts


def nova_hypervisors(hosts: list[HostView]) -> Iterator[Metric]:
    gauges: dict[str, tuple[str, Callable[[HostView], int]]] = {
        "running_vms": ("Instances placed on the hypervisor", lambda h: h.running_vms),
        "vcpus_available": ("The hypervisor's vCPUs", lambda h: h.vcpus),
        "vcpus_used": ("vCPUs the hypervisor's instances claim", lambda h: h.vcpus_used),
        "memory_available_bytes": ("The hypervisor's memory",
                                   lambda h: h.memory_mb * MEBIBYTE),
        "memory_used_bytes": ("Memory the hypervisor's instances claim",
                              lambda h: h.memory_mb_used * MEBIBYTE),
        "local_storage_available_bytes": ("The hypervisor's local disk",
                                          lambda h: h.local_gb * GIBIBYTE),
        "local_storage_used_bytes": ("Local disk the hypervisor's instances claim",
                                     lambda h: h.local_gb_used * GIBIBYTE),
    }
    for name, (doc, value) in gauges.items():
        family = gauge(f"openstack_nova_{name}", doc, HYPERVISOR_LABELS)
        for host in hosts:
            family.add_metric([host.host, "nova", ""], value(host))
        yield family


def nova_limits(cloud: Cloud, defaults: QuotaDefaults) -> Iterator[Metric]:
    """Each project's compute limits (its overrides, else the defaults) and use."""
    base = defaults.as_dict()
    rows = {"instances": ("instances", "instances"), "vcpus": ("cores", "cores"),
            "memory": ("ram", "ram")}
    for name, (limit_key, used_key) in rows.items():
        high = gauge(f"openstack_nova_limits_{name}_max", f"The project's {name} limit"
                      " (-1: unlimited)", LIMITS_LABELS)
        used = gauge(f"openstack_nova_limits_{name}_used", f"The project's {name} in use",
                      LIMITS_LABELS)
        for q in cloud.quotas:
            high.add_metric([q.tenant, q.tenant_id], q.overrides.get(limit_key, base[limit_key]))
            used.add_metric([q.tenant, q.tenant_id], getattr(q, used_key))
        yield high
        yield used


def cinder_volumes(cloud: Cloud) -> Iterator[Metric]:
    status = gauge("openstack_cinder_volume_status", "A volume's status, as the index of"
                    " its name in openstack-exporter's table", VOLUME_LABELS)
    for v in cloud.volumes:
        status.add_metric([v.id, v.name, v.status, "false", v.tenant_id, str(v.size),
                           v.volume_type, v.server_id], VOLUME_STATUSES.get(v.status, -1))
    yield status
    total = gauge("openstack_cinder_volumes", "Volumes not deleted")
    total.add_metric([], sum(cloud.volumes_by_status.values()))
    yield total
    counts = gauge("openstack_cinder_volume_status_counter", "Volumes not deleted, by status",
                    ["status"])
    for name in {**VOLUME_STATUSES, **cloud.volumes_by_status}:
        counts.add_metric([name], cloud.volumes_by_status.get(name, 0))
    yield counts


def families(cloud: Cloud, hosts: list[HostView], defaults: QuotaDefaults) -> list[Metric]:
    return [*nova_servers(cloud), *nova_hypervisors(hosts), *nova_limits(cloud, defaults),
            *cinder_volumes(cloud)]
