"""Writes the golden event log: every event type, as the write side stores it today.

Run ``python -m tests.golden.make_log`` (PostgreSQL needed: a throwaway
database is created on ``--server`` and dropped afterwards). It opens the
real command services (commands/services.py) on that database with a fixed
clock and fixed request ids, drives them through one scenario in which every
event type of ``domain.codec.EVENT_TYPES`` is written at least once (hosts'
reports are recorded as the ingester records them, through the services'
``record_outcome``), and dumps ``public.nimbus_events`` row by row in log
order into ``events.jsonl``: originator id, version, topic and the stored
state bytes as text, never re-encoded. ``tests/service/test_golden_log.py`` then
decodes, folds and projects that file and the frozen ``events-v*.jsonl``
without a database of its own. When to run it: README.md beside this file.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import itertools
import json
import os
import secrets
import sys
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from commands import idempotency as keys
from commands.backups import DeleteBackup, TakeBackup
from commands.catalog import ensure_defaults
from commands.flavors import NewFlavor
from commands.hosts import ForceHostDown, SetHostEnabled
from commands.image_files import ImageFiles
from commands.images import NewImage
from commands.ingest import step_recorders
from commands.messages import (
    BootInstance,
    Caller,
    DeleteInstance,
    DeleteInstanceMetadataItem,
    InstanceCommand,
    LockInstance,
    NicRequest,
    PauseInstance,
    RebootInstance,
    RebuildInstance,
    ResetInstanceState,
    ResumeInstance,
    SetInstanceMetadata,
    SetInstanceTags,
    StartInstance,
    StopInstance,
    SuspendInstance,
    UnlockInstance,
    UnpauseInstance,
    UpdateInstance,
)
from commands.migrations import (
    ConfirmResize,
    ControlLiveMigration,
    LiveMigrateInstance,
    ResizeInstance,
    RevertResize,
)
from commands.quotas import ResetQuotaLimits, SetQuotaClassLimits, SetQuotaLimits
from commands.server_images import CreateServerImage
from commands.services import Commands
from commands.snapshots import ChangeSnapshotMetadata, DeleteSnapshot, TakeSnapshot
from commands.volume_types import NewVolumeType, VolumeTypeChange, ensure_types
from commands.volumes import (
    AttachVolume,
    ChangeVolumeMetadata,
    CreateVolume,
    DeleteVolume,
    DetachVolume,
    RetypeVolume,
    UpdateVolume,
)
from domain import security_group as sg_model
from domain.codec import EVENT_TYPES, topic_of
from domain.host import Capacity, HostReport
from domain.idempotency import Use
from domain.identity import domain_id_of, member_id
from domain.image_patch import Operation
from domain.migration_events import Progress
from domain.volume import Target
from domain.volume_types import BACKENDS
from messaging.wire import GuestsObserved, HostOutcome, ObservedGuest, StepOutcome
from migrations.runner import upgrade

HERE = Path(__file__).resolve().parent
CURRENT = HERE / "events.jsonl"
FROZEN_GLOB = "events-v*.jsonl"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"

START = datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
COMPUTE_HOSTS = ["compute1", "compute2"]
STORAGE_HOST = "storage1"  # the default volume type's backend (domain/volume_types.py)
LEASE_OWNER = "00000000-0000-4000-8000-00000000901d"  # the upload lease of this run
PUBLIC_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMc9apYODuCMDlNQ8vfLiNA7jq0vRbsbwfC/QJiqoK7k"
ADMIN = Caller(user_id="golden-admin", project_id="golden-admin-project", is_admin=True)


class Clock:
    """The write side's clock: it stands still until the scenario moves it."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def tick(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@contextlib.contextmanager
def reproducible_salts() -> Iterator[None]:
    """Password hashes are salted with fresh random bytes from ``secrets``;
    for the same bytes on every run, this run's salts come from a counter."""
    counter = itertools.count()
    real = secrets.token_bytes

    def salt(nbytes: int | None = None) -> bytes:
        return hashlib.sha256(b"golden-salt-%d" % next(counter)).digest()[: nbytes or 32]

    secrets.token_bytes = salt
    try:
        yield
    finally:
        secrets.token_bytes = real


class Scenario:
    """One cloud's life in which every event type is written."""

    def __init__(self, cloud: Commands, clock: Clock) -> None:
        self.cloud = cloud
        self.clock = clock

    # ---- what the hosts report, recorded as commands/ingest.py records it ----

    def host_outcome(self, instance_id: str, request_id: str, host: str, *, ok: bool = True,
                     reason: str = "") -> None:
        self.cloud.instances.record_outcome(HostOutcome(
            instance_id=instance_id, request_id=request_id, host=host, ok=ok,
            at=self.clock.tick(), reason=reason))

    def step_outcome(self, subject_id: str, request_id: str, step: str, host: str, *,
                     ok: bool = True, reason: str = "", target: Target | None = None,
                     checksum: str = "", stored_bytes: int = 0) -> None:
        outcome = StepOutcome(aggregate_id=subject_id, request_id=request_id, step=step,
                              host=host, ok=ok, at=self.clock.tick(), reason=reason,
                              target=target, checksum=checksum, stored_bytes=stored_bytes)
        record = step_recorders(self.cloud.volumes, self.cloud.snapshots, self.cloud.backups)
        record[outcome.aggregate_kind](outcome)  # the ingester's routing

    # ---- the scenario ------------------------------------------------------

    def run(self) -> None:
        self.hosts()
        ensure_defaults(self.cloud.flavors, self.cloud.images)
        ensure_types(self.cloud.volume_types, {"golden-gold": [STORAGE_HOST]})
        caller = self.identity()
        self.flavors(caller)
        self.images(caller)
        self.keypairs(caller)
        self.quotas(caller)
        alpha = self.instances(caller)
        self.observations(caller, alpha)
        self.volume_types(caller)
        self.volumes(caller, alpha)
        self.networks(caller)
        self.server_image(caller)
        self.forced_down()
        self.image_changes(caller)
        self.migrations(caller)
        self.extra_specs()
        self.host_aggregates()
        self.server_groups(caller)

    def hosts(self) -> None:
        hosts = self.cloud.hosts
        hosts.register_configured(COMPUTE_HOSTS, Capacity(vcpus=16, memory_mb=32768,
                                                          local_gb=500), self.clock.tick())
        hosts.register(HostReport(host="compute1", vcpus=8, memory_mb=16384, local_gb=200,
                                  hypervisor_type="QEMU", hypervisor_version=8002000,
                                  host_ip="127.0.0.1", at=self.clock.tick()))
        self.clock.tick()
        hosts.set_enabled(SetHostEnabled(request_id="golden-host-disable", host="compute2",
                                         enabled=False, reason="maintenance"))
        self.clock.tick()
        hosts.set_enabled(SetHostEnabled(request_id="golden-host-enable", host="compute2",
                                         enabled=True))

    def forced_down(self) -> None:
        """compute2 forced down by an operator, then up again (os-services force-down)."""
        hosts = self.cloud.hosts
        self.clock.tick()
        hosts.force_down(ForceHostDown(request_id="golden-host-force-down", host="compute2",
                                       forced_down=True))
        self.clock.tick()
        hosts.force_down(ForceHostDown(request_id="golden-host-force-up", host="compute2",
                                       forced_down=False))

    def extra_specs(self) -> None:
        """The private flavor's extra specs set, then one of them deleted."""
        flavors = self.cloud.flavors
        self.clock.tick()
        flavors.set_extra_specs("golden-private", {"hw:numa_nodes": "1",
                                                   "hw:cpu_policy": "shared"},
                                ADMIN, "golden-flavor-extra-specs")
        self.clock.tick()
        flavors.delete_extra_spec("golden-private", "hw:cpu_policy", ADMIN,
                                  "golden-flavor-extra-spec-delete")

    def host_aggregates(self) -> None:
        """A zone's aggregate holding compute1, renamed, given metadata, emptied,
        deleted (os-aggregates)."""
        aggregates = self.cloud.host_aggregates
        self.clock.tick()
        created = aggregates.create("golden-rack", "golden-az", "golden-aggregate")
        (rack,) = created.state.aggregates
        self.clock.tick()
        aggregates.update(rack, "golden-rack-1", None, "golden-aggregate-update")
        self.clock.tick()
        aggregates.add_host(rack, "compute1", "golden-aggregate-add")
        self.clock.tick()
        aggregates.set_metadata(rack, {"ssd": "true", "gone": None}, "golden-aggregate-metadata")
        self.clock.tick()
        aggregates.remove_host(rack, "compute1", "golden-aggregate-remove")
        self.clock.tick()
        aggregates.delete(rack, "golden-aggregate-delete")

    def server_groups(self, caller: Caller) -> None:
        """An anti-affinity group, a server booted into it and deleted, the group deleted."""
        groups = self.cloud.server_groups
        self.clock.tick()
        group = groups.create("golden-apart", "anti-affinity", caller, "golden-server-group",
                              soft_allowed=False).state
        server, host = self.boot(caller, "golden-boot-grouped", "grouped",
                                 server_group=group.id)
        self.host_outcome(server, "golden-boot-grouped", host)
        self.act(DeleteInstance(request_id="golden-delete-grouped", caller=caller,
                                instance_id=server), host)
        self.clock.tick()
        groups.delete(group.id, caller, "golden-server-group-delete")

    def answer_pending(self, instance_id: str, caller: Caller, *, ok: bool = True,
                       reason: str = "") -> None:
        """The host of the instance's pending step reports on it."""
        pending = self.cloud.instances.instance(instance_id, caller).pending
        assert pending is not None
        self.host_outcome(instance_id, pending.request_id, "compute", ok=ok, reason=reason)

    def migrations(self, caller: Caller) -> None:
        """mover is cold migrated and confirmed; resized, its finish fails and is
        rolled back; resizer is resized and reverted, after a refused confirm;
        stuck's source refuses to shut it off."""
        moves = self.cloud.migrations
        mover, host = self.boot(caller, "golden-boot-mover", "mover")
        self.host_outcome(mover, "golden-boot-mover", host)
        self.clock.tick()
        on: dict[str, Any] = {"caller": caller, "instance_id": mover}
        moves.resize(ResizeInstance(request_id="golden-migrate-mover", **on))
        self.answer_pending(mover, caller)  # the source shut it off
        self.answer_pending(mover, caller)  # the destination started it
        self.clock.tick()
        moves.confirm(ConfirmResize(request_id="golden-confirm-mover", **on))
        self.answer_pending(mover, caller)
        self.clock.tick()
        moves.resize(ResizeInstance(request_id="golden-resize-mover", flavor_ref="2", **on))
        self.answer_pending(mover, caller)
        self.answer_pending(mover, caller, ok=False, reason="the destination refused it")
        self.answer_pending(mover, caller)  # the rollback
        resizer, host = self.boot(caller, "golden-boot-resizer", "resizer")
        self.host_outcome(resizer, "golden-boot-resizer", host)
        on = {"caller": caller, "instance_id": resizer}
        self.clock.tick()
        moves.resize(ResizeInstance(request_id="golden-resize-resizer", flavor_ref="2", **on))
        self.answer_pending(resizer, caller)
        self.answer_pending(resizer, caller)
        self.clock.tick()
        moves.confirm(ConfirmResize(request_id="golden-confirm-resizer", **on))
        self.answer_pending(resizer, caller, ok=False, reason="the source is busy")
        self.clock.tick()
        moves.confirm(RevertResize(request_id="golden-revert-resizer", **on))
        self.answer_pending(resizer, caller)
        self.answer_pending(resizer, caller)
        stuck, host = self.boot(caller, "golden-boot-stuck", "stuck")
        self.host_outcome(stuck, "golden-boot-stuck", host)
        self.clock.tick()
        moves.resize(ResizeInstance(request_id="golden-migrate-stuck", caller=caller,
                                    instance_id=stuck))
        self.answer_pending(stuck, caller, ok=False, reason="the guest would not stop")
        self.live_migrations(caller)

    def live_migrations(self, caller: Caller) -> None:
        """zeta live migrates, reporting its copy's progress, forced to complete;
        eta's live migration is aborted during its copy and rolled back."""
        moves = self.cloud.migrations
        for name in ("zeta", "eta"):
            server, host = self.boot(caller, f"golden-boot-{name}", name)
            self.host_outcome(server, f"golden-boot-{name}", host)
            self.clock.tick()
            on: dict[str, Any] = {"caller": caller, "instance_id": server}
            moves.live_migrate(LiveMigrateInstance(request_id=f"golden-live-{name}", **on))
            self.answer_pending(server, caller)  # the destination prepared it
            run = self.cloud.instances.instance(server, caller)
            assert run.pending is not None and run.migration is not None
            self.cloud.instances.record_outcome(HostOutcome(
                instance_id=server, request_id=run.pending.request_id, host="compute",
                ok=True, at=self.clock.tick(), final=False, progress=Progress(
                    memory_total_bytes=512 << 20, memory_processed_bytes=256 << 20,
                    memory_remaining_bytes=256 << 20)))
            self.clock.tick()
            moves.control(ControlLiveMigration(
                request_id=f"golden-live-control-{name}", migration_id=run.migration.id,
                abort=name == "eta", **on))
            if name == "zeta":
                for _ in range(3):  # copied (the switchover), resumed, cleaned up
                    self.answer_pending(server, caller)
            else:
                self.answer_pending(server, caller, ok=False, reason="cancelled")
                self.answer_pending(server, caller)  # the destination's definition removed
                self.answer_pending(server, caller)  # the source's guest runs

    def identity(self) -> Caller:
        identity = self.cloud.identity
        self.clock.tick()
        project = identity.create_project(request_id="golden-project", name="golden",
                                          description="Where the golden log happens").state
        self.clock.tick()
        identity.create_project(request_id="golden-project-doomed", name="doomed")
        self.clock.tick()
        identity.update_project(request_id="golden-project-doomed-disable", ref="doomed",
                                description="about to go", enabled=False)
        self.clock.tick()
        identity.change_project_tags(request_id="golden-project-doomed-tags", ref="doomed",
                                     change=lambda tags: [*tags, "legacy"])
        self.clock.tick()
        identity.delete_project(request_id="golden-project-doomed-delete", ref="doomed")
        self.clock.tick()
        identity.create_domain(request_id="golden-domain", name="golden-domain",
                               description="A domain of its own")
        self.clock.tick()
        identity.create_project(request_id="golden-domain-project", name="golden",
                                domain="golden-domain")
        self.clock.tick()
        identity.create_user(request_id="golden-domain-user", name="bob", password="pw",
                             domain="golden-domain", email="bob@example.org")
        self.clock.tick()
        identity.update_user(request_id="golden-domain-user-update", ref=str(
            member_id("user", "bob", domain_id_of("golden-domain"))), description="Bob",
            enabled=False)
        self.clock.tick()
        identity.update_domain(request_id="golden-domain-disable", ref="golden-domain",
                               enabled=False)
        self.clock.tick()
        identity.delete_domain(request_id="golden-domain-delete", ref="golden-domain")
        self.clock.tick()
        user = identity.create_user(request_id="golden-user", name="alice",
                                    password="first secret", default_project="golden").state
        self.clock.tick()
        identity.change_password(request_id="golden-user-password", ref="alice",
                                 password="second secret")
        for role in ("member", "netadmin"):
            self.clock.tick()
            identity.grant(request_id=f"golden-grant-{role}", user_ref="alice",
                           project_ref="golden", role=role)
        self.clock.tick()
        identity.revoke_role(request_id="golden-revoke-netadmin", user_ref="alice",
                             project_ref="golden", role="netadmin")
        self.clock.tick()
        custom = identity.roles.create(request_id="golden-role", name="auditor",
                                     description="Reads the books").state
        self.clock.tick()
        identity.roles.update(request_id="golden-role-rename", ref=custom.id, name="inspector")
        self.clock.tick()
        identity.roles.imply(request_id="golden-role-implies", prior=custom.id,
                             implied="reader")
        self.clock.tick()
        identity.roles.drop_implication(request_id="golden-role-implies-not",
                                        prior=custom.id, implied="reader")
        self.clock.tick()
        identity.grant(request_id="golden-grant-custom", user_ref="alice",
                       project_ref="golden", role=custom.id)
        self.clock.tick()
        group = identity.groups.create(request_id="golden-group", name="operators",
                                       description="Those on call").state
        self.clock.tick()
        identity.groups.update(request_id="golden-group-describe", ref=group.id,
                               description="Those on call this week")
        self.clock.tick()
        identity.groups.add_user(request_id="golden-group-alice", ref=group.id,
                                 user_ref="alice")
        for grant in ("member", custom.id):
            self.clock.tick()
            identity.groups.grant(request_id=f"golden-group-grant-{grant}", ref=group.id,
                                  role=grant, project_ref="golden")
        self.clock.tick()
        identity.groups.revoke(request_id="golden-group-revoke", ref=group.id, role="member",
                               project_ref="golden")
        self.clock.tick()
        identity.groups.remove_user(request_id="golden-group-alice-leaves", ref=group.id,
                                    user_ref="alice")
        self.clock.tick()
        identity.groups.delete(request_id="golden-group-delete", ref=group.id)
        self.clock.tick()
        identity.revoke_role(request_id="golden-revoke-custom", user_ref="alice",
                             project_ref="golden", role=custom.id)
        self.clock.tick()
        identity.roles.delete(request_id="golden-role-delete", ref=custom.id)
        self.clock.tick()
        service = identity.catalog.create("service", request_id="golden-service", attributes={
            "type": "golden-metering", "name": "ledger", "description": "Counts"}).state
        self.clock.tick()
        identity.catalog.update("service", request_id="golden-service-disable",
                                entry_id=service.id, change={"enabled": False})
        self.clock.tick()
        identity.catalog.create("endpoint", request_id="golden-endpoint", attributes={
            "service_id": service.id, "interface": "public", "url": "http://ledger.example",
            "region_id": "golden-region"})  # registers the region too
        self.clock.tick()
        identity.catalog.delete("service", request_id="golden-service-delete",
                                entry_id=service.id)
        self.clock.tick()
        credential = identity.credentials.create(
            request_id="golden-credential", user_id=user.id, project_id=project.id, type="ec2",
            sealed_blob="v1:c2VhbGVkIGJ5IHRoZSBBUEk=", access="golden-access").state
        self.clock.tick()
        identity.credentials.update(request_id="golden-credential-update",
                                    cred_id=credential.id, sealed_blob="v1:cmVzZWFsZWQ=")
        self.clock.tick()
        identity.credentials.delete(request_id="golden-credential-delete",
                                    cred_id=credential.id)
        self.clock.tick()
        app_credential, _ = identity.app_credentials.create(
            request_id="golden-app-credential", user_id=user.id, project_id=project.id,
            name="golden-ci", description="The pipeline's", roles=["member"],
            secret="golden app secret", expires_at="2100-01-01T00:00:00", unrestricted=False)
        self.clock.tick()
        identity.app_credentials.delete(request_id="golden-app-credential-delete",
                                        user_id=user.id, cred_id=app_credential.state.id)
        self.clock.tick()
        identity.create_user(request_id="golden-user-doomed", name="bob", password="bob's")
        self.clock.tick()
        identity.delete_user(request_id="golden-user-doomed-delete", ref="bob")
        self.clock.tick()
        identity.revoke_token(audit_id="golden-token-audit", user_id=user.id,
                              project_id=project.id)
        return Caller(user_id=user.id, project_id=project.id)

    def flavors(self, caller: Caller) -> None:
        flavors = self.cloud.flavors
        self.clock.tick()
        flavors.create(NewFlavor(name="golden.private", vcpus=1, ram=256, disk=1,
                                 flavor_id="golden-private", is_public=False,
                                 description="only for the golden project"),
                       ADMIN, "golden-flavor-private")
        for project, allow in ((caller.project_id, True), ("other", True), ("other", False)):
            self.clock.tick()
            flavors.grant("golden-private", project, ADMIN,
                          f"golden-flavor-access-{project}-{allow}", allow=allow)
        self.clock.tick()
        flavors.create(NewFlavor(name="golden.doomed", vcpus=2, ram=1024, disk=5,
                                 flavor_id="golden-doomed"), ADMIN, "golden-flavor-doomed")
        self.clock.tick()
        flavors.delete("golden-doomed", ADMIN, "golden-flavor-doomed-delete")

    def images(self, caller: Caller) -> None:
        images = self.cloud.images
        self.clock.tick()
        image = images.create(NewImage(name="golden-image", disk_format="qcow2",
                                       container_format="bare", tags=["golden"],
                                       properties={"os_distro": "cirros"}),
                              caller, "golden-image").state
        self.clock.tick()
        images.start_upload(image.id, caller, "golden-image-upload-1")
        self.clock.tick()
        images.fail_upload(image.id, "the client went away", "golden-image-upload-1")
        self.clock.tick()
        images.start_upload(image.id, caller, "golden-image-upload-2")
        self.clock.tick()
        stored = self.cloud.image_files.put(image.id, b"golden image bytes\n")
        images.finish_upload(image.id, stored, "golden-image-upload-2")
        self.clock.tick()
        images.delete(image.id, caller, "golden-image-delete")

    def image_changes(self, caller: Caller) -> None:
        """A PATCH, tags, deactivation and members of an active image (last in
        the scenario, so the rows before it keep their times)."""
        images, changes = self.cloud.images, self.cloud.image_changes
        self.clock.tick()
        image_id = images.create(NewImage(name="golden-shared", disk_format="raw",
                                          container_format="bare", tags=["golden"],
                                          properties={"os_distro": "cirros"}),
                                 caller, "golden-shared-image").state.id
        self.clock.tick()
        images.start_upload(image_id, caller, "golden-shared-image-upload")
        self.clock.tick()
        stored = self.cloud.image_files.put(image_id, b"golden shared bytes\n")
        images.finish_upload(image_id, stored, "golden-shared-image-upload")
        self.clock.tick()
        changes.update(image_id, [
            Operation(op="replace", path="/name", value="golden-image-renamed"),
            Operation(op="replace", path="/visibility", value="shared"),
            Operation(op="add", path="/hw_disk_bus", value="virtio"),
            Operation(op="remove", path="/os_distro"),
        ], caller, "golden-image-patch")
        self.clock.tick()
        changes.add_tag(image_id, "golden-tag", caller, "golden-image-tag")
        self.clock.tick()
        changes.remove_tag(image_id, "golden", caller, "golden-image-untag")
        self.clock.tick()
        changes.deactivate(image_id, ADMIN, "golden-image-deactivate")
        self.clock.tick()
        changes.reactivate(image_id, ADMIN, "golden-image-reactivate")
        member = Caller(user_id="golden-member", project_id="golden-member-project")
        self.clock.tick()
        changes.add_member(image_id, member.project_id, caller, "golden-image-member")
        self.clock.tick()
        changes.change_member(image_id, member.project_id, "accepted", member,
                              "golden-image-member-accept")
        self.clock.tick()
        changes.add_member(image_id, "golden-doomed-member", caller,
                           "golden-image-member-doomed")
        self.clock.tick()
        changes.remove_member(image_id, "golden-doomed-member", caller,
                              "golden-image-member-remove")
        changes.update(image_id, [  # in the same tick: the rows after keep their times
            Operation(op="replace", path="/owner", value="golden-new-owner"),
        ], ADMIN, "golden-image-give-away")
        self.clock.tick()
        images.delete(image_id, ADMIN, "golden-shared-image-delete")

    def keypairs(self, caller: Caller) -> None:
        keypairs = self.cloud.keypairs
        self.clock.tick()
        keypairs.create("golden-key", PUBLIC_KEY, caller, "golden-keypair")
        self.clock.tick()
        keypairs.create("golden-doomed-key", PUBLIC_KEY, caller, "golden-keypair-doomed")
        self.clock.tick()
        keypairs.delete("golden-doomed-key", caller, "golden-keypair-doomed-delete")

    def networks(self, caller: Caller) -> None:
        nets = self.cloud.networks
        admin = msgspec.structs.replace(caller, is_admin=True)
        tick = self.clock.tick
        tick()
        private = nets.create_network(caller, "golden-net", name="private").state.id
        tick()
        nets.update_network(caller, "golden-net-update", private, name="private-1")
        tick()
        subnet = nets.create_subnet(caller, "golden-subnet", private, name="private-subnet",
                                    cidr="10.0.0.0/24", dns_nameservers=["10.0.0.1"]).state.id
        tick()
        public = nets.create_network(admin, "golden-public", name="public",
                                     external=True).state.id
        tick()
        public_subnet = nets.create_subnet(admin, "golden-public-subnet", public,
                                           name="public-subnet", cidr="172.24.4.0/24").state.id
        tick()
        group = nets.create_security_group(caller, "golden-sg", name="web",
                                           description="ssh in").state.id
        tick()
        rule = nets.add_rule(caller, "golden-sg-rule", group, lambda rule_id: sg_model.rule(
            rule_id=rule_id, direction="ingress", protocol="tcp", port_range_min=22,
            port_range_max=22, remote_ip_prefix="0.0.0.0/0", remote_group_id=None)).state.id
        tick()
        nets.update_security_group(caller, "golden-sg-update", group, name="web",
                                   description="ssh and more")
        tick()
        port = nets.create_port(caller, "golden-port", private, name="web-port",
                                security_groups=(group,)).state.id
        tick()
        nets.update_port(caller, "golden-port-update", port, name="web-port-1")
        tick()
        nets.bind_port(caller, "golden-port-bind", port, device_id="golden-server",
                       host="compute1")
        tick()
        nets.activate_ports("network1", [port], "golden-port-active")
        server, host = self.boot(caller, "golden-boot-networked", "networked",
                                 networks=[NicRequest(network_id=private)])
        self.host_outcome(server, "golden-boot-networked", host)  # the guest runs, unplugged
        tick()
        (nic,) = self.cloud.instances.instance(server, caller).nics
        nets.activate_ports("network1", [nic.port_id], "golden-network1-plugged")
        self.act(DeleteInstance(request_id="golden-delete-networked", caller=caller,
                                instance_id=server), host)
        tick()
        fip = nets.create_floating_ip(caller, "golden-fip", public).state.id
        tick()
        nets.update_floating_ip(caller, "golden-fip-associate", fip, port_id=port)
        tick()
        nets.update_floating_ip(caller, "golden-fip-disassociate", fip, port_id=None)
        tick()
        nets.delete_floating_ip(caller, "golden-fip-delete", fip)
        tick()
        router = nets.create_router(caller, "golden-router", name="edge").state.id
        tick()
        nets.set_gateway(caller, "golden-router-gateway", router, public)
        tick()
        nets.add_interface(caller, "golden-router-interface", router, network_id=private,
                           subnet_id=subnet)
        tick()
        nets.remove_interface(caller, "golden-router-interface-remove", router,
                              subnet_id=subnet)
        tick()
        nets.set_gateway(caller, "golden-router-gateway-clear", router, None)
        tick()
        nets.delete_router(caller, "golden-router-delete", router)
        tick()
        nets.unbind_port(caller, "golden-port-unbind", port)
        tick()
        nets.delete_port(caller, "golden-port-delete", port)
        tick()
        nets.remove_rule(caller, "golden-sg-rule-delete", group, rule)
        tick()
        nets.delete_security_group(caller, "golden-sg-delete", group, in_use=False)
        tick()
        nets.delete_subnet(admin, "golden-public-subnet-delete", public, public_subnet)
        tick()
        nets.delete_network(admin, "golden-public-delete", public)

    def quotas(self, caller: Caller) -> None:
        quotas = self.cloud.quotas
        self.clock.tick()
        quotas.set_limits(SetQuotaLimits(request_id="golden-quota-set",
                                         project_id=caller.project_id,
                                         limits={"instances": 20, "cores": 40}))
        self.clock.tick()
        quotas.set_limits(SetQuotaLimits(request_id="golden-quota-set-other",
                                         project_id="other", limits={"instances": 1}))
        self.clock.tick()
        quotas.reset(ResetQuotaLimits(request_id="golden-quota-reset-other",
                                      project_id="other"))
        self.clock.tick()
        quotas.set_class_limits(SetQuotaClassLimits(
            request_id="golden-quota-class-default", class_name="default",
            limits={"key_pairs": 200}))

    def boot(self, caller: Caller, request_id: str, name: str, flavor_ref: str = "1",
             **extra: Any) -> tuple[str, str]:
        """Boot one instance; its id and host."""
        self.clock.tick()
        accepted = self.cloud.instances.boot(BootInstance(
            request_id=request_id, caller=caller, name=name, flavor_ref=flavor_ref,
            image_ref="cirros-0.6.2-x86_64-disk", **extra))
        instance = self.cloud.instances.instance(accepted.instance_id, caller)
        return accepted.instance_id, instance.host

    def act(self, command: InstanceCommand, host: str, *, ok: bool = True,
            reason: str = "") -> None:
        """A host operation requested, and its host's report on it."""
        self.clock.tick()
        self.cloud.instances.act(command)
        self.host_outcome(command.instance_id, command.request_id, host, ok=ok, reason=reason)

    def instances(self, caller: Caller) -> str:
        """alpha goes through every operation and ends active; beta fails to
        spawn; the id of alpha."""
        alpha, host = self.boot(
            caller, "golden-boot-alpha", "alpha-draft", flavor_ref="golden-private",
            key_name="golden-key", metadata={"role": "web", "drop": "me"},
            user_data=base64.b64encode(b"#!/bin/sh\necho golden\n").decode(),
            description="the instance that does everything", access_ip_v4="192.0.2.10",
            access_ip_v6="2001:db8::10")
        self.host_outcome(alpha, "golden-boot-alpha", host)
        operations: list[type[InstanceCommand]] = [
            PauseInstance, UnpauseInstance, SuspendInstance, ResumeInstance, StopInstance,
            StartInstance, RebootInstance]
        for operation in operations:
            name = operation.__name__.removesuffix("Instance").lower()
            self.act(operation(request_id=f"golden-{name}-alpha", caller=caller,
                               instance_id=alpha), host)
        on: dict[str, Any] = {"caller": caller, "instance_id": alpha}
        for change in (
            LockInstance(request_id="golden-lock-alpha", reason="golden", **on),
            UnlockInstance(request_id="golden-unlock-alpha", **on),
            UpdateInstance(request_id="golden-update-alpha", name="alpha",
                           description="renamed", description_set=True, **on),
            SetInstanceMetadata(request_id="golden-metadata-alpha", items={"tier": "gold"},
                                **on),
            DeleteInstanceMetadataItem(request_id="golden-metadata-drop-alpha", key="drop",
                                       **on),
            SetInstanceTags(request_id="golden-tags-alpha", tags=["gold", "web"], **on),
        ):
            self.clock.tick()
            self.cloud.instances.change(change)
        self.clock.tick()
        self.cloud.instances.rebuild(RebuildInstance(
            request_id="golden-rebuild-alpha", image_ref="cirros-0.6.2-x86_64-disk", **on))
        self.host_outcome(alpha, "golden-rebuild-alpha", host)
        beta, host = self.boot(caller, "golden-boot-beta", "beta")
        self.host_outcome(beta, "golden-boot-beta", host, ok=False,
                          reason="the hypervisor refused the domain")
        self.clock.tick()
        self.cloud.instances.change(ResetInstanceState(
            request_id="golden-reset-beta", caller=msgspec.structs.replace(caller, is_admin=True),
            instance_id=beta, state="error"))
        return alpha

    def server_image(self, caller: Caller) -> None:
        """createImage of a new server: requested, its host's copy taken,
        stored, active; then the server is deleted (the image stays). The copy
        is at a path relative to the scenario's folder, so the recorded
        ``image_file`` is the same on every run."""
        server, host = self.boot(caller, "golden-boot-snapshotted", "snapshotted")
        self.host_outcome(server, "golden-boot-snapshotted", host)
        self.clock.tick()
        written = self.cloud.server_images.create_image(CreateServerImage(
            request_id="golden-snapshot-snapshotted", caller=caller, instance_id=server,
            name="snapshotted-image", metadata={"purpose": "golden"}))
        copy = Path("outbox") / f"{written.state.snapshot_image}.qcow2"
        copy.parent.mkdir(exist_ok=True)
        copy.write_bytes(b"golden snapshot bytes\n")
        self.cloud.server_images.record_outcome(HostOutcome(
            instance_id=server, request_id="golden-snapshot-snapshotted", host=host,
            ok=True, at=self.clock.tick(), image_file=str(copy)))
        self.act(DeleteInstance(request_id="golden-delete-snapshotted", caller=caller,
                                instance_id=server), host)

    def observed(self, instance_id: str, host: str, state: str | None) -> None:
        """A host's report of one guest (None: it has none), as the ingester records it."""
        guests = [] if state is None else [ObservedGuest(instance_id=instance_id, state=state)]
        self.cloud.instances.record_observation(GuestsObserved(
            host=host, guests=guests, digest="golden", at=self.clock.tick(),
            instance_id=instance_id))

    def observations(self, caller: Caller, alpha: str) -> None:
        """alpha's host loses power and the reconciler brings it back, then its
        host sees it paused and running; then its guest goes missing (error),
        and a hard reboot makes it active again."""
        host = self.cloud.instances.instance(alpha, caller).host
        self.observed(alpha, host, "shutoff")  # observed stopped; the reconciler's start
        start = self.cloud.instances.instance(alpha, caller).pending
        assert start is not None
        self.host_outcome(alpha, start.request_id, host)
        self.observed(alpha, host, "paused")
        self.observed(alpha, host, "running")
        self.observed(alpha, host, None)
        self.act(RebootInstance(request_id="golden-hard-reboot-alpha", caller=caller,
                                instance_id=alpha, hard=True), host)

    def volume_types(self, caller: Caller) -> None:
        """A private type made, re-specified, renamed, granted, used and deleted."""
        types = self.cloud.volume_types
        self.clock.tick()
        made = types.create(NewVolumeType(name="golden-fast", description="fast disks",
                                          is_public=False, extra_specs={"tier": "fast"}),
                            ADMIN, "golden-type-fast").state
        self.clock.tick()
        types.set_specs(made.id, {BACKENDS: STORAGE_HOST, "tier": "faster"}, ADMIN,
                        "golden-type-specs")
        self.clock.tick()
        types.unset_spec(made.id, "tier", ADMIN, "golden-type-unset")
        self.clock.tick()
        types.update(made.id, VolumeTypeChange(name="golden-faster", description="faster"),
                     ADMIN, "golden-type-rename")
        for project, allow in ((caller.project_id, True), ("other", True), ("other", False)):
            self.clock.tick()
            types.grant(made.id, project, ADMIN, f"golden-type-access-{project}-{allow}",
                        allow=allow)
        fast = self.create_volume(caller, "golden-volume-fast", "fast",
                                  volume_type="golden-faster")
        self.clock.tick()
        self.cloud.volumes.retype(RetypeVolume(request_id="golden-volume-retype", caller=caller,
                                               volume_id=fast, new_type="__DEFAULT__"))
        self.qos_specs(made.id)
        self.clock.tick()
        types.delete(made.id, ADMIN, "golden-type-delete")

    def qos_specs(self, type_id: str) -> None:
        """A QoS spec made, re-keyed, associated with a type and let go, deleted."""
        qos = self.cloud.qos_specs
        self.clock.tick()
        made = qos.create("golden-qos", "front-end", {"read_iops_sec": "2000"}, ADMIN,
                          "golden-qos").state
        self.clock.tick()
        qos.set_keys(made.id, {"write_iops_sec": "1000"}, ADMIN, "golden-qos-keys")
        self.clock.tick()
        qos.unset_keys(made.id, ["read_iops_sec"], ADMIN, "golden-qos-unset")
        self.clock.tick()
        qos.associate(made.id, type_id, ADMIN, "golden-qos-associate")
        self.clock.tick()
        qos.disassociate(made.id, None, ADMIN, "golden-qos-disassociate")
        self.clock.tick()
        qos.delete(made.id, ADMIN, "golden-qos-delete", force=False)

    def volumes(self, caller: Caller, alpha: str) -> None:
        volumes = self.cloud.volumes
        alpha_host = self.cloud.instances.instance(alpha, caller).host
        # a create with an Idempotency-Key, as the API makes one (api/idempotency.py)
        use = Use(key="golden-idempotency-key", user_id=caller.user_id,
                  route=f"POST /volume/v3/{caller.project_id}/volumes",
                  body_digest=hashlib.sha256(b'{"volume": {"size": 1}}').hexdigest())
        keys.use_key(use)
        try:
            data = self.create_volume(caller, use.request_id, "data-draft")
        finally:
            keys.use_key(None)
        self.clock.tick()
        volumes.update(UpdateVolume(request_id="golden-volume-update", caller=caller,
                                    volume_id=data, name="data", description="renamed"))
        self.clock.tick()
        volumes.change_metadata(ChangeVolumeMetadata(
            request_id="golden-volume-metadata", caller=caller, volume_id=data,
            given={"purpose": "golden"}))
        self.attach(caller, data, alpha, "golden-attach-data", alpha_host)
        self.clock.tick()
        volumes.detach(DetachVolume(request_id="golden-detach-data", caller=caller,
                                    server_id=alpha, volume_id=data))
        self.step_outcome(data, "golden-detach-data", "VolumeDetachRequested", alpha_host)
        self.step_outcome(data, "golden-detach-data", "VolumeUnexportRequested", STORAGE_HOST)
        self.snapshots(caller, data)
        self.backups(caller, data)
        self.clock.tick()
        volumes.delete(DeleteVolume(request_id="golden-volume-delete", caller=caller,
                                    volume_id=data))
        self.step_outcome(data, "golden-volume-delete", "VolumeDeleteRequested", STORAGE_HOST)
        self.clock.tick()
        broken = volumes.create(CreateVolume(request_id="golden-volume-broken", caller=caller,
                                             size_gb=1, name="broken")).state.id
        self.step_outcome(broken, "golden-volume-broken", "VolumeCreateRequested",
                          STORAGE_HOST, ok=False, reason="no space left on the backing store")
        self.server_delete_detaches(caller)

    def create_volume(self, caller: Caller, request_id: str, name: str, **extra: Any) -> str:
        """A volume the storage host made; its id."""
        self.clock.tick()
        volume = self.cloud.volumes.create(CreateVolume(
            request_id=request_id, caller=caller, size_gb=extra.pop("size_gb", 1), name=name,
            description=f"{name} volume", **extra)).state
        self.step_outcome(volume.id, request_id, "VolumeCreateRequested", STORAGE_HOST)
        return volume.id

    def attach(self, caller: Caller, volume_id: str, server_id: str, request_id: str,
               compute_host: str) -> None:
        """Attached: exported by the storage host, then added by the compute host."""
        self.clock.tick()
        self.cloud.volumes.attach(AttachVolume(request_id=request_id, caller=caller,
                                               server_id=server_id, volume_id=volume_id))
        target = Target(portal="127.0.0.1:3260", iqn=f"iqn.2010-10.org.openstack:{volume_id}",
                        lun=1)
        self.step_outcome(volume_id, request_id, "VolumeAttachRequested", STORAGE_HOST,
                          target=target)
        self.step_outcome(volume_id, request_id, "VolumeExported", compute_host)

    def snapshots(self, caller: Caller, volume_id: str) -> None:
        snapshots = self.cloud.snapshots
        self.clock.tick()
        taken = snapshots.take(TakeSnapshot(request_id="golden-snapshot", caller=caller,
                                            volume_id=volume_id, name="data-snap")).state
        self.step_outcome(taken.id, "golden-snapshot", "SnapshotCreateRequested", STORAGE_HOST)
        self.clock.tick()
        snapshots.change_metadata(ChangeSnapshotMetadata(
            request_id="golden-snapshot-metadata", caller=caller, snapshot_id=taken.id,
            given={"purpose": "golden"}))
        self.create_volume(caller, "golden-volume-from-snapshot", "from-snapshot",
                           snapshot_id=taken.id, size_gb=None)
        self.clock.tick()
        failed = snapshots.take(TakeSnapshot(request_id="golden-snapshot-failed",
                                             caller=caller, volume_id=volume_id,
                                             name="failed-snap")).state
        self.step_outcome(failed.id, "golden-snapshot-failed", "SnapshotCreateRequested",
                          STORAGE_HOST, ok=False, reason="the backing store is read-only")
        self.clock.tick()
        forced = snapshots.take(TakeSnapshot(request_id="golden-snapshot-forced",
                                             caller=caller, volume_id=volume_id,
                                             name="forced-snap")).state
        self.clock.tick()
        snapshots.report_progress(forced.id, "creating", "50%", caller,
                                  "golden-snapshot-progress")
        self.clock.tick()
        snapshots.reset_status(forced.id, "error", ADMIN, "golden-snapshot-reset")
        self.clock.tick()
        snapshots.force_delete(forced.id, ADMIN, "golden-snapshot-force-delete")
        self.step_outcome(forced.id, "golden-snapshot-force-delete", "SnapshotDeleteRequested",
                          STORAGE_HOST)
        for snapshot_id, request_id in ((failed.id, "golden-snapshot-failed-delete"),
                                        (taken.id, "golden-snapshot-delete")):
            self.clock.tick()
            snapshots.delete(DeleteSnapshot(request_id=request_id, caller=caller,
                                            snapshot_id=snapshot_id))
            self.step_outcome(snapshot_id, request_id, "SnapshotDeleteRequested",
                              STORAGE_HOST)

    def backups(self, caller: Caller, volume_id: str) -> None:
        backups = self.cloud.backups
        self.clock.tick()
        taken = backups.take(TakeBackup(request_id="golden-backup", caller=caller,
                                        volume_id=volume_id, name="data-backup")).state
        self.step_outcome(taken.id, "golden-backup", "BackupCreateRequested", STORAGE_HOST,
                          checksum=hashlib.sha256(b"\0" * 1024).hexdigest(), stored_bytes=1024)
        self.create_volume(caller, "golden-volume-restored", "restored", backup_id=taken.id,
                           size_gb=None)
        self.clock.tick()
        failed = backups.take(TakeBackup(request_id="golden-backup-failed", caller=caller,
                                         volume_id=volume_id, name="failed-backup")).state
        self.step_outcome(failed.id, "golden-backup-failed", "BackupCreateRequested",
                          STORAGE_HOST, ok=False, reason="the archive could not be written")
        self.clock.tick()
        backups.reset_status(failed.id, "error", ADMIN, "golden-backup-reset")
        self.clock.tick()
        backups.delete(DeleteBackup(request_id="golden-backup-failed-delete", caller=caller,
                                    backup_id=failed.id))
        self.step_outcome(failed.id, "golden-backup-failed-delete", "BackupDeleteRequested",
                          STORAGE_HOST)

    def server_delete_detaches(self, caller: Caller) -> None:
        """gamma is deleted with a volume attached: the volume detaches in the
        delete's own commit, then the hosts end the attachment and the instance."""
        gamma, host = self.boot(caller, "golden-boot-gamma", "gamma")
        self.host_outcome(gamma, "golden-boot-gamma", host)
        disk = self.create_volume(caller, "golden-volume-gamma", "gamma-disk")
        self.attach(caller, disk, gamma, "golden-attach-gamma", host)
        self.clock.tick()
        self.cloud.instances.act(DeleteInstance(request_id="golden-delete-gamma",
                                                caller=caller, instance_id=gamma))
        self.step_outcome(disk, "golden-delete-gamma", "VolumeDetachRequested", host)
        self.step_outcome(disk, "golden-delete-gamma", "VolumeUnexportRequested", STORAGE_HOST)
        self.host_outcome(gamma, "golden-delete-gamma", host)


# ---- the log as stored ------------------------------------------------------

def dump(database_url: str) -> str:
    """Every row of the event store in log order, one JSON object a line,
    the state bytes as the text they are (msgspec JSON), not re-encoded."""
    lines = []
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT originator_id, originator_version, topic, state FROM public.nimbus_events"
            " ORDER BY notification_id").fetchall()
    for originator_id, version, topic, state in rows:
        lines.append(json.dumps({"originator_id": str(originator_id),
                                 "originator_version": version, "topic": topic,
                                 "state": bytes(state).decode("utf-8")}, ensure_ascii=False))
    return "".join(f"{line}\n" for line in lines)


def topics(text: str) -> set[str]:
    return {json.loads(line)["topic"] for line in text.splitlines()}


@contextlib.contextmanager
def throwaway_database(server_url: str) -> Iterator[str]:
    """A new, migrated database on the server, dropped afterwards."""
    name = f"nimbus_golden_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_conninfo(server_url, dbname=name)
    try:
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


def generate(server_url: str) -> str:
    """The golden log as the current code writes it."""
    with throwaway_database(server_url) as url, tempfile.TemporaryDirectory() as files, \
            reproducible_salts():
        clock = Clock()
        # no configured hosts yet: the scenario registers them on its own clock
        cloud = Commands.open(url, [])
        cloud.app.clock = clock
        cloud.image_files = ImageFiles(Path(files))
        cloud.upload_lease.owner = LEASE_OWNER  # recorded with each upload, so fixed
        try:
            with contextlib.chdir(files):  # where a host's copies are, by a relative path
                Scenario(cloud, clock).run()
        finally:
            cloud.close()
        text = dump(url)
    missing = {topic_of(cls) for cls in EVENT_TYPES.values()} - topics(text)
    if missing:
        raise SystemExit(f"the scenario writes no {', '.join(sorted(missing))}: extend "
                         "Scenario in tests/golden/make_log.py")
    return text


def frozen_files() -> list[Path]:
    return sorted(HERE.glob(FROZEN_GLOB), key=lambda p: int(p.stem.rpartition("-v")[2]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.golden.make_log",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--server", default=os.environ.get("NIMBUS_TEST_DATABASE_URL",
                                                           DEFAULT_SERVER),
                        help="a PostgreSQL server to make a throwaway database on "
                             "(default: $NIMBUS_TEST_DATABASE_URL or %(default)s)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="write nothing; fail if the code writes other bytes than "
                           "events.jsonl holds")
    mode.add_argument("--freeze", action="store_true",
                      help="also keep the new file as the next events-vN.jsonl")
    args = parser.parse_args(argv)
    text = generate(args.server)
    committed = CURRENT.read_text() if CURRENT.exists() else ""
    if args.check:
        if text != committed:
            print(f"{CURRENT} differs from what the code writes now", file=sys.stderr)
            return 1
        print(f"{CURRENT} is what the code writes")
        return 0
    gone = topics(committed) - topics(text) if committed else set()
    if gone:
        print(f"refusing to write {CURRENT.name}: the code no longer writes "
              f"{', '.join(sorted(gone))}. A stored topic must keep resolving: keep the class "
              "where it was (or its old topic decodable) instead of regenerating.",
              file=sys.stderr)
        return 1
    CURRENT.write_text(text)
    print(f"wrote {CURRENT} ({len(text.splitlines())} events)")
    if args.freeze:
        number = 1 + max((int(p.stem.rpartition("-v")[2]) for p in frozen_files()), default=0)
        frozen = HERE / f"events-v{number}.jsonl"
        frozen.write_text(text)
        print(f"froze it as {frozen}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
