"""Where a new instance runs, and what it claims there.

``place`` checks the project's quota, picks a host for each new instance and
returns the aggregates whose claims must be saved in the same transaction as
the instances (the project's quota and the chosen hosts' capacity), so two
racing boots can never both take the last of something: one of them meets a
version conflict and decides again (``NimbusApplication.execute`` calls
``place`` afresh). ``release`` gives back what a deleted instance held, in the
same transaction as its deletion. The hosts come from the fleet aggregate,
never from a view.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import partial

from commands.application import Aggregate, Change, NimbusApplication
from commands.messages import Caller
from commands.quotas import defaults_of, quota_of
from domain import host as hosts_model
from domain import quota as quota_model
from domain import server_group as group_model
from domain.catalog import Flavor
from domain.instance import Instance
from domain.registry import FLEET, HOST


class Placement:
    def __init__(
        self, app: NimbusApplication, hosts: list[str], *,
        quotas: quota_model.QuotaDefaults | None = None,
        ratios: hosts_model.AllocationRatios | None = None,
    ) -> None:
        self.app = app
        self.configured_hosts = hosts  # registered at start by HostCommands
        self.quotas = quotas or quota_model.QuotaDefaults()
        self.ratios = ratios or hosts_model.AllocationRatios()

    def place(self, instance_ids: list[uuid.UUID], flavor: Flavor, caller: Caller,
              at: datetime, *, only: frozenset[str] | None = None,
              policy: str | None = None) -> tuple[list[str] | None, list[Change]]:
        """A host for each new instance, and the claims to commit with the
        boot (one boot request may start several instances).

        Raises ``QuotaExceeded`` (403) before looking for hosts, as Nova
        does. When the hosts have no room for them all, no hosts (None) and
        the quota claim alone: the boot is still accepted, and its instances
        end in ERROR (``domain.instance.unplaced``), counted in the quota
        until they are deleted. ``only``: the hosts they may go to, if not
        all; ``policy``: the server group's they join, which places them
        among themselves too.
        """
        ids = [str(i) for i in instance_ids]
        quota = self.quota(caller.project_id)
        quota_claims = quota_model.claim(
            quota.current, defaults_of(self.app, self.quotas),
            project_id=caller.project_id, instance_ids=ids,
            vcpus=flavor.vcpus, ram=flavor.ram, at=at)
        hosts = [h for h in self.hosts() if only is None or h.state.host in only]
        try:
            claims = (hosts_model.place if policy is None
                      else partial(group_model.place, policy))(
                [h.state for h in hosts], self.ratios, instance_ids=ids,
                project_id=caller.project_id, vcpus=flavor.vcpus, memory_mb=flavor.ram,
                disk_gb=flavor.disk + flavor.ephemeral, at=at)
        except hosts_model.NoValidHost:
            return None, [(quota, quota_claims)]
        return [c.host for c in claims], [(quota, quota_claims), *(
            (h, [c for c in claims if c.host == h.state.host]) for h in hosts)]

    def release(self, instance: Instance, at: datetime) -> list[Change]:
        """What to commit with the deletion of ``instance``: its quota claim
        and its host claims given back (those it holds: both hosts' while it
        is being moved, as in VERIFY_RESIZE)."""
        quota = self.quota(instance.project_id)
        changes: list[Change] = [
            (quota, quota_model.release(quota.current, instance.id, at))]
        moving = instance.migration if instance.migration is not None \
            and instance.migration.in_progress else None
        held = {instance.host} | ({moving.source_host, moving.dest_host} if moving else set())
        for name in sorted(h for h in held if h):
            host = self.app.load_or_new(hosts_model.host_id(name), HOST)
            changes.append((host, hosts_model.release(host.current, instance.id, at)))
        return changes

    def quota(self, project_id: str) -> Aggregate[quota_model.Quota]:
        """The project's quota aggregate (new and empty if never used)."""
        return quota_of(self.app, project_id)

    def hosts(self) -> list[Aggregate[hosts_model.Host]]:
        """Every registered host's aggregate, loaded now."""
        fleet = self.app.find(FLEET, hosts_model.FLEET_ID)
        found = (self.app.find(HOST, hosts_model.host_id(name))
                 for name in sorted(fleet.state.hosts if fleet is not None else []))
        return [host for host in found if host is not None]
