"""Cinder's ``extensions``: the API extensions nimbus serves, each as Cinder
names it (a client reads an alias to learn what it may call)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api.volume.requests import PREFIX, caller_in_path

UPDATED = "2026-01-01T00:00:00Z"
# (name, alias, description) of each extension whose calls are served
SERVED = (
    ("AvailabilityZones", "os-availability-zone", "Describe Availability Zones."),
    ("Backups", "backups", "Backups support."),
    ("ExtendedSnapshotAttributes", "os-extended-snapshot-attributes",
     "Extended SnapshotAttributes support."),
    ("Hosts", "os-hosts", "Admin-only host administration."),
    ("Qos_specs_manage", "qos-specs", "QoS specs support."),
    ("QuotaClasses", "os-quota-class-sets", "Quota classes management support."),
    ("Quotas", "os-quota-sets", "Quota management support."),
    ("SchedulerStats", "scheduler-stats", "Scheduler stats support."),
    ("Services", "os-services", "Services support."),
    ("TypesExtraSpecs", "os-types-extra-specs", "Type extra specs support."),
    ("TypesManage", "os-types-manage", "Types manage support."),
    ("VolumeHostAttribute", "os-vol-host-attr", "Expose host as an attribute of a volume."),
    ("VolumeTenantAttribute", "os-vol-tenant-attr",
     "Expose the internal project_id as an attribute of a volume."),
    ("VolumeTypeAccess", "os-volume-type-access", "Volume type access support."),
)


async def list_extensions(request: Request) -> Response:
    caller_in_path(request)  # any caller in their own project's URL
    return JSONResponse({"extensions": [
        {"name": name, "alias": alias, "description": description, "updated": UPDATED,
         "links": [], "namespace": f"https://docs.openstack.org/volume/ext/{alias}/api/v1"}
        for name, alias, description in SERVED]})


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [Route(f"{PREFIX}/extensions", list_extensions, methods=["GET"])]
