"""Every command service over one event store: what the API and the ingester use."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from commands.application import NimbusApplication, Retries
from commands.backups import BackupCommands
from commands.catalog import CatalogLookups
from commands.event_store import SessionBounds
from commands.flavors import FlavorCommands
from commands.host_aggregates import HostAggregateCommands
from commands.hosts import HostCommands
from commands.identity import IdentityCommands
from commands.image_changes import ImageChangeCommands
from commands.image_files import ImageFiles
from commands.images import ImageCommands
from commands.instances import InstanceCommands
from commands.keypairs import KeypairCommands
from commands.migrations import MigrationCommands
from commands.networks import NetworkCommands
from commands.placement import Placement
from commands.qos_specs import QosSpecsCommands
from commands.quotas import QuotaCommands
from commands.server_groups import ServerGroupCommands
from commands.server_images import ServerImageCommands
from commands.snapshots import SnapshotCommands
from commands.upload_lease import UploadLease
from commands.volume_types import VolumeTypeCommands
from commands.volumes import VolumeCommands
from domain.host import AllocationRatios, Capacity
from domain.quota import QuotaDefaults


@dataclass(frozen=True)
class CloudLimits:
    """The configured limits placement enforces (from settings)."""

    quotas: QuotaDefaults = field(default_factory=QuotaDefaults)
    ratios: AllocationRatios = field(default_factory=AllocationRatios)
    host_capacity: Capacity = field(
        default_factory=lambda: Capacity(vcpus=16, memory_mb=32768, local_gb=500))


@dataclass
class Commands:
    app: NimbusApplication
    catalog: CatalogLookups
    placement: Placement
    instances: InstanceCommands
    upload_lease: UploadLease  # this process's, for the images it receives
    # where image bytes live; the composition root points it at <state_dir>/images
    image_files: ImageFiles = field(
        default_factory=lambda: ImageFiles(Path(tempfile.gettempdir()) / "nimbus-images"))
    # where volumes are made; the composition root sets the configured ones
    storage_hosts: list[str] = field(default_factory=lambda: ["storage1"])

    @classmethod
    def open(
        cls, database_url: str, hosts: list[str], *, limits: CloudLimits | None = None,
        bounds: SessionBounds | None = None, retries: Retries | None = None,
    ) -> Commands:
        """The command services; ``hosts`` (the configured hypervisor hosts)
        are registered with the configured capacity if they never registered.
        ``retries``: how decisions are taken again after a conflict (and counted)."""
        limits = limits or CloudLimits()
        app = NimbusApplication(database_url, bounds=bounds, retries=retries)
        catalog = CatalogLookups(app)
        placement = Placement(app, hosts, quotas=limits.quotas, ratios=limits.ratios)
        HostCommands(app).register_configured(hosts, limits.host_capacity, app.clock())
        return cls(app=app, catalog=catalog, placement=placement,
                   instances=InstanceCommands(app, catalog, placement),
                   upload_lease=UploadLease(database_url))

    @property
    def server_images(self) -> ServerImageCommands:
        """createImage: its image's bytes go where every image's go."""
        return ServerImageCommands(self.app, self.instances, self.image_files, self.upload_lease)

    @property
    def quotas(self) -> QuotaCommands:
        return QuotaCommands(self.app, self.placement.quotas)

    @property
    def hosts(self) -> HostCommands:
        return HostCommands(self.app)

    @property
    def host_aggregates(self) -> HostAggregateCommands:
        return HostAggregateCommands(self.app)

    @property
    def server_groups(self) -> ServerGroupCommands:
        return ServerGroupCommands(self.app)

    @property
    def identity(self) -> IdentityCommands:
        return IdentityCommands(self.app)  # stateless over the store

    @property
    def flavors(self) -> FlavorCommands:
        return FlavorCommands(self.app)

    @property
    def images(self) -> ImageCommands:
        return ImageCommands(self.app, self.image_files, self.upload_lease)

    @property
    def image_changes(self) -> ImageChangeCommands:
        return ImageChangeCommands(self.app)

    @property
    def volumes(self) -> VolumeCommands:
        return VolumeCommands(self.app, self.volume_types, self.placement.quotas)

    @property
    def qos_specs(self) -> QosSpecsCommands:
        return QosSpecsCommands(self.app)

    @property
    def volume_types(self) -> VolumeTypeCommands:
        return VolumeTypeCommands(self.app, self.storage_hosts)

    @property
    def snapshots(self) -> SnapshotCommands:
        return SnapshotCommands(self.app, self.placement.quotas)

    @property
    def backups(self) -> BackupCommands:
        return BackupCommands(self.app)

    @property
    def networks(self) -> NetworkCommands:
        return NetworkCommands(self.app, self.placement.quotas)

    @property
    def migrations(self) -> MigrationCommands:
        return MigrationCommands(self.app, self.catalog, self.placement)

    @property
    def keypairs(self) -> KeypairCommands:
        return KeypairCommands(self.app)

    def close(self) -> None:
        self.upload_lease.close()
        self.app.close()
