"""Turns hosts' reports on NATS into events in the log: hypervisors'
``HostOutcome`` and ``GuestsObserved`` (what a host has: observations,
domain/instance_observations.py), network hosts' ``NetworkApplied`` and the
hosts' ``StepOutcome`` of volume, snapshot and backup operations (told apart
by subject; a step's report goes to the service of
the aggregate kind it names, its ``kind``: ``step_recorders``).

Recording is idempotent per request id (the domain ignores a report for an
operation that is no longer pending), so a redelivered report writes nothing.
The message is acked only after the event is committed. Each report is
logged once, with its request id and the log position it was written at.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import msgspec

from commands.backups import BackupCommands
from commands.instances import InstanceCommands
from commands.network_reports import NetworkReports
from commands.server_images import ServerImageCommands
from commands.snapshots import SnapshotCommands
from commands.volumes import VolumeCommands
from domain import log_context, registry
from messaging import nats as bus
from messaging.consumer import ConsumerSpec, Delivery, consume
from messaging.subjects import Subjects
from messaging.wire import GuestsObserved, HostOutcome, NetworkApplied, StepOutcome

log = logging.getLogger(__name__)

_instance_outcome = msgspec.json.Decoder(HostOutcome)
_step_outcome = msgspec.json.Decoder(StepOutcome)
_network_applied = msgspec.json.Decoder(NetworkApplied)
_guests_observed = msgspec.json.Decoder(GuestsObserved)
Outcome = HostOutcome | StepOutcome | NetworkApplied | GuestsObserved

Recorder = Callable[[StepOutcome], int | None]


def step_recorders(volumes: VolumeCommands, snapshots: SnapshotCommands,
                   backups: BackupCommands) -> dict[str, Recorder]:
    """What records a host's report on a step, by the kind of aggregate it is about."""
    return {registry.VOLUME.name: volumes.record_outcome,
            registry.SNAPSHOT.name: snapshots.record_outcome,
            registry.BACKUP.name: backups.record_outcome}


def _described(outcome: Outcome) -> str:
    """An outcome in a few words, for its log line."""
    if isinstance(outcome, HostOutcome):
        return (f"the {'final ' if outcome.final else 'progress '}outcome of instance "
                f"{outcome.instance_id} ({'ok' if outcome.ok else 'failed'})")
    if isinstance(outcome, StepOutcome):
        return (f"the outcome of {outcome.step} on {outcome.aggregate_kind} "
                f"{outcome.aggregate_id} ({'ok' if outcome.ok else 'failed'})")
    if isinstance(outcome, NetworkApplied):
        return f"the network plan of position {outcome.position} applied"
    return f"{len(outcome.guests)} guests observed"


async def run(instances: InstanceCommands, volumes: VolumeCommands,
              snapshots: SnapshotCommands, backups: BackupCommands,
              networks: NetworkReports, nats_url: str, subjects: Subjects,
              stop: asyncio.Event, server_images: ServerImageCommands | None = None) -> None:
    """Record outcomes until ``stop`` is set; a hypervisor's report of a
    snapshot (createImage) goes to ``server_images``, which stores its copy."""
    record_instance = (server_images.record_outcome if server_images is not None
                       else instances.record_outcome)

    def decode(subject: str, data: bytes) -> Outcome:
        if subjects.is_volume_outcome(subject):
            return _step_outcome.decode(data)
        if subjects.is_network_outcome(subject):
            return _network_applied.decode(data)
        if subjects.is_observed(subject):
            return _guests_observed.decode(data)
        return _instance_outcome.decode(data)

    def key_of(subject: str, data: bytes) -> str:
        try:
            outcome = decode(subject, data)
        except msgspec.DecodeError:
            return ""
        if isinstance(outcome, NetworkApplied):
            return f"network:{outcome.host}"
        if isinstance(outcome, GuestsObserved):  # one guest's: after its outcome, in order
            return outcome.instance_id or f"observed:{outcome.host}"
        return outcome.aggregate_id if isinstance(outcome, StepOutcome) else outcome.instance_id

    record_step = step_recorders(volumes, snapshots, backups)
    nc = await bus.connect(nats_url, name="nimbus-ingester")
    try:
        js = nc.jetstream()
        await bus.ensure_streams(js, subjects)

        async def record(outcome: Outcome) -> int | None:
            """Record ``outcome``: the log position written, if known."""
            if isinstance(outcome, StepOutcome):
                return await asyncio.to_thread(record_step[outcome.aggregate_kind], outcome)
            if isinstance(outcome, NetworkApplied):
                await asyncio.to_thread(networks.record, outcome)
                return None
            if isinstance(outcome, GuestsObserved):
                await asyncio.to_thread(instances.record_observation, outcome)
                return None
            return await asyncio.to_thread(record_instance, outcome)

        async def handle(delivery: Delivery) -> None:
            try:
                outcome = decode(delivery.subject, delivery.data)
            except msgspec.DecodeError:
                log.error("dropping an undecodable outcome on %s", delivery.subject)
                return
            if isinstance(outcome, StepOutcome) and outcome.aggregate_kind not in record_step:
                # no pending step can match it: nothing to write
                log.error("dropping a report on %r of no kind with steps on %s",
                          outcome.step, delivery.subject)
                return
            request_id = (outcome.request_id if isinstance(outcome, HostOutcome | StepOutcome)
                          else "")
            with log_context.bound(request_id=request_id, position=None):
                position = await record(outcome)
                if position is not None:
                    log_context.learn(position=position)
                log.info("recorded %s from %s (delivery %d)", _described(outcome),
                         outcome.host, delivery.attempt)

        # A host's outcome is a fact: it is redelivered until it is recorded
        # (max_deliver -1), never dropped after a number of tries. While the
        # database is away every try fails, and the later outcomes of the same
        # aggregate are naked behind the first, so a bounded count would strand
        # operations in their task state for good.
        spec = ConsumerSpec(stream=subjects.outcomes_stream, durable="ingester",
                            filter_subject=subjects.all_outcomes(), max_deliver=-1)
        await consume(js, spec, handle, key_of, stop)
    finally:
        await nc.close()
    log.info("ingester stopped")
