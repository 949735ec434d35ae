"""Host commands: registration from the workers' reports, enable and disable.

A report whose capacity is already recorded writes nothing, so the regular
heartbeats cost no events. Hosts named in the settings are registered with
the configured capacity when the command side starts, so a cloud can place
instances before the first report arrives; the worker's first report then
records what its hypervisor really has.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from commands.application import Aggregate, NimbusApplication, retrying
from domain import host as model


class SetHostEnabled(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    host: str
    enabled: bool
    reason: str | None = None


class HostCommands:
    def __init__(self, app: NimbusApplication) -> None:
        self.app = app

    def register(self, report: model.HostReport, *, source: str = "report") -> int | None:
        """Record a report as registration events; None when nothing changed."""

        def attempt() -> int | None:
            fleet = self._load(model.FLEET_ID, model.HostJoinedFleet.aggregate)
            host = self._load(model.host_id(report.host), model.HostEvent.aggregate)
            joined, registered = model.register(host.state, fleet.state, report, source=source)
            changed = []
            if joined is not None:
                fleet.record(joined)
                changed.append(fleet)
            if registered is not None:
                host.record(registered)
                changed.append(host)
            return self.app.commit(*changed) if changed else None

        return retrying(attempt)

    def register_configured(self, hosts: list[str], capacity: model.Capacity,
                            at: datetime) -> None:
        """Register the configured hosts that never registered, with ``capacity``."""
        for name in hosts:
            self.register(model.HostReport(
                host=name, vcpus=capacity.vcpus, memory_mb=capacity.memory_mb,
                local_gb=capacity.local_gb, hypervisor_type="unknown", hypervisor_version=0,
                host_ip="", at=at,
            ), source="configured")

    def set_enabled(self, cmd: SetHostEnabled) -> tuple[model.Host, int | None]:
        """Enable or disable a host; the host as it is now, and the position written."""

        def attempt() -> tuple[model.Host, int | None]:
            aggregate = self._load(model.host_id(cmd.host), model.HostEvent.aggregate)
            if cmd.request_id in aggregate.requests:
                return aggregate.state, None
            at = self.app.clock()
            event = (
                model.enable(aggregate.state, cmd.host, request_id=cmd.request_id, at=at)
                if cmd.enabled else
                model.disable(aggregate.state, cmd.host, reason=cmd.reason,
                              request_id=cmd.request_id, at=at)
            )
            if event is None:
                return aggregate.state, None
            aggregate.record(event)
            return aggregate.state, self.app.commit(aggregate)

        return retrying(attempt)

    def registered(self) -> dict[str, int]:
        """Every registered host and its number."""
        fleet = self.app.load(model.FLEET_ID)
        return dict(fleet.state.hosts) if fleet is not None else {}

    def host(self, name: str) -> model.Host | None:
        aggregate = self.app.load(model.host_id(name))
        return aggregate.state if aggregate is not None else None

    def _load(self, aggregate_id: uuid.UUID, kind: str) -> Aggregate:
        return self.app.load_or_new(aggregate_id, kind)
