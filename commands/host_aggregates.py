"""Host aggregate commands (admin): create, rename or re-zone, delete, add and
remove hosts, set metadata. Every one decides on the one aggregate of all
host aggregates (domain/host_aggregate.py), so names stay unique and a host
stays in one zone under racing admins; a host must be one the fleet knows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from commands.application import Aggregate, Change, NimbusApplication, Written
from domain import host as host_model
from domain import host_aggregate as model
from domain.registry import FLEET, HOST_AGGREGATE

Aggregates = Aggregate[model.HostAggregates]


class HostAggregateCommands:
    def __init__(self, app: NimbusApplication) -> None:
        self.app = app

    def _execute(self, request_id: str,
                 decide: Callable[[Aggregates, datetime], model.HostAggregateEvent],
                 ) -> Written[model.HostAggregates]:
        def changes(directory: Aggregates, at: datetime) -> list[Change]:
            return [(directory, decide(directory, at))]

        return self.app.execute(request_id, self._load, changes)

    def create(self, name: str, availability_zone: str | None,
               request_id: str) -> Written[model.HostAggregates]:
        return self._execute(request_id, lambda d, at: model.create(
            d.current, request_id=request_id, name=name,
            availability_zone=availability_zone, at=at))

    def update(self, aggregate_id: int, name: str | None, availability_zone: str | None,
               request_id: str) -> Written[model.HostAggregates]:
        return self._execute(request_id, lambda d, at: model.update(
            d.current, aggregate_id, request_id=request_id, name=name,
            availability_zone=availability_zone, at=at))

    def delete(self, aggregate_id: int, request_id: str) -> Written[model.HostAggregates]:
        return self._execute(request_id, lambda d, at: model.delete(
            d.current, aggregate_id, request_id=request_id, at=at))

    def add_host(self, aggregate_id: int, host: str,
                 request_id: str) -> Written[model.HostAggregates]:
        return self._execute(request_id, lambda d, at: model.add_host(
            d.current, aggregate_id, host, known_hosts=self._hosts(),
            request_id=request_id, at=at))

    def remove_host(self, aggregate_id: int, host: str,
                    request_id: str) -> Written[model.HostAggregates]:
        return self._execute(request_id, lambda d, at: model.remove_host(
            d.current, aggregate_id, host, known_hosts=self._hosts(),
            request_id=request_id, at=at))

    def set_metadata(self, aggregate_id: int, metadata: dict[str, str | None],
                     request_id: str) -> Written[model.HostAggregates]:
        return self._execute(request_id, lambda d, at: model.set_metadata(
            d.current, aggregate_id, metadata, request_id=request_id, at=at))

    def _hosts(self) -> set[str]:
        fleet = self.app.load_or_new(host_model.FLEET_ID, FLEET).current
        return set((fleet or host_model.Fleet()).hosts)

    def _load(self) -> Aggregates:
        return self.app.load_or_new(model.DIRECTORY, HOST_AGGREGATE)
