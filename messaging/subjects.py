"""Every NATS subject and stream name nimbus uses, built here and nowhere else.

The subject grammar is part of the contract with subscribers (docs/events.md
§1): the relay publishes on it, the workers and the ingester filter on it,
and the hosts answer core requests on it. Keeping it in one module means a
new subject is added, and an old one renamed, in one place;
tests/unit/test_architecture.py fails when another module spells a subject.

Under a prefix (``nimbus`` unless configured):

* ``<prefix>.events.<aggregate>.<host or _>.<EventType>`` in the stream
  ``<PREFIX>_EVENTS``: every committed event;
* ``<prefix>.outcomes.<host>`` (hypervisors),
  ``<prefix>.outcomes.volumes.<host>`` (steps of volume, snapshot and backup
  operations) and ``<prefix>.outcomes.network.<host>`` (what a network host
  rendered) in ``<PREFIX>_OUTCOMES``: the hosts' reports;
* ``<prefix>.hosts.<host>.report|inspect|console|disks``: core NATS
  request/reply with one host (its heartbeat, and questions to its worker).
"""

from __future__ import annotations

from typing import Final

NO_HOST: Final = "_"  # the host token of an event addressed to no host


def subject_host(event: object) -> str:
    """The host an event is addressed to, or NO_HOST."""
    host = getattr(event, "host", None)
    return host if isinstance(host, str) and host else NO_HOST


class Subjects:
    """Subject and stream names under a prefix (``nimbus`` unless configured)."""

    def __init__(self, prefix: str = "nimbus") -> None:
        self.prefix = prefix
        self.events_stream = f"{prefix.upper()}_EVENTS"
        self.outcomes_stream = f"{prefix.upper()}_OUTCOMES"

    # the events stream

    def event(self, aggregate: str, host: str, event_type: str) -> str:
        return f"{self.prefix}.events.{aggregate}.{host}.{event_type}"

    def all_events(self) -> str:
        return f"{self.prefix}.events.>"

    def host_events(self, aggregate: str, host: str) -> str:
        """The events of one kind of aggregate (``*``: every kind) addressed to ``host``."""
        return f"{self.prefix}.events.{aggregate}.{host}.>"

    # the outcomes stream

    def outcome(self, host: str) -> str:
        """Where a hypervisor host reports how a requested operation ended."""
        return f"{self.prefix}.outcomes.{host}"

    def volume_outcome(self, host: str) -> str:
        """Where a host reports a step of a volume, snapshot or backup operation:
        in the outcomes stream, apart from the hypervisors' (``outcome``)."""
        return f"{self.prefix}.outcomes.volumes.{host}"

    def is_volume_outcome(self, subject: str) -> bool:
        return subject.startswith(self.volume_outcome(""))

    def network_outcome(self, host: str) -> str:
        """Where a network host reports what it rendered (``NetworkApplied``)."""
        return f"{self.prefix}.outcomes.network.{host}"

    def is_network_outcome(self, subject: str) -> bool:
        return subject.startswith(self.network_outcome(""))

    def observed(self, host: str) -> str:
        """Where a hypervisor host reports every guest it has (``GuestsObserved``)."""
        return f"{self.prefix}.outcomes.observed.{host}"

    def is_observed(self, subject: str) -> bool:
        return subject.startswith(self.observed(""))

    def kind_events(self, aggregate: str) -> str:
        """Every event of one kind of aggregate, whatever host it names."""
        return f"{self.prefix}.events.{aggregate}.>"

    def all_outcomes(self) -> str:
        return f"{self.prefix}.outcomes.>"

    # core request/reply with one host

    def report(self, host: str) -> str:
        """Where a hypervisor host sends its ``HostReport`` (registration and heartbeat)."""
        return f"{self.prefix}.hosts.{host}.report"

    def all_reports(self) -> str:
        return f"{self.prefix}.hosts.*.report"

    def inspect(self, host: str) -> str:
        """Where a hypervisor worker answers with the guests it has."""
        return f"{self.prefix}.hosts.{host}.inspect"

    def console(self, host: str) -> str:
        """Where a hypervisor worker answers a ``ConsoleRequest``."""
        return f"{self.prefix}.hosts.{host}.console"

    def diagnostics(self, host: str) -> str:
        """Where a hypervisor worker answers a ``DiagnosticsRequest``."""
        return f"{self.prefix}.hosts.{host}.diagnostics"

    def power_loss(self, host: str) -> str:
        """Where a host's worker (hypervisor, storage or network) takes a
        simulated power loss of its host."""
        return f"{self.prefix}.hosts.{host}.power-loss"

    def reconcile(self, host: str) -> str:
        """Where a host's worker (hypervisor, storage or network) brings its
        host back in line with the log when asked (a ``ReconcileRequest``),
        answering with ``Reconciled``: ``nimbus recover`` asks every host."""
        return f"{self.prefix}.hosts.{host}.reconcile"

    def migration(self, host: str) -> str:
        """Where a hypervisor worker takes force_complete or abort of a live
        migration whose copy it runs (a ``MigrationControl``)."""
        return f"{self.prefix}.hosts.{host}.migration"

    def disks(self, host: str) -> str:
        """Where a hypervisor worker answers with a guest's disks."""
        return f"{self.prefix}.hosts.{host}.disks"
