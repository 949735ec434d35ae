"""Nova's /extensions: the frozen list of the v2 API's extensions, which
compute 2.1 still answers for old clients that look a feature up by alias
before using it. Since 2.1 no extension can be turned off, so Nova lists
every one, served or not; nimbus answers the same list (what nimbus serves
is what docs/compatibility.md says, and a path it does not serve is a 404).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from api import microversion
from api.context import claims
from domain.errors import NotFound

# (name, alias, description) as Nova's extension_info lists them
EXTENSIONS: tuple[tuple[str, str, str], ...] = (
    ("Multinic", "NMN", "Multiple network support."),
    ("DiskConfig", "OS-DCF", "Disk Management Extension."),
    ("ExtendedAvailabilityZone", "OS-EXT-AZ", "Extended Availability Zone support."),
    ("ImageSize", "OS-EXT-IMG-SIZE", "Adds image size to image listings."),
    ("ExtendedIps", "OS-EXT-IPS", "Adds type parameter to the ip list."),
    ("ExtendedIpsMac", "OS-EXT-IPS-MAC", "Adds mac address parameter to the ip list."),
    ("ExtendedServerAttributes", "OS-EXT-SRV-ATTR", "Extended Server Attributes support."),
    ("ExtendedStatus", "OS-EXT-STS", "Extended Status support."),
    ("FlavorDisabled", "OS-FLV-DISABLED", "Support to show the disabled status of a flavor."),
    ("FlavorExtraData", "OS-FLV-EXT-DATA", "Provide additional data for flavors."),
    ("SchedulerHints", "OS-SCH-HNT", "Pass arbitrary key/value pairs to the scheduler."),
    ("ServerUsage", "OS-SRV-USG", "Adds launched_at and terminated_at on Servers."),
    ("AccessIPs", "os-access-ips", "Access IPs support."),
    ("AdminActions", "os-admin-actions", "Enable admin-only server actions."),
    ("AdminPassword", "os-admin-password", "Admin password management support."),
    ("Agents", "os-agents", "Agents support."),
    ("Aggregates", "os-aggregates", "Admin-only aggregate administration."),
    ("AssistedVolumeSnapshots", "os-assisted-volume-snapshots",
     "Assisted volume snapshots."),
    ("AttachInterfaces", "os-attach-interfaces", "Attach interface support."),
    ("AvailabilityZone", "os-availability-zone", "1. Add availability_zone to the Create "
     "Server API. 2. Add availability zones describing."),
    ("BlockDeviceMapping", "os-block-device-mapping", "Block device mapping boot support."),
    ("ConsoleOutput", "os-console-output", "Console log output support, with tailing "
     "ability."),
    ("Consoles", "os-consoles", "Interactive Console support."),
    ("CreateBackup", "os-create-backup", "Create a backup of a server."),
    ("DeferredDelete", "os-deferred-delete", "Instance deferred delete."),
    ("Evacuate", "os-evacuate", "Enables server evacuation."),
    ("ExtendedVolumes", "os-extended-volumes", "Extended Volumes support."),
    ("FixedIPs", "os-fixed-ips", "Fixed IPs support."),
    ("FlavorAccess", "os-flavor-access", "Flavor access support."),
    ("FlavorExtraSpecs", "os-flavor-extra-specs", "Flavors extra specs support."),
    ("FlavorManage", "os-flavor-manage", "Flavor create/delete API support."),
    ("FlavorRxtx", "os-flavor-rxtx", "Support to show the rxtx status of a flavor."),
    ("FloatingIps", "os-floating-ips", "Floating IPs support."),
    ("Hosts", "os-hosts", "Admin-only host administration."),
    ("Hypervisors", "os-hypervisors", "Admin-only hypervisor administration."),
    ("InstanceActions", "os-instance-actions", "View a log of actions and events taken on "
     "an instance."),
    ("OSInstanceUsageAuditLog", "os-instance_usage_audit_log",
     "Admin-only Task Log Monitoring."),
    ("Keypairs", "os-keypairs", "Keypair Support."),
    ("Lock Server", "os-lock-server", "Enable lock/unlock server actions."),
    ("MigrateServer", "os-migrate-server", "Enable migrate and live-migrate server actions."),
    ("Migrations", "os-migrations", "Provide data on migrations."),
    ("MultipleCreate", "os-multiple-create", "Allow multiple create in the Create Server "
     "v2.1 API."),
    ("Networks", "os-networks", "Admin-only Network Management Extension."),
    ("PauseServer", "os-pause-server", "Enable pause/unpause server actions."),
    ("QuotaClasses", "os-quota-class-sets", "Quota classes management support."),
    ("Quotas", "os-quota-sets", "Quotas management support."),
    ("Rescue", "os-rescue", "Instance rescue mode."),
    ("SecurityGroups", "os-security-groups", "Security group support."),
    ("ServerDiagnostics", "os-server-diagnostics", "Allow Admins to view server "
     "diagnostics through server action."),
    ("ServerGroups", "os-server-groups", "Server group support."),
    ("ServerPassword", "os-server-password", "Server password support."),
    ("ServerStartStop", "os-server-start-stop", "Start/Stop instance compute API support."),
    ("Services", "os-services", "Services support."),
    ("Shelve", "os-shelve", "Instance shelve mode."),
    ("SimpleTenantUsage", "os-simple-tenant-usage", "Simple tenant usage extension."),
    ("SuspendServer", "os-suspend-server", "Enable suspend/resume server actions."),
    ("UsedLimits", "os-used-limits", "Provide data on limited resources that are being "
     "used."),
    ("UserData", "os-user-data", "Add user_data to the Create Server API."),
    ("Volumes", "os-volumes", "Volumes support."),
)


def _extension(name: str, alias: str, description: str) -> dict[str, Any]:
    return {"name": name, "alias": alias, "description": description, "links": [],
            "namespace": "http://docs.openstack.org/compute/ext/fake_xml",
            "updated": "2014-12-03T00:00:00Z"}


async def list_extensions(request: Request) -> Response:
    claims(request)
    return microversion.answer({"extensions": [_extension(*e) for e in EXTENSIONS]}, request)


async def show_extension(request: Request) -> Response:
    claims(request)
    alias = request.path_params["alias"]
    found = next((e for e in EXTENSIONS if e[1] == alias), None)
    if found is None:
        raise NotFound(f"Extension {alias} could not be found.")
    return microversion.answer({"extension": _extension(*found)}, request)


command_routes: list[BaseRoute] = []
query_routes: list[BaseRoute] = [
    Route("/compute/v2.1/extensions", list_extensions, methods=["GET"]),
    Route("/compute/v2.1/extensions/{alias}", show_extension, methods=["GET"]),
]
