"""Identity commands for the regions, services and endpoints an admin
registers: create, update, delete, each entry its own aggregate.

A region's id is its creator's (or a new one); a service's or endpoint's
derives from the request that made it, so a retried create meets what the
first made.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from commands.application import Aggregate, Change, NimbusApplication, Written
from domain import identity_catalog as model
from domain.registry import CATALOG_ENTRY


class CatalogCommands:
    def __init__(self, app: NimbusApplication) -> None:
        self.app = app

    def _entry(self, kind: str, entry_id: str) -> Aggregate[model.CatalogEntry]:
        return self.app.load_or_new(model.aggregate_id(kind, entry_id), CATALOG_ENTRY)

    def get(self, kind: str, entry_id: str) -> model.CatalogEntry:
        return model.live(self._entry(kind, entry_id).current, kind, entry_id)

    def create(self, kind: str, *, request_id: str, attributes: model.Attributes,
               entry_id: str | None = None,
               own_regions: tuple[str, ...] = ()) -> Written[model.CatalogEntry]:
        """A new entry. An endpoint in a region nobody registered registers
        it too, in the same commit, as Keystone does (``own_regions``: the
        ones nimbus serves, which always exist)."""
        new_id = entry_id or uuid.uuid5(model.aggregate_id(kind, ""), request_id).hex

        def decide(entry: Aggregate[model.CatalogEntry], at: datetime) -> list[Change]:
            return [(entry, model.create(entry.current, kind, new_id, attributes,
                                         request_id=request_id, at=at)),
                    *self._region_of(kind, attributes, own_regions, request_id, at)]
        return self.app.execute(request_id, lambda: self._entry(kind, new_id), decide)

    def _region_of(self, kind: str, attributes: model.Attributes, own_regions: tuple[str, ...],
                   request_id: str, at: datetime) -> list[Change]:
        """The region an endpoint names, registered if nobody had."""
        region = attributes.get("region_id")
        if kind != model.ENDPOINT or not isinstance(region, str) or region in own_regions:
            return []
        found = self._entry(model.REGION, region)
        if found.current is not None and not found.current.deleted:
            return []
        return [(found, model.create(found.current, model.REGION, region, {},
                                     request_id=request_id, at=at))]

    def update(self, kind: str, *, request_id: str, entry_id: str, change: model.Attributes,
               own_regions: tuple[str, ...] = ()) -> Written[model.CatalogEntry]:
        return self.app.execute(
            request_id, lambda: self._entry(kind, entry_id),
            lambda entry, at: [(entry, model.update(
                entry.current, kind, entry_id, change, request_id=request_id, at=at)),
                *self._region_of(kind, change, own_regions, request_id, at)])

    def delete(self, kind: str, *, request_id: str,
               entry_id: str) -> Written[model.CatalogEntry]:
        return self.app.execute(
            request_id, lambda: self._entry(kind, entry_id),
            lambda entry, at: [(entry, model.delete(entry.current, kind, entry_id,
                                                    request_id=request_id, at=at))])
