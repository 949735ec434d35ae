"""Host commands: registration from the workers' reports, enable and disable.

A report whose capacity is already recorded writes nothing, so the regular
heartbeats cost no events. Hosts named in the settings are registered with
the configured capacity when the command side starts, so a cloud can place
instances before the first report arrives; the worker's first report then
records what its hypervisor really has.
"""

from __future__ import annotations

from datetime import datetime

import msgspec

from commands.application import Aggregate, Change, NimbusApplication, Written, nothing
from domain import host as model
from domain.registry import FLEET, HOST


class SetHostEnabled(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    host: str
    enabled: bool
    reason: str | None = None


class ForceHostDown(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    host: str
    forced_down: bool


class HostCommands:
    def __init__(self, app: NimbusApplication) -> None:
        self.app = app

    def register(self, report: model.HostReport, *, source: str = "report") -> int | None:
        """Record a report as registration events; None when nothing changed."""

        def decide(host: Aggregate[model.Host], at: datetime) -> list[Change]:
            fleet = self.app.load_or_new(model.FLEET_ID, FLEET)
            joined, registered = model.register(host.current, fleet.current, report,
                                                source=source)
            return [(fleet, joined), (host, registered)]

        return self.app.execute(None, lambda: self._load(report.host), decide,
                                answer=nothing).position

    def register_configured(self, hosts: list[str], capacity: model.Capacity,
                            at: datetime) -> None:
        """Register the configured hosts that never registered, with ``capacity``."""
        for name in hosts:
            self.register(model.HostReport(
                host=name, vcpus=capacity.vcpus, memory_mb=capacity.memory_mb,
                local_gb=capacity.local_gb, hypervisor_type="unknown", hypervisor_version=0,
                host_ip="", at=at,
            ), source="configured")

    def set_enabled(self, cmd: SetHostEnabled) -> Written[model.Host]:
        """Enable or disable a host: the host as it is now, and the position written."""

        def decide(host: Aggregate[model.Host], at: datetime) -> list[Change]:
            if cmd.enabled:
                return [(host, model.enable(host.current, cmd.host, request_id=cmd.request_id,
                                            at=at))]
            return [(host, model.disable(host.current, cmd.host, reason=cmd.reason,
                                         request_id=cmd.request_id, at=at))]

        return self.app.execute(cmd.request_id, lambda: self._load(cmd.host), decide)

    def force_down(self, cmd: ForceHostDown) -> Written[model.Host]:
        """Say a host is down (or no longer) whatever its heartbeat says."""

        def decide(host: Aggregate[model.Host], at: datetime) -> list[Change]:
            return [(host, model.force_down(host.current, cmd.host, forced=cmd.forced_down,
                                            request_id=cmd.request_id, at=at))]

        return self.app.execute(cmd.request_id, lambda: self._load(cmd.host), decide)

    def registered(self) -> dict[str, int]:
        """Every registered host and its number."""
        fleet = self.app.find(FLEET, model.FLEET_ID)
        return dict(fleet.state.hosts) if fleet is not None else {}

    def host(self, name: str) -> model.Host | None:
        return self._load(name).current

    def _load(self, name: str) -> Aggregate[model.Host]:
        return self.app.load_or_new(model.host_id(name), HOST)
