"""Messages that cross NATS: the event envelope and the hosts' reports.

These are the public wire format (documented in docs/events.md). Workers
import only this module and ``domain.events``: a host never needs the
database, only these messages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import msgspec

from domain.codec import AnyEvent
from domain.volume import Target

NO_HOST: Final = "_"


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


class EventHeader(msgspec.Struct):
    """The part of an ``EventMessage`` a worker reads before deciding to decode it all."""

    aggregate_id: str
    type: str


def aggregate_key(_subject: str, data: bytes) -> str:
    """A worker handles one aggregate's requests in order, one at a time."""
    return msgspec.json.decode(data, type=EventHeader).aggregate_id


class HostOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """A worker's report of how one requested operation ended on its host."""

    instance_id: str
    request_id: str
    host: str
    ok: bool
    at: datetime
    reason: str = ""


class VolumeOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """A host's report on one step of a volume operation: a storage host's
    (create, delete, export, unexport) or a compute host's (add or remove the
    guest's disk). ``step`` is the class name of the event it handled."""

    volume_id: str
    request_id: str
    step: str
    host: str
    ok: bool
    at: datetime
    reason: str = ""
    target: Target | None = None  # where an export is, after an export
    checksum: str = ""  # after a backup: sha256 of the volume's bytes
    stored_bytes: int = 0  # after a backup: the archive's size


class Subjects:
    """Subject names under a prefix (``nimbus`` unless configured)."""

    def __init__(self, prefix: str = "nimbus") -> None:
        self.prefix = prefix
        self.events_stream = f"{prefix.upper()}_EVENTS"
        self.outcomes_stream = f"{prefix.upper()}_OUTCOMES"

    def event(self, aggregate: str, host: str, event_type: str) -> str:
        return f"{self.prefix}.events.{aggregate}.{host}.{event_type}"

    def all_events(self) -> str:
        return f"{self.prefix}.events.>"

    def host_events(self, aggregate: str, host: str) -> str:
        return f"{self.prefix}.events.{aggregate}.{host}.>"

    def outcome(self, host: str) -> str:
        return f"{self.prefix}.outcomes.{host}"

    def volume_outcome(self, host: str) -> str:
        """In the outcomes stream, apart from the hypervisors' (``outcome``)."""
        return f"{self.prefix}.outcomes.volumes.{host}"

    def all_outcomes(self) -> str:
        return f"{self.prefix}.outcomes.>"


def subject_host(event: object) -> str:
    """The host an event is addressed to, or NO_HOST."""
    host = getattr(event, "host", None)
    return host if isinstance(host, str) and host else NO_HOST
