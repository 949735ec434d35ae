"""Where a new instance runs, and what it claims there.

``place`` checks the project's quota, picks a host for each new instance and
returns the aggregates whose claims must be saved in the same transaction as
the instances (the project's quota and the chosen hosts' capacity), so two
racing boots can never both take the last of something: one of them meets a
version conflict and decides again (the caller's ``retrying`` attempt calls
``place`` afresh). ``release`` gives back what a deleted instance held, in the
same transaction as its deletion. The hosts come from the fleet aggregate,
never from a view.
"""

from __future__ import annotations

import uuid

from commands.application import Aggregate, NimbusApplication
from commands.messages import Caller
from commands.quotas import quota_of
from domain import host as hosts_model
from domain import quota as quota_model
from domain.catalog import Flavor
from domain.instance import Instance


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

    def place(
        self, instance_ids: list[uuid.UUID], flavor: Flavor, caller: Caller
    ) -> tuple[list[str], list[Aggregate]]:
        """A host for each new instance, and the claim aggregates to commit
        with the boot (one boot request may start several instances).

        Raises ``QuotaExceeded`` (403) before looking for hosts, as Nova
        does, then ``NoValidHost`` when the hosts have no room for them all.
        """
        at = self.app.clock()
        quota = self.quota(caller.project_id)
        for event in quota_model.claim(
            quota.state, self.quotas, project_id=caller.project_id,
            instance_ids=[str(i) for i in instance_ids], vcpus=flavor.vcpus, ram=flavor.ram,
            at=at,
        ):
            quota.record(event)
        candidates = self.hosts()
        chosen: list[str] = []
        touched: set[uuid.UUID] = set()
        for instance_id in instance_ids:
            best = hosts_model.choose(
                [a.state for a in candidates], self.ratios,
                vcpus=flavor.vcpus, memory_mb=flavor.ram, disk_gb=flavor.disk + flavor.ephemeral,
            )
            aggregate = next(a for a in candidates if a.state is best)
            aggregate.record(hosts_model.claim(
                best, instance_id=str(instance_id), project_id=caller.project_id,
                vcpus=flavor.vcpus, memory_mb=flavor.ram,
                disk_gb=flavor.disk + flavor.ephemeral, at=at,
            ))
            chosen.append(best.host)
            touched.add(aggregate.id)
        return chosen, [quota, *(a for a in candidates if a.id in touched)]

    def release(self, instance: Instance) -> list[Aggregate]:
        """The aggregates to commit with the deletion of ``instance``: its
        quota claim and its host claim given back (those it holds)."""
        at = self.app.clock()
        out: list[Aggregate] = []
        quota = self.app.load(quota_model.quota_id(instance.project_id))
        if quota is not None:
            released = quota_model.release(quota.state, instance.id, at)
            if released is not None:
                quota.record(released)
                out.append(quota)
        if instance.host:
            host = self.app.load(hosts_model.host_id(instance.host))
            if host is not None:
                freed = hosts_model.release(host.state, instance.id, at)
                if freed is not None:
                    host.record(freed)
                    out.append(host)
        return out

    def quota(self, project_id: str) -> Aggregate:
        """The project's quota aggregate (new and empty if never used)."""
        return quota_of(self.app, project_id)

    def hosts(self) -> list[Aggregate]:
        """Every registered host's aggregate, loaded now."""
        fleet = self.app.load(hosts_model.FLEET_ID)
        names = sorted(fleet.state.hosts) if fleet is not None else []
        out = []
        for name in names:
            loaded = self.app.load(hosts_model.host_id(name))
            if loaded is not None:
                out.append(loaded)
        return out

