"""The messages that cross NATS: the event envelope, the hosts' reports, the console.

These are the public wire format (docs/events.md; the envelope's JSON Schema
is docs/events.schema.json). They are not events: nothing here is stored,
so a class may move, but its JSON may only grow fields with defaults. The
values they carry (events, targets) are the domain's; the subjects they
travel on are ``messaging.subjects``'. Workers import these and the domain's
values, never the database.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from domain.codec import EVENT_TYPES, AnyEvent
from domain.migration_events import Progress
from domain.volume import Target


class EventMessage(msgspec.Struct, frozen=True, kw_only=True):
    """One committed event, as the relay publishes it.

    ``id`` is stable (aggregate id and version) and is also the
    ``Nats-Msg-Id`` header, so a re-published event is dropped by JetStream.
    ``position`` is the event's place in the global log.
    """

    id: str
    position: int
    aggregate_id: str
    version: int
    type: str
    event: AnyEvent


class StoredEventMessage(msgspec.Struct, frozen=True, kw_only=True):
    """An ``EventMessage`` whose event is its stored JSON, sent as it is.

    The fields, their order and their JSON are those of ``EventMessage``, and
    the stored bytes are ``domain.codec``'s encoding of the event (its ``type``
    tag in it), so a reader decodes this as an ``EventMessage``. The relay
    sends it so as not to decode and encode again every event it publishes.
    """

    id: str
    position: int
    aggregate_id: str
    version: int
    type: str
    event: msgspec.Raw


class EventHeader(msgspec.Struct):
    """The part of an ``EventMessage`` a worker reads before deciding to decode it all."""

    aggregate_id: str
    type: str


class HostOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """A worker's report of how one requested operation ended on its host."""

    instance_id: str
    request_id: str
    host: str
    ok: bool
    at: datetime
    reason: str = ""
    image_file: str = ""  # after a snapshot: the host's copy of the disk (a path on it)
    # the class name of the request event handled, e.g. InstanceCreateRequested
    # (empty from hosts older than this field: the log then tells)
    step: str = ""
    # a live migration's copy: how far it is; with ``final`` False the step goes on
    progress: Progress | None = None
    final: bool = True


class MigrationControl(msgspec.Struct, frozen=True, kw_only=True):
    """What the API asks the source host of a live migration (``Subjects.migration``)
    once force_complete or an abort is recorded: ``action`` is ``force`` or ``abort``."""

    instance_id: str
    action: str


class MigrationControlled(msgspec.Struct, frozen=True, kw_only=True):
    found: bool  # False: no copy of that guest runs on this host now


class StepOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """A host's report on one step of a volume, snapshot or backup operation:
    a storage host's (create, delete, export, unexport, snapshot, backup) or a
    compute host's (add or remove the guest's disk).

    ``kind`` tags which kind of aggregate it is about (``volume``,
    ``snapshot`` or ``backup``: the ``aggregate`` of the event handled,
    domain/registry.py), and the ingester routes by it. ``aggregate_id`` is
    the id of the volume, snapshot or backup the step acted on (the
    ``aggregate_id`` of the event handled); on the wire it keeps its first
    name, ``volume_id``. ``step`` is the class name of the event it handled.
    Reports in flight across an upgrade still decode: one from a host that
    predates ``kind`` has it empty, and its ``step``'s class tells the kind
    (``aggregate_kind``).
    """

    kind: str = ""
    aggregate_id: str = msgspec.field(name="volume_id")
    request_id: str
    step: str
    host: str
    ok: bool
    at: datetime
    reason: str = ""
    target: Target | None = None  # where an export is, after an export
    checksum: str = ""  # after a backup: sha256 of the volume's bytes
    stored_bytes: int = 0  # after a backup: the archive's size

    @property
    def aggregate_kind(self) -> str:
        """The kind of aggregate the step acted on (see the class docstring);
        empty when neither field names one."""
        if self.kind:
            return self.kind
        handled = EVENT_TYPES.get(self.step)
        return "" if handled is None else handled.aggregate


class NetworkApplied(msgspec.Struct, frozen=True, kw_only=True):
    """A network host's report: it rendered the plan of log position
    ``position`` (``digest``: workers/network/plan.py), serving ``ports``; the
    ingester makes those ports ACTIVE (Nova's ``network-vif-plugged``)."""

    host: str
    position: int
    digest: str
    ports: list[str]
    at: datetime


class ConsoleRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What the API asks a hypervisor worker for a guest's console output."""

    instance_id: str
    length: int | None = None  # the last ``length`` lines; None: all


class ConsoleReply(msgspec.Struct, frozen=True, kw_only=True):
    found: bool  # False: the host has no such guest
    output: str = ""


class DiagnosticsRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What the API asks a hypervisor worker for a guest's statistics."""

    instance_id: str


class DiagnosticsReply(msgspec.Struct, frozen=True, kw_only=True):
    found: bool  # False: the host has no such guest
    diagnostics: dict[str, int] = {}  # as Nova's libvirt driver names them (2.1)


class ReconcileRequest(msgspec.Struct, frozen=True, kw_only=True):
    """What ``nimbus recover`` asks a host (``Subjects.reconcile``): bring it in
    line with the log, or with ``dry_run`` only say what that would take;
    ``instance_id`` limits it to one instance (the seed's test mode)."""

    dry_run: bool = True
    instance_id: str | None = None


class Reconciled(msgspec.Struct, frozen=True, kw_only=True):
    """A host's answer to a ``ReconcileRequest``: what it did (or, dry, would
    do), one line each in an operator's words, and the log position its view
    of what should exist was taken at."""

    host: str
    role: str  # compute | storage | network
    changes: list[str] = []
    position: int = 0


class PowerLost(msgspec.Struct, frozen=True, kw_only=True):
    """A storage or network host's answer to a simulated power loss
    (``Subjects.power_loss``): what it was serving and no longer is, one line
    each. A hypervisor host answers with the ids of the guests that were on."""

    host: str
    role: str  # storage | network
    lost: list[str] = []


class ObservedGuest(msgspec.Struct, frozen=True, kw_only=True):
    """One guest as a hypervisor host sees it: its instance and its state
    (running, paused, suspended, shutoff)."""

    instance_id: str
    state: str


class GuestsObserved(msgspec.Struct, frozen=True, kw_only=True):
    """A hypervisor host's report of every guest it has (``Subjects.observed``):
    on start, every ``reconcile_interval_seconds`` and when asked to
    reconcile. ``at`` is when it looked (before it listed them); ``digest``
    sums up the list, so equal reports are seen to be equal. The ingester
    records an observation for each instance placed on the host that the
    report contradicts (domain/instance_observations.py); ``instance_id``
    limits that to one instance (``nimbus recover --instance``)."""

    host: str
    guests: list[ObservedGuest]
    digest: str
    at: datetime
    instance_id: str | None = None
