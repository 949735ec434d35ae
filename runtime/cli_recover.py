"""``nimbus recover``: the seed's Nova Disaster Recovery Process, from the log.

After a disaster (views dropped, every host powered off, exports and sessions
gone) the operator runs ``nimbus recover``: it looks at the views, reads what
the log says should exist (the write side's states, not the views), asks
every host what it has (a hypervisor's ``inspect``, and every host's
``reconcile`` with ``dry_run``), and prints the plan in the seed's order
(domain/recovery.py). ``--apply`` carries it out: every view rebuilt from
the log (projections/replay.py), then each step as ordinary commands, so it
is all in the log, waiting for each to end. Nothing is remembered between
runs: the plan is computed afresh from the log and the hosts each time, so a
second run does nothing and a rerun after a crash finishes the rest.
``--instance ID`` keeps to one instance and its volumes (the seed's test mode).
Exit 0 once the cloud is as the log says, 1 with what is left otherwise.
The rebuild shows its progress (runtime/progress.py); ``--json`` prints, in
place of the text, one object with the counts of the run (``Summary``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import io
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
import psycopg

from commands.application import NimbusApplication
from commands.catalog import CatalogLookups
from commands.instances import InstanceCommands
from commands.placement import Placement
from domain import instance as model
from domain import recovery
from domain.host import FLEET_ID
from domain.recovery import HostAnswer, Plan
from domain.registry import FLEET, INSTANCE, KINDS, VOLUME
from domain.volume import Volume
from messaging.wire import GuestsObserved, ObservedGuest
from migrations.runner import VIEWS_SCHEMA, create_views, upgrade
from projections.log import head, read_after
from projections.projector import NAME
from projections.replay import ReplayFailed
from runtime import cli_replay, stack
from runtime.host_requests import HostRequests
from runtime.progress import Progress
from runtime.settings import Settings, load

READ_BATCH = 10_000  # log entries read at a time
ASK_SECONDS = 5.0  # a host that does not answer a question in this long "did not answer"
APPLY_SECONDS = 30.0  # a host's reconcile that changes things may take longer


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = subparsers.add_parser(
        "recover", help="after a disaster: rebuild the views, ask every host what it has and"
        " bring back what the log says, in the seed's order (a dry run unless --apply)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--dry-run", action="store_true", help="only print the plan (the default)")
    mode.add_argument("--apply", action="store_true", help="carry the plan out")
    p.add_argument("--instance", metavar="ID", help="only this instance and its volumes"
                   " (the seed's test mode)")
    p.add_argument("--timeout", type=float, default=120.0,
                   help="seconds to wait for the instances to be back (default 120)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object with the counts instead of the text")
    p.set_defaults(func=cmd_recover)


def say(line: str) -> None:
    print(line, flush=True)


@dataclass
class Summary:
    """The counts of a run, what ``--json`` prints: the views and the log at the
    start, the rebuild (``--apply``), and the plan left at the end."""

    applied: bool
    views_position: int | None = None  # None: the views were gone
    log_head: int = 0
    rebuilt_events: int | None = None
    rebuild_seconds: float | None = None
    restarts: int = 0
    actions: int = 0
    stalled: int = 0
    unchecked: int = 0
    back: bool = False

    def of_plan(self, plan: Plan, views: bool) -> None:
        self.restarts, self.actions = len(plan.restarts), plan.actions
        self.stalled, self.unchecked = len(plan.stalled), len(plan.unchecked)
        self.back = plan.back and views


@dataclass
class Facts:
    """What the log says should exist and what the hosts have, at one moment."""

    at: datetime
    instances: list[model.Instance]
    volumes: list[Volume]
    guests: dict[str, dict[str, str] | None]  # hypervisor host -> instance -> guest state
    answers: list[HostAnswer]


class Recovery:
    def __init__(self, settings: Settings, database_url: str, nats_url: str,
                 only: str | None) -> None:
        self.settings = settings
        self.database_url = database_url
        self.only = only
        self.app = NimbusApplication(database_url, bounds=stack.session_bounds(settings))
        self.instances = InstanceCommands(self.app, CatalogLookups(self.app),
                                          Placement(self.app, settings.hosts))
        self.instances.resume_guests = True  # recover is the operator asking for them back
        self.hosts = HostRequests(nats_url, settings.subject_prefix, timeout=ASK_SECONDS)

    async def close(self) -> None:
        await self.hosts.close()
        self.app.close()

    # what the log says, what the hosts have

    def _from_log(self) -> tuple[list[model.Instance], list[Volume], list[str]]:
        """The instances, volumes and fleet as the write side folds them, in one
        pass over the log with the domain's own ``evolve``: at the rate the log
        is read, not one query per aggregate (a long log holds many deleted ones)."""
        folded: dict[str, dict[uuid.UUID, Any]] = {k.name: {} for k in (INSTANCE, VOLUME, FLEET)}
        with psycopg.connect(self.database_url) as conn:
            position = 0
            while entries := read_after(conn, position, READ_BATCH):
                for entry in entries:
                    states = folded.get(entry.aggregate)
                    if states is not None:
                        states[entry.aggregate_id] = KINDS[entry.aggregate].evolve(
                            states.get(entry.aggregate_id), entry.decode(),
                            str(entry.aggregate_id))
                position = entries[-1].position
        instances = [folded[INSTANCE.name][i] for i in sorted(folded[INSTANCE.name])]
        volumes = [folded[VOLUME.name][i] for i in sorted(folded[VOLUME.name])]
        fleet = folded[FLEET.name].get(FLEET_ID)
        compute = sorted({*self.settings.hosts, *(fleet.hosts if fleet else ()),
                          *(i.host for i in instances)})
        return instances, [v for v in volumes if v.status != "deleted"], compute

    async def facts(self) -> Facts:
        at = datetime.now(UTC)  # before asking: what changes meanwhile is newer
        instances, volumes, compute = await asyncio.to_thread(self._from_log)
        storage = sorted({*self.settings.storage_hosts, *(v.host for v in volumes)})
        roles = [*((h, "compute") for h in compute), *((h, "storage") for h in storage),
                 *((h, "network") for h in self.settings.network_hosts)]
        guests = dict(zip(compute, await asyncio.gather(*map(self._guests, compute)),
                          strict=True))
        answers = await asyncio.gather(*(self._reconcile(h, r, dry_run=True) for h, r in roles))
        return Facts(at, instances, volumes, guests, list(answers))

    async def _guests(self, host: str) -> dict[str, str] | None:
        try:
            return {g.instance_id: g.state for g in await self.hosts.inspect(host)}
        except TimeoutError:
            return None

    async def _reconcile(self, host: str, role: str, *, dry_run: bool) -> HostAnswer:
        try:
            answer = await asyncio.wait_for(self.hosts.reconcile(
                host, dry_run=dry_run, instance_id=self.only),
                ASK_SECONDS if dry_run else APPLY_SECONDS)
        except TimeoutError:
            return HostAnswer(host=host, role=role, answered=False)
        return HostAnswer(host=host, role=answer.role or role, answered=True,
                          changes=list(answer.changes))

    def plan(self, facts: Facts) -> Plan:
        return recovery.plan(facts.instances, facts.volumes, facts.guests, facts.answers,
                             at=facts.at, only=self.only)

    # carrying it out

    def restart(self, step: recovery.Restart, facts: Facts) -> None:
        """Step 3 for one instance: record the observation (and the reconciler's
        first request with it), or take over one its host lost before."""
        if step.observation:
            seen = [ObservedGuest(instance_id=step.instance_id, state=step.guest)] \
                if step.instance_id in (facts.guests.get(step.host) or {}) else []
            self.instances.record_observation(GuestsObserved(
                host=step.host, guests=seen, digest="", at=facts.at,
                instance_id=step.instance_id))
        self.instances.continue_restore(step.instance_id, take_over=True)

    def is_back(self, step: recovery.Restart) -> model.Instance | None:
        found = self.app.find(INSTANCE, uuid.UUID(step.instance_id))
        state = found.state if found is not None else None
        if state is None or state.vm_state != step.target or state.task_state is not None:
            return None
        return state

    async def wait_back(self, steps: list[recovery.Restart], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        waiting = list(steps)
        while waiting:
            for step in list(waiting):
                state = await asyncio.to_thread(self.is_back, step)
                if state is not None:
                    waiting.remove(step)
                    say(f"   {step.instance_id} ({step.name}): back, "
                        f"{model.status(state.vm_state, state.task_state)}")
            if waiting and time.monotonic() > deadline:
                for step in waiting:
                    say(f"   {step.instance_id} ({step.name}): not back after {timeout:g} s"
                        " (is its host's worker and the ingester running?)")
                return False
            if waiting:
                await asyncio.sleep(0.2)
        return True

    async def reconcile_all(self, answers: list[HostAnswer], roles: tuple[str, ...]) -> None:
        for role in roles:
            for answer in (a for a in answers if a.role == role):
                done = await self._reconcile(answer.host, role, dry_run=False)
                for line in done.describe():
                    say(f"   {line}")


# the views

def views_position(database_url: str) -> tuple[int | None, int]:
    """The live views' position (None: the views are gone) and the log's head."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SELECT to_regclass(%s)", (f"{VIEWS_SCHEMA}.tracking",)).fetchone()
        if row is None or row[0] is None:
            return None, head(conn)
        found = conn.execute(f"SELECT position FROM {VIEWS_SCHEMA}.tracking"
                             " WHERE projection = %s", (NAME,)).fetchone()
        return (int(found[0]) if found else 0), head(conn)


def rebuild_views(database_url: str, *, quiet: bool = False) -> Progress | None:
    """Every view rebuilt from the log and swapped in (recreated first if dropped):
    how the rebuild went, or None when it failed. ``quiet``: no progress shown."""
    position, log_head = views_position(database_url)
    upgrade(database_url)
    if position is None:
        with psycopg.connect(database_url, autocommit=True) as conn, conn.transaction():
            create_views(conn, VIEWS_SCHEMA)
        say("   the views were gone: made again, empty")
    say(f"   rebuilding every view from the log ({log_head} events)")
    try:
        report, progress = cli_replay.rebuilt(database_url, swap=True, quiet=quiet,
                                              what="   rebuilding the views")
    except ReplayFailed as failed:
        say(f"   {failed}")
        return None
    differed = [t.table for t in report.tables if not t.equal]
    say(f"   rebuilt up to position {report.position} in {progress.seconds:.1f} s"
        f" ({progress.rate:,.0f} events/s), checksum {report.checksum}; "
        + (f"replaced what differed: {', '.join(differed)}" if differed
           else "they equal the views they replace"))
    return progress


async def recover(settings: Settings, database_url: str, nats_url: str,
                  args: argparse.Namespace, summary: Summary | None = None) -> int:
    summary = summary or Summary(applied=args.apply)
    position, log_head = views_position(database_url)
    summary.views_position, summary.log_head = position, log_head
    views = ("gone" if position is None else f"at position {position} of the log's {log_head}")
    mode = "applying" if args.apply else "plan (a dry run: --apply carries it out)"
    say(f"nimbus recover: {mode}"
        + (f" for instance {args.instance} only" if args.instance else ""))
    say(f"0. views: {views}; " + ("rebuilt from the log" if args.apply
                                  else "--apply rebuilds every one from the log"))
    if args.apply:
        rebuilt = await asyncio.to_thread(rebuild_views, database_url, quiet=args.json)
        if rebuilt is None:
            return 1
        summary.rebuilt_events = rebuilt.done
        summary.rebuild_seconds = round(rebuilt.seconds, 3)
    work = Recovery(settings, database_url, nats_url, args.instance)
    try:
        facts = await work.facts()
        if args.instance and all(i.id != args.instance for i in facts.instances):
            say(f"nimbus recover: no instance {args.instance} in the log")
            return 1
        plan = work.plan(facts)
        for line in plan.lines():
            say(line)
        if not args.apply:
            summary.of_plan(plan, position is not None)
            return _verdict(plan, position is not None, "to apply: nimbus recover --apply")
        say("applying:")
        say("3. restart instances:")
        for step in plan.restarts:
            await asyncio.to_thread(work.restart, step, facts)
            say(f"   {step.instance_id} ({step.name}): {step.todo}")
        back = await work.wait_back(plan.restarts, args.timeout)
        say("4. re-export and re-attach volumes:")
        await work.reconcile_all(facts.answers, ("storage", "compute"))
        say("5. networks:")
        await work.reconcile_all(facts.answers, ("network",))
        after = work.plan(await work.facts())
        if not (back and after.back):
            say("what is left:")
            for line in after.lines():
                say(line)
        summary.of_plan(after, True)
        return _verdict(after, True, "see above")
    finally:
        await work.close()


def _verdict(plan: Plan, views: bool, then: str) -> int:
    if plan.back and views:
        silent = [h.host for h in (*plan.volumes, *plan.networks) if not h.answered]
        say("the cloud is back as the log says" + (
            f" (as far as the hosts that answered tell; silent: {', '.join(silent)})"
            if silent else ""))
        return 0
    left = plan.actions + len(plan.stalled) + len(plan.unchecked) + (0 if views else 1)
    say(f"nimbus recover: the cloud is not back yet ({left} things left; {then})")
    return 1


def cmd_recover(args: argparse.Namespace) -> int:
    from runtime.cli import backing_servers

    settings = load()
    summary = Summary(applied=args.apply)
    with backing_servers(settings) as (database_url, nats_url):
        if not args.json:
            return asyncio.run(recover(settings, database_url, nats_url, args, summary))
        with contextlib.redirect_stdout(io.StringIO()):
            code = asyncio.run(recover(settings, database_url, nats_url, args, summary))
    print(msgspec.json.encode({**dataclasses.asdict(summary), "exit": code}).decode())
    return code
