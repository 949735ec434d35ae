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


class HostOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """A worker's report of how one requested operation ended on its host."""

    instance_id: str
    request_id: str
    host: str
    ok: bool
    at: datetime
    reason: str = ""


class VolumeOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """A storage worker's report of how one volume operation ended on its host."""

    volume_id: str
    request_id: str
    host: str
    ok: bool
    at: datetime
    reason: str = ""


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
