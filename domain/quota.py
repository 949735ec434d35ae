"""Per-project quotas: limits, usage claims, and the decisions over them.

A project's quota is one aggregate. Its limits are the cloud's defaults (the
seed's ``quota_*`` flags) overridden by an admin; its usage is the set of
claims its instances hold. A boot records its claim on this aggregate in the
same transaction as the instance, so two racing boots cannot both take the
last of a limit: the second meets a version conflict and decides again.
Messages are Nova's, word for word.

Nova's quota classes (os-quota-class-sets) are quota aggregates too, keyed
by ``class_key(name)`` in place of a project id, whose overrides are the
class's limits; the ``default`` class's change the defaults every project
without overrides of its own has (``with_class``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

import msgspec

from domain.base import Event, UnknownEvent, unknown_event
from domain.errors import Conflict, Forbidden, InvalidInput, TooLarge

NAMESPACE = uuid.UUID("a3f6e1d2-4b5c-4d7e-8f90-1a2b3c4d5e6f")
UNLIMITED = -1

# Claimed by instances; counted from the claims (Nova's "counted" resources).
COUNTED = ("instances", "cores", "ram")


class QuotaDefaults(msgspec.Struct, frozen=True, kw_only=True):
    """The cloud-wide default limits (nova.conf's quota_* flags)."""

    instances: int = 10
    cores: int = 20
    ram: int = 51200
    floating_ips: int = 10
    fixed_ips: int = UNLIMITED
    metadata_items: int = 128
    injected_files: int = 5
    injected_file_content_bytes: int = 10240
    injected_file_path_bytes: int = 255
    key_pairs: int = 100
    security_groups: int = 10
    security_group_rules: int = 20
    server_groups: int = 10
    server_group_members: int = 10
    volumes: int = 10
    gigabytes: int = 1000
    snapshots: int = 10
    backups: int = 10
    backup_gigabytes: int = 1000
    per_volume_gigabytes: int = UNLIMITED
    groups: int = 10  # Cinder's generic volume groups (none are made yet)

    def as_dict(self) -> dict[str, int]:
        return msgspec.structs.asdict(self)


RESOURCES: tuple[str, ...] = QuotaDefaults.__struct_fields__


def quota_id(project_id: str) -> uuid.UUID:
    """The quota aggregate of a project (one per project, found by its id)."""
    return uuid.uuid5(NAMESPACE, project_id)


DEFAULT_CLASS = "default"  # the one class Nova applies: the defaults


def class_key(name: str) -> str:
    """What stands for the project id in a quota class's events (no project
    id has this form: Keystone's are hex)."""
    return f"quota-class:{name}"


def with_class(defaults: QuotaDefaults, state: Quota | None) -> QuotaDefaults:
    """The configured defaults as a quota class (its state) changed them."""
    return defaults if state is None or not state.overrides else msgspec.structs.replace(
        defaults, **{k: v for k, v in state.overrides.items() if k in RESOURCES})


def set_class_limits(name: str, *, request_id: str, limits: dict[str, int],
                     at: datetime) -> QuotaLimitsSet:
    """An admin's new limits for a quota class: each an integer >= -1 (no
    usage to be above: a class is no project)."""
    return set_limits(None, QuotaDefaults(), project_id=class_key(name),
                      request_id=request_id, limits=limits, force=True, at=at)


class QuotaEvent(Event, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "quota"
    project_id: str


class QuotaLimitsSet(QuotaEvent, frozen=True, kw_only=True):
    """An admin set some of the project's limits (the others are unchanged)."""

    request_id: str
    limits: dict[str, int]


class QuotaLimitsReset(QuotaEvent, frozen=True, kw_only=True):
    """An admin deleted the project's overrides: the defaults apply again (to
    ``resources`` only, as Cinder's delete of its own; none named: to all)."""

    request_id: str
    resources: list[str] = []


class QuotaUsageClaimed(QuotaEvent, frozen=True, kw_only=True):
    """A new instance holds this much of the project's quota (``replaces``:
    an instance's claim changes, as a resize's does)."""

    instance_id: str
    instances: int
    cores: int
    ram: int
    replaces: bool = False


class QuotaUsageReleased(QuotaEvent, frozen=True, kw_only=True):
    """A deleted instance gave its claim back."""

    instance_id: str


class QuotaVolumeClaimed(QuotaEvent, frozen=True, kw_only=True):
    """A new volume holds one of the project's volumes and its size in gigabytes."""

    volume_id: str
    gigabytes: int


class QuotaVolumeReleased(QuotaEvent, frozen=True, kw_only=True):
    """A deleted volume gave its claim back."""

    volume_id: str


class QuotaSnapshotClaimed(QuotaEvent, frozen=True, kw_only=True):
    """A new snapshot holds one of the project's snapshots and its size in gigabytes."""

    snapshot_id: str
    gigabytes: int


class QuotaSnapshotReleased(QuotaEvent, frozen=True, kw_only=True):
    snapshot_id: str


class QuotaNetworkClaimed(QuotaEvent, frozen=True, kw_only=True):
    """A new floating IP or security group holds one of the project's ``resource``."""

    owner_id: str
    resource: str  # "floating_ips" | "security_groups"


class QuotaNetworkReleased(QuotaEvent, frozen=True, kw_only=True):
    owner_id: str


NETWORK_RESOURCES = ("floating_ips", "security_groups")

AnyQuotaEvent = (QuotaLimitsSet | QuotaLimitsReset | QuotaUsageClaimed | QuotaUsageReleased
                 | QuotaVolumeClaimed | QuotaVolumeReleased | QuotaSnapshotClaimed
                 | QuotaSnapshotReleased | QuotaNetworkClaimed | QuotaNetworkReleased)


class Usage(msgspec.Struct, frozen=True, kw_only=True):
    instances: int = 0
    cores: int = 0
    ram: int = 0
    volumes: int = 0
    gigabytes: int = 0
    snapshots: int = 0
    floating_ips: int = 0
    security_groups: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(instances=self.instances + other.instances,
                     cores=self.cores + other.cores, ram=self.ram + other.ram,
                     volumes=self.volumes + other.volumes,
                     gigabytes=self.gigabytes + other.gigabytes,
                     snapshots=self.snapshots + other.snapshots,
                     floating_ips=self.floating_ips + other.floating_ips,
                     security_groups=self.security_groups + other.security_groups)

    def __neg__(self) -> Usage:
        return Usage(instances=-self.instances, cores=-self.cores, ram=-self.ram,
                     volumes=-self.volumes, gigabytes=-self.gigabytes,
                     snapshots=-self.snapshots, floating_ips=-self.floating_ips,
                     security_groups=-self.security_groups)

    def get(self, resource: str) -> int:
        value: int = getattr(self, resource, 0)
        return value


class Quota(msgspec.Struct, frozen=True, kw_only=True):
    """What the write side knows of a project's quota: enough to decide.

    ``used`` is the claims' running sum, so deciding does not add up every
    claim the project holds."""

    project_id: str
    overrides: dict[str, int] = {}
    claims: dict[str, Usage] = {}
    used: Usage = Usage()

    def limits(self, defaults: QuotaDefaults) -> dict[str, int]:
        return {**defaults.as_dict(), **self.overrides}

    def in_use(self) -> Usage:
        return self.used

    def claimed(self, claimant: str, usage: Usage) -> Quota:
        """With ``claimant``'s claim (in place of any it had)."""
        before = self.claims.get(claimant)
        used = self.used + usage if before is None else self.used + usage + -before
        return msgspec.structs.replace(self, claims={**self.claims, claimant: usage}, used=used)

    def released(self, claimant: str) -> Quota:
        """Without ``claimant``'s claim (as it was, if it had none)."""
        before = self.claims.get(claimant)
        if before is None:
            return self
        claims = dict(self.claims)  # a copy at C speed: states are shared, never changed
        del claims[claimant]
        return msgspec.structs.replace(self, claims=claims, used=self.used + -before)


def evolve(state: Quota | None, event: QuotaEvent, _aggregate_id: str) -> Quota:
    if not isinstance(event, AnyQuotaEvent):
        raise UnknownEvent(event, "quota")
    quota = state or Quota(project_id=event.project_id)
    match event:
        case QuotaLimitsSet():
            return msgspec.structs.replace(quota, overrides={**quota.overrides, **event.limits})
        case QuotaLimitsReset():
            return msgspec.structs.replace(quota, overrides={
                k: v for k, v in quota.overrides.items()
                if event.resources and k not in event.resources})
        case QuotaUsageClaimed():
            return quota.claimed(event.instance_id, Usage(
                instances=event.instances, cores=event.cores, ram=event.ram))
        case QuotaUsageReleased():
            return quota.released(event.instance_id)
        case QuotaVolumeClaimed():
            return quota.claimed(event.volume_id, Usage(volumes=1, gigabytes=event.gigabytes))
        case QuotaSnapshotClaimed():
            return quota.claimed(event.snapshot_id,
                                 Usage(snapshots=1, gigabytes=event.gigabytes))
        case QuotaNetworkClaimed():
            return quota.claimed(event.owner_id, Usage(**{event.resource: 1}))
        case QuotaVolumeReleased():
            return quota.released(event.volume_id)
        case QuotaSnapshotReleased():
            return quota.released(event.snapshot_id)
        case QuotaNetworkReleased():
            return quota.released(event.owner_id)
        case _:
            unknown_event(event, "quota")


class QuotaExceeded(Forbidden):
    """Nova's TooManyInstances: 403 with the resources over their limit."""


class VolumeOverQuota(TooLarge):
    """Cinder's OverQuota family: 413 with the limit that would be passed."""


def claim(
    state: Quota | None, defaults: QuotaDefaults, *, project_id: str,
    instance_ids: list[str], vcpus: int, ram: int, at: datetime,
) -> list[QuotaUsageClaimed]:
    """One claim per new instance, or ``QuotaExceeded`` naming every resource
    that would go over (Nova's message, resources in sorted order)."""
    quota = state or Quota(project_id=project_id)
    limits = quota.limits(defaults)
    used = quota.in_use()
    count = len(instance_ids)
    requested = {"instances": count, "cores": count * vcpus, "ram": count * ram}
    overs = sorted(
        r for r in COUNTED
        if limits[r] != UNLIMITED and used.get(r) + requested[r] > limits[r]
    )
    if overs:
        def join(values: list[int]) -> str:
            return ", ".join(str(v) for v in values)

        names = ", ".join(overs)
        raise QuotaExceeded(
            f"Quota exceeded for {names}: Requested {join([requested[r] for r in overs])},"
            f" but already used {join([used.get(r) for r in overs])}"
            f" of {join([limits[r] for r in overs])} {names}"
        )
    return [
        QuotaUsageClaimed(at=at, project_id=project_id, instance_id=i, instances=1,
                          cores=vcpus, ram=ram)
        for i in instance_ids
    ]


def resize_claim(state: Quota | None, defaults: QuotaDefaults, *, project_id: str,
                 instance_id: str, cores: int, ram: int, at: datetime,
                 check: bool = True) -> QuotaUsageClaimed | None:
    """The instance's claim as ``cores`` and ``ram`` in place of what it holds
    (a resize holds the larger of both flavors until it is confirmed or
    reverted, as Nova counts it); None when it holds that already. With
    ``check``, growth beyond the limits is ``QuotaExceeded``, in Nova's words."""
    quota = state or Quota(project_id=project_id)
    before = quota.claims.get(instance_id) or Usage()
    if (before.cores, before.ram) == (cores, ram):
        return None
    limits, used = quota.limits(defaults), quota.in_use()
    growth = {"cores": cores - before.cores, "ram": ram - before.ram}
    overs = sorted(r for r in growth if check and growth[r] > 0 and limits[r] != UNLIMITED
                   and used.get(r) + growth[r] > limits[r])
    if overs:
        names = ", ".join(overs)
        raise QuotaExceeded(
            f"Quota exceeded for {names}: Requested "
            f"{', '.join(str(growth[r]) for r in overs)}, but already used "
            f"{', '.join(str(used.get(r)) for r in overs)} of "
            f"{', '.join(str(limits[r]) for r in overs)} {names}")
    return QuotaUsageClaimed(at=at, project_id=project_id, instance_id=instance_id,
                             instances=1, cores=cores, ram=ram, replaces=True)


def claim_volume(state: Quota | None, defaults: QuotaDefaults, *, project_id: str,
                 volume_id: str, gigabytes: int, at: datetime) -> QuotaVolumeClaimed:
    """One volume's claim, or ``QuotaExceeded`` with Cinder's wording."""
    quota = state or Quota(project_id=project_id)
    limits = quota.limits(defaults)
    used = quota.in_use()
    per_volume = limits["per_volume_gigabytes"]
    if per_volume != UNLIMITED and gigabytes > per_volume:
        raise VolumeOverQuota(f"VolumeSizeExceedsLimit: Requested volume size {gigabytes}G is "
                            f"larger than maximum allowed limit {per_volume}G.")
    if limits["gigabytes"] != UNLIMITED and used.gigabytes + gigabytes > limits["gigabytes"]:
        raise VolumeOverQuota(
            f"VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed "
            f"gigabytes quota. Requested {gigabytes}G, quota is {limits['gigabytes']}G and "
            f"{used.gigabytes}G has been consumed.")
    if limits["volumes"] != UNLIMITED and used.volumes + 1 > limits["volumes"]:
        raise VolumeOverQuota(f"VolumeLimitExceeded: Maximum number of volumes allowed "
                            f"({limits['volumes']}) exceeded for quota 'volumes'.")
    return QuotaVolumeClaimed(at=at, project_id=project_id, volume_id=volume_id,
                              gigabytes=gigabytes)


def claim_snapshot(state: Quota | None, defaults: QuotaDefaults, *, project_id: str,
                   snapshot_id: str, gigabytes: int, at: datetime) -> QuotaSnapshotClaimed:
    """One snapshot's claim, or ``VolumeOverQuota`` with Cinder's wording."""
    quota = state or Quota(project_id=project_id)
    limits = quota.limits(defaults)
    used = quota.in_use()
    if limits["gigabytes"] != UNLIMITED and used.gigabytes + gigabytes > limits["gigabytes"]:
        raise VolumeOverQuota(
            f"VolumeSizeExceedsAvailableQuota: Requested volume or snapshot exceeds allowed "
            f"gigabytes quota. Requested {gigabytes}G, quota is {limits['gigabytes']}G and "
            f"{used.gigabytes}G has been consumed.")
    if limits["snapshots"] != UNLIMITED and used.snapshots + 1 > limits["snapshots"]:
        raise VolumeOverQuota(f"SnapshotLimitExceeded: Maximum number of snapshots allowed "
                              f"({limits['snapshots']}) exceeded")
    return QuotaSnapshotClaimed(at=at, project_id=project_id, snapshot_id=snapshot_id,
                                gigabytes=gigabytes)


class NetworkOverQuota(Conflict):
    """Neutron's OverQuota: 409 naming the resource."""


def claim_network(state: Quota | None, defaults: QuotaDefaults, *, project_id: str,
                  owner_id: str, resource: str, at: datetime) -> QuotaNetworkClaimed:
    """One floating IP's or security group's claim, or Neutron's OverQuota."""
    assert resource in NETWORK_RESOURCES, resource
    quota = state or Quota(project_id=project_id)
    limit = quota.limits(defaults)[resource]
    if limit != UNLIMITED and quota.in_use().get(resource) + 1 > limit:
        singular = resource.removesuffix("s")
        raise NetworkOverQuota(f"Quota exceeded for resources: ['{singular}'].")
    return QuotaNetworkClaimed(at=at, project_id=project_id, owner_id=owner_id,
                               resource=resource)


def release_network(state: Quota | None, owner_id: str,
                    at: datetime) -> QuotaNetworkReleased | None:
    if state is None or owner_id not in state.claims:
        return None
    return QuotaNetworkReleased(at=at, project_id=state.project_id, owner_id=owner_id)


def release_snapshot(state: Quota | None, snapshot_id: str,
                     at: datetime) -> QuotaSnapshotReleased | None:
    if state is None or snapshot_id not in state.claims:
        return None
    return QuotaSnapshotReleased(at=at, project_id=state.project_id, snapshot_id=snapshot_id)


def release_volume(state: Quota | None, volume_id: str,
                   at: datetime) -> QuotaVolumeReleased | None:
    if state is None or volume_id not in state.claims:
        return None
    return QuotaVolumeReleased(at=at, project_id=state.project_id, volume_id=volume_id)


def release(state: Quota | None, instance_id: str, at: datetime) -> QuotaUsageReleased | None:
    """Give back an instance's claim; None when it holds none (nothing to write)."""
    if state is None or instance_id not in state.claims:
        return None
    return QuotaUsageReleased(at=at, project_id=state.project_id, instance_id=instance_id)


def set_limits(
    state: Quota | None, defaults: QuotaDefaults, *, project_id: str, request_id: str,
    limits: dict[str, int], force: bool, at: datetime,
) -> QuotaLimitsSet:
    """An admin's new limits: each an integer >= -1 and, unless forced, not
    below what the project already uses (Nova's 400 wording)."""
    quota = state or Quota(project_id=project_id)
    used = quota.in_use()
    for resource, value in limits.items():
        if resource not in RESOURCES:
            raise InvalidInput(
                "Invalid input for field/attribute quota_set. Additional properties are "
                f"not allowed ('{resource}' was unexpected)")
        if value < UNLIMITED:
            raise InvalidInput(
                f"Invalid input for field/attribute {resource}. Value: {value}."
                f" {value} is less than the minimum of -1")
        minimum = used.get(resource)
        if not force and value != UNLIMITED and value < minimum:
            raise InvalidInput(
                f"Quota limit {value} for {resource} must be greater than or equal to"
                f" already used and reserved {minimum}.")
    return QuotaLimitsSet(at=at, project_id=project_id, request_id=request_id,
                          limits=dict(limits))


def reset(project_id: str, request_id: str, at: datetime,
          resources: tuple[str, ...] = ()) -> QuotaLimitsReset:
    """The project's overrides of ``resources`` (none named: all) deleted."""
    return QuotaLimitsReset(at=at, project_id=project_id, request_id=request_id,
                            resources=list(resources))
