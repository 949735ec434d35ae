"""Moves of a server: resize, cold migration, confirm, revert; and what follows each step.

A move's request is committed with the destination host's claim in one
transaction (the instance and the chosen host's aggregate, as a boot is),
so racing moves and boots never over-commit a host: the loser meets a
version conflict and decides again on the new claims. ``follow`` is what the
ingester (a host's report) and the deadline sweeper (no report) commit with
each outcome of a step (commands/migration_steps.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from commands.application import Aggregate, Change, NimbusApplication
from commands.catalog import CatalogLookups
from commands.instances import _accepted, _parse_id, _visible
from commands.messages import Accepted, InstanceCommand
from commands.placement import Placement
from commands.quotas import defaults_of
from domain import host as hosts_model
from domain import instance as model
from domain import live_migration as live
from domain import migration as rules
from domain import migration_events as mev
from domain import quota as quota_model
from domain.errors import InvalidInput
from domain.registry import HOST, INSTANCE

MIGRATION_NAMESPACE = uuid.UUID("3c7b1e2a-9f4d-4b8e-a1c6-7d2e5f8a9b30")


class ResizeInstance(InstanceCommand, frozen=True, kw_only=True):
    """Resize to ``flavor_ref``; none: cold migrate (same flavor, another host)."""

    requests = mev.InstanceResizeRequested
    flavor_ref: str | None = None
    host: str | None = None  # an admin's choice of destination (checked, not forced)


class LiveMigrateInstance(InstanceCommand, frozen=True, kw_only=True):
    """Live migrate, to ``host`` (checked: known, up, enabled, with room) or the
    one placement picks. ``block_migration`` "auto" is 2.25's default."""

    requests = mev.InstanceLiveMigrateRequested
    host: str | None = None
    block_migration: bool = False
    # 2.30's force: the named host is taken though it is disabled (Nova then skips
    # its scheduler's filters); its room is still claimed, so it is never over-committed
    force: bool = False


class ControlLiveMigration(InstanceCommand, frozen=True, kw_only=True):
    """force_complete (2.22) or abort (2.24) of the live migration ``migration_id``."""

    requests = mev.InstanceLiveMigrationRunRequested
    migration_id: str
    abort: bool = False


class ConfirmResize(InstanceCommand, frozen=True, kw_only=True):
    requests = mev.InstanceResizeConfirmRequested


class RevertResize(InstanceCommand, frozen=True, kw_only=True):
    requests = mev.InstanceResizeRevertRequested


def migration_id_for(request_id: str) -> str:
    return str(uuid.uuid5(MIGRATION_NAMESPACE, request_id))


def _no_valid_host() -> InvalidInput:
    return InvalidInput("No valid host was found. There are not enough hosts available.")


def check_destination(host: hosts_model.Host | None, name: str,
                      force: bool = False) -> hosts_model.Host:
    """An operator's named destination: known, enabled (unless ``force``d) and
    up, or 400 in Nova's words."""
    if host is None or not host.registered:
        raise InvalidInput(f"Compute host {name} could not be found.")
    if (host.disabled and not force) or host.forced_down:
        raise InvalidInput(f"Compute service of {name} is unavailable at this time.")
    return host


class MigrationCommands:
    def __init__(self, app: NimbusApplication, catalog: CatalogLookups,
                 placement: Placement) -> None:
        self.app = app
        self.catalog = catalog
        self.placement = placement

    def resize(self, cmd: ResizeInstance) -> Accepted:
        """Resize or cold migrate: the request and the destination's claim, in one commit."""
        instance_id = _parse_id(cmd.instance_id)
        flavor = (self.catalog.flavor(cmd.flavor_ref, cmd.caller)
                  if cmd.flavor_ref is not None else None)
        kind = mev.MigrationType.MIGRATION if flavor is None else mev.MigrationType.RESIZE

        def decide(instance: Aggregate[model.Instance], at: datetime) -> list[Change]:
            state = _visible(instance, cmd.caller)
            rules.check(state, mev.InstanceResizeRequested, is_admin=cmd.caller.is_admin)
            new = rules.size_of(state) if flavor is None else mev.Size(
                flavor_id=flavor.id, vcpus=flavor.vcpus, memory_mb=flavor.ram,
                disk_gb=flavor.disk)
            rules.check_flavor(state, new, kind)
            if cmd.host is not None and cmd.host == state.host:
                raise InvalidInput(f"Unable to migrate instance ({state.id}) to current host"
                                   f" ({state.host}).")
            # the project's quota holds the larger flavor until the resize ends
            # (commands/migration_steps.py settles it then); checked before any
            # host is looked for, as Nova's API checks it (403 before a 400)
            quota = self.placement.quota(state.project_id)
            grown = quota_model.resize_claim(
                quota.current, defaults_of(self.app, self.placement.quotas),
                project_id=state.project_id,
                instance_id=state.id, cores=max(state.vcpus, new.vcpus),
                ram=max(state.memory_mb, new.memory_mb), at=at)
            extra = flavor.ephemeral if flavor is not None else self._ephemeral(state)
            dest = self._destination(state, cmd.host, new, extra)
            asked = rules.start(state, migration_id=migration_id_for(cmd.request_id),
                                migration_type=kind, dest_host=dest.state.host, new=new,
                                request_id=cmd.request_id, user_id=cmd.caller.user_id, at=at,
                                is_admin=cmd.caller.is_admin)
            claim = hosts_model.claim(dest.state, instance_id=state.id,
                                      project_id=state.project_id, vcpus=new.vcpus,
                                      memory_mb=new.memory_mb, disk_gb=new.disk_gb + extra,
                                      at=at)
            return [(instance, asked), (dest, claim), (quota, grown)]

        return _accepted(self.app.execute(cmd.request_id, lambda: self._load(instance_id),
                                          decide, touches=[instance_id]))

    def confirm(self, cmd: ConfirmResize | RevertResize) -> Accepted:
        """Confirm (the source removes the old guest) or revert (the destination
        removes the new one first)."""
        instance_id = _parse_id(cmd.instance_id)
        step = rules.confirm if isinstance(cmd, ConfirmResize) else rules.revert

        def decide(instance: Aggregate[model.Instance], at: datetime) -> list[Change]:
            state = _visible(instance, cmd.caller)
            return [(instance, step(state, request_id=cmd.request_id,
                                    user_id=cmd.caller.user_id, at=at,
                                    is_admin=cmd.caller.is_admin))]

        return _accepted(self.app.execute(cmd.request_id, lambda: self._load(instance_id),
                                          decide, touches=[instance_id]))

    def live_migrate(self, cmd: LiveMigrateInstance) -> Accepted:
        """The live migration's request and the destination's claim, in one commit."""
        instance_id = _parse_id(cmd.instance_id)

        def decide(instance: Aggregate[model.Instance], at: datetime) -> list[Change]:
            state = _visible(instance, cmd.caller)
            rules.check(state, mev.InstanceLiveMigrateRequested, is_admin=cmd.caller.is_admin)
            if cmd.host is not None and cmd.host == state.host:
                raise InvalidInput(f"Unable to migrate instance ({state.id}) to current host"
                                   f" ({state.host}).")
            size, extra = rules.size_of(state), self._ephemeral(state)
            dest = self._destination(state, cmd.host, size, extra, force=cmd.force)
            asked = live.start(state, migration_id=migration_id_for(cmd.request_id),
                               dest_host=dest.state.host, block_migration=cmd.block_migration,
                               request_id=cmd.request_id, user_id=cmd.caller.user_id, at=at,
                               is_admin=cmd.caller.is_admin)
            claim = hosts_model.claim(dest.state, instance_id=state.id,
                                      project_id=state.project_id, vcpus=size.vcpus,
                                      memory_mb=size.memory_mb, disk_gb=size.disk_gb + extra,
                                      at=at)
            return [(instance, asked), (dest, claim)]

        return _accepted(self.app.execute(cmd.request_id, lambda: self._load(instance_id),
                                          decide, touches=[instance_id]))

    def control(self, cmd: ControlLiveMigration) -> Accepted:
        """Record force_complete or abort; the caller then tells the source host."""
        instance_id = _parse_id(cmd.instance_id)

        def decide(instance: Aggregate[model.Instance], at: datetime) -> list[Change]:
            state = _visible(instance, cmd.caller)
            if cmd.abort:
                return [(instance, live.abort(state, migration_id=cmd.migration_id,
                                              request_id=cmd.request_id,
                                              user_id=cmd.caller.user_id, at=at))]
            return [(instance, live.force_complete(
                state, migration_id=cmd.migration_id, request_id=cmd.request_id,
                user_id=cmd.caller.user_id, at=at))]

        return _accepted(self.app.execute(cmd.request_id, lambda: self._load(instance_id),
                                          decide, touches=[instance_id]))

    def _ephemeral(self, state: model.Instance) -> int:
        """The disk beyond the root disk its source claim holds (its flavor's ephemeral)."""
        source = self.app.find(HOST, hosts_model.host_id(state.host))
        held = source.state.claims.get(state.id) if source is not None else None
        return max(0, held.disk_gb - state.disk_gb) if held is not None else 0

    def _destination(self, state: model.Instance, named: str | None, new: mev.Size,
                     extra: int, force: bool = False) -> Aggregate[hosts_model.Host]:
        """The named host if it fits, else the one placement would choose
        (never the source: nova.conf's allow_resize_to_same_host is off)."""
        ratios = self.placement.ratios
        if named is not None:
            found = self.app.find(HOST, hosts_model.host_id(named))
            host = check_destination(found.state if found is not None else None, named, force)
            room = msgspec.structs.replace(host, disabled=False) if force else host
            if not hosts_model.fits(room, ratios, new.vcpus, new.memory_mb,
                                    new.disk_gb + extra):
                raise _no_valid_host()
            assert found is not None
            return found
        others = [h for h in self.placement.hosts() if h.state.host != state.host]
        try:
            best = hosts_model.choose([h.state for h in others], ratios, vcpus=new.vcpus,
                                      memory_mb=new.memory_mb, disk_gb=new.disk_gb + extra)
        except hosts_model.NoValidHost:
            raise _no_valid_host() from None
        return next(h for h in others if h.state.host == best.host)

    def _load(self, instance_id: uuid.UUID) -> Aggregate[model.Instance]:
        return self.app.load_or_new(instance_id, INSTANCE)
