"""Today's code reads the events every earlier nimbus stored (tests/golden/README.md).

A stored event names its class by module path, so a moved or renamed class
passes every other test and breaks the first replay of an existing database.
The golden logs are rows as a database holds them; here they are decoded,
folded by the write side and projected into fresh views.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Protocol, TypeVar
from uuid import UUID

import msgspec
import psycopg
import pytest
from eventsourcing.persistence import StoredEvent

from commands.application import Aggregate
from commands.mapper import MsgspecMapper
from domain import codec
from domain.backup import Backup
from domain.copies import Status as CopyStatus
from domain.flavor import FlavorState
from domain.host import Host
from domain.identity import Project, User
from domain.identity_groups import Group
from domain.identity_roles import CustomRole
from domain.image import ImageState
from domain.instance import Instance, PowerState, VmState
from domain.qos_specs import QosSpecs
from domain.quota import Quota
from domain.server_disks import ServerDisks
from domain.snapshot import Snapshot
from domain.volume import Status as VolumeStatus
from domain.volume import Volume
from domain.volume_types import VolumeTypeState
from migrations.runner import VIEWS_SCHEMA
from projections import faults
from projections.log import head
from projections.projector import NAME, catch_up
from projections.replay import replay

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
CURRENT = GOLDEN / "events.jsonl"
REGENERATE = "run python -m tests.golden.make_log"
NEVER_REGENERATE = (
    "A stored event's class was moved or renamed, or a field lost its default: keep the "
    "old topic resolving and give new fields defaults; never regenerate the golden log "
    "to pass this (tests/golden/README.md)")

# the frozen history and its digests: a frozen file is never changed again
FROZEN = {
    "events-v1.jsonl": "478ab99f34d74e31915096306fc6db7356f7f4c519dca5119af34143e1714da3",
    "events-v2.jsonl": "92b500b128785f1857df8d96d36b881da3bac2f5cb240499c7525b5279090ba6",
    "events-v3.jsonl": "32bf694a51bb1d71ea683ede47eff57763fd7a7424989aa0f850c4b8405d9efa",
}
LOGS = [GOLDEN / name for name in FROZEN] + [CURRENT]



class _Named(Protocol):
    @property
    def name(self) -> str | None: ...


T = TypeVar("T", bound=_Named)


class Row(msgspec.Struct, frozen=True):
    """One stored row, as the golden file keeps it."""

    originator_id: UUID
    originator_version: int
    topic: str
    state: str  # the stored bytes, as text

    def stored(self) -> StoredEvent:
        return StoredEvent(originator_id=self.originator_id,
                           originator_version=self.originator_version, topic=self.topic,
                           state=self.state.encode())


_row = msgspec.json.Decoder(Row)


def rows(log: Path) -> list[Row]:
    return [_row.decode(line) for line in log.read_text().splitlines()]


def folded(log: Path) -> list[Any]:
    """Every aggregate's state after folding its events as the write side
    loads them (the mapper, then the aggregate's fold), in order of first event."""
    mapper = MsgspecMapper()
    aggregates: dict[UUID, Aggregate] = {}
    for row in rows(log):
        recorded = mapper.to_domain_event(row.stored())
        aggregate = aggregates.setdefault(
            recorded.originator_id, Aggregate(recorded.originator_id, recorded.event.aggregate))
        assert aggregate.version + 1 == recorded.originator_version, (
            f"{row.topic} of {row.originator_id} is version {row.originator_version} "
            f"after version {aggregate.version}")
        aggregate.apply(recorded.event)
    return [a.state for a in aggregates.values()]


def named(states: list[Any], kind: type[T]) -> dict[str | None, T]:
    """The states of ``kind`` by name."""
    return {state.name: state for state in states if isinstance(state, kind)}


def logs() -> list[Any]:
    return [pytest.param(log, id=log.name) for log in LOGS]


@pytest.mark.parametrize("log", logs())
def test_every_stored_topic_resolves_and_every_state_decodes_with_todays_code(
        log: Path) -> None:
    failures = []
    for number, row in enumerate(rows(log), 1):
        try:
            codec.decode(row.topic, row.state.encode())
        except (ValueError, msgspec.DecodeError) as error:
            failures.append(f"{log.name}:{number} {row.topic}: {error}")
    assert not failures, "\n".join([*failures, NEVER_REGENERATE])


@pytest.mark.parametrize("log", logs())
def test_each_aggregate_folds_on_the_write_side_to_where_the_golden_scenario_left_it(
        log: Path) -> None:
    states = folded(log)
    instances = named(states, Instance)
    alpha = instances["alpha"]  # booted as alpha-draft, then through every operation
    assert (alpha.vm_state, alpha.task_state, alpha.power_state) == (
        VmState.ACTIVE, None, PowerState.RUNNING)
    assert (alpha.metadata, alpha.locked, alpha.description, alpha.key_name) == (
        {"role": "web", "tier": "gold"}, False, "renamed", "golden-key")
    assert (instances["beta"].vm_state, instances["beta"].fault) == (
        VmState.ERROR, "the hypervisor refused the domain")
    assert instances["gamma"].vm_state == VmState.DELETED

    volumes = named(states, Volume)
    types = named(states, VolumeTypeState)  # logs since volume types have more in them
    assert {name: v.status for name, v in volumes.items()} == {
        "data": VolumeStatus.DELETED, "from-snapshot": VolumeStatus.AVAILABLE,
        "restored": VolumeStatus.AVAILABLE, "broken": VolumeStatus.ERROR,
        "gamma-disk": VolumeStatus.AVAILABLE,
        **({"fast": VolumeStatus.AVAILABLE} if types else {})}
    if types:
        assert {n: t.deleted for n, t in types.items()} == {
            "__DEFAULT__": False, "golden-gold": False, "golden-faster": True}
        assert volumes["fast"].volume_type == "__DEFAULT__"  # retyped after it was made
        assert volumes["data"].metadata == {"purpose": "golden"}
        assert [q.deleted for q in states if isinstance(q, QosSpecs)] == [True]
    assert volumes["gamma-disk"].server_id is None  # detached by its server's delete
    assert volumes["data"].snapshots == []
    assert all(s.devices == {} for s in states if isinstance(s, ServerDisks))

    assert {n: s.status for n, s in named(states, Snapshot).items()} == {
        "data-snap": CopyStatus.DELETED, "failed-snap": CopyStatus.DELETED,
        **({"forced-snap": CopyStatus.DELETED} if types else {})}
    backups = named(states, Backup)
    assert (backups["data-backup"].status, backups["failed-backup"].status) == (
        CopyStatus.AVAILABLE, CopyStatus.DELETED)

    hosts = {s.host: s for s in states if isinstance(s, Host)}
    assert (hosts["compute1"].vcpus, hosts["compute2"].disabled) == (8, False)
    movers = {name: instances[name] for name in ("mover", "resizer", "stuck", "zeta", "eta")
              if name in instances}  # logs since moves have them
    assert set(hosts["compute2"].claims) | set(hosts["compute1"].claims) == {
        alpha.id, instances["beta"].id, *(i.id for i in movers.values())}
    for mover in movers.values():  # each claimed on the host it is on, and only there
        assert [h for h, s in hosts.items() if mover.id in s.claims] == [mover.host]
    quota = next(s for s in states if isinstance(s, Quota) and s.project_id == alpha.project_id)
    assert quota.overrides == {"instances": 20, "cores": 40}
    assert {alpha.id, instances["beta"].id} <= set(quota.claims)
    assert instances["gamma"].id not in quota.claims
    assert volumes["data"].id not in quota.claims

    assert {n: p.deleted for n, p in named(states, Project).items()} == {
        "golden": False, "doomed": True}
    users = named(states, User)
    roles = [r for r in states if isinstance(r, CustomRole)]
    groups = [g for g in states if isinstance(g, Group)]
    if roles:  # logs since custom roles and groups
        assert [(r.name, r.deleted) for r in roles] == [("inspector", True)]
        assert [(g.name, g.deleted, g.roles) for g in groups] == [("operators", True, {})]
        assert users["alice"].groups == ()
    assert (users["alice"].roles, users["bob"].deleted) == (
        {alpha.project_id: ["member"]}, True)
    images = named(states, ImageState)
    assert (images["golden-image"].status, images["cirros-0.6.2-x86_64-disk"].status) == (
        "deleted", "active")
    flavors = {s.flavor.id: s for s in states if isinstance(s, FlavorState)}
    assert flavors["golden-doomed"].deleted
    assert flavors["golden-private"].projects == {alpha.project_id}


def test_the_golden_log_holds_every_event_type_the_code_declares() -> None:
    written = {row.topic for row in rows(CURRENT)}
    missing = sorted({codec.topic_of(cls) for cls in codec.EVENT_TYPES.values()} - written)
    assert not missing, (
        f"tests/golden/events.jsonl has no {', '.join(missing)}: extend Scenario in "
        f"tests/golden/make_log.py so that it writes them, and {REGENERATE}")


def test_the_current_golden_log_holds_the_bytes_todays_code_writes() -> None:
    stale = [row.topic for row in rows(CURRENT)
             if codec.encode(codec.decode(row.topic, row.state.encode())) != row.state.encode()]
    assert not stale, (
        f"an event of {sorted(set(stale))} is written differently now (a new field?): "
        f"{REGENERATE}, and freeze it (--freeze) if a field was added")


def test_a_frozen_golden_log_is_never_rewritten() -> None:
    found = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
             for p in GOLDEN.glob("events-v*.jsonl")}
    assert found == FROZEN, (
        "the frozen golden logs are what databases hold: never change one; a new one "
        "(make_log --freeze) is added to FROZEN with its sha256")


@pytest.mark.parametrize("log", logs())
def test_the_golden_log_projects_into_fresh_views_to_its_head_with_no_view_stuck(
        database_url: str, log: Path) -> None:
    stored = rows(log)
    with psycopg.connect(database_url, autocommit=True) as conn:
        with conn.transaction(), conn.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO public.nimbus_events"
                " (originator_id, originator_version, topic, state) VALUES (%s, %s, %s, %s)",
                [(r.originator_id, r.originator_version, r.topic, r.state.encode())
                 for r in stored])
        while catch_up(conn):
            pass
        assert faults.stuck(conn, VIEWS_SCHEMA) == []
        tracked = conn.execute("SELECT position FROM views.tracking WHERE projection = %s",
                               (NAME,)).fetchone()
        assert tracked is not None and tracked[0] == head(conn) == len(stored)
        networked = {"networked": "deleted"} if any(  # logs since networks have one more
            '"networked"' in r.state for r in stored) else {}
        snapshotted = {"snapshotted": "deleted"} if any(  # and since createImage, one more
            '"snapshotted"' in r.state for r in stored) else {}
        grouped = {"grouped": "deleted"} if any(  # and since server groups, one more
            '"grouped"' in r.state for r in stored) else {}
        moved = {"mover": "error", "resizer": "active", "stuck": "active", "zeta": "active",
                 "eta": "active"} if any(
            '"mover"' in r.state for r in stored) else {}  # logs since moves have five more
        assert dict(conn.execute("SELECT name, vm_state FROM views.instances").fetchall()) == {
            "alpha": "active", "beta": "error", "gamma": "deleted", **networked,
            **snapshotted, **moved, **grouped}
        if moved:
            assert conn.execute(
                "SELECT migration_type, status FROM views.migrations ORDER BY id").fetchall() == [
                ("migration", "confirmed"), ("resize", "error"), ("resize", "reverted"),
                ("migration", "error"), ("live-migration", "completed"),
                ("live-migration", "cancelled")]
        typed = {"fast": "available"} if any(  # logs since volume types have one more
            '"golden-faster"' in r.state for r in stored) else {}
        assert dict(conn.execute("SELECT name, status FROM views.volumes").fetchall()) == {
            "data": "deleted", "from-snapshot": "available", "restored": "available",
            "broken": "error", "gamma-disk": "available", **typed}
        assert conn.execute("SELECT host, disabled FROM views.hosts ORDER BY host"
                            ).fetchall() == [("compute1", False), ("compute2", False)]
    report = replay(database_url)
    assert report.position == len(stored)
    assert report.equal, [t.table for t in report.tables if not t.equal]
