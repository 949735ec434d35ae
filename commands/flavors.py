"""Flavor commands: an admin creates and deletes flavors, grants access and
sets or deletes extra specs.

A create commits the flavor aggregate (keyed by flavor id) and the name claim
(keyed by name) in one transaction, so ids and names stay unique under
concurrent creates. A request id already in the flavor's history returns the
flavor it made and writes nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from commands.application import Aggregate, Change, NimbusApplication, Written
from commands.messages import Caller
from domain import flavor as model
from domain.errors import Forbidden
from domain.registry import FLAVOR, FLAVOR_NAME

FLAVOR_ID_NAMESPACE = uuid.UUID("2b7d0c4e-6f8a-4b1c-9e3d-7a6b5c4d3e21")


class NewFlavor(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    vcpus: int
    ram: int
    disk: int
    flavor_id: str | None = None  # None: a UUID derived from the request
    ephemeral: int = 0
    swap: int = 0
    rxtx_factor: float = 1.0
    is_public: bool = True
    description: str | None = None


def _admin(caller: Caller, action: str) -> None:
    if not caller.is_admin:
        raise Forbidden(f"Policy doesn't allow os_compute_api:os-flavor-manage:{action} "
                        "to be performed.")


class FlavorCommands:
    def __init__(self, app: NimbusApplication) -> None:
        self.app = app

    def create(self, new: NewFlavor, caller: Caller,
               request_id: str) -> Written[model.FlavorState]:
        _admin(caller, "create")
        flavor_id = new.flavor_id or str(uuid.uuid5(FLAVOR_ID_NAMESPACE, request_id))

        def decide(flavor: Aggregate[model.FlavorState], at: datetime) -> list[Change]:
            claim = self._claim(new.name)
            created = model.create(
                flavor.current, claim.current, request_id=request_id, flavor_id=flavor_id,
                name=new.name, vcpus=new.vcpus, ram=new.ram, disk=new.disk,
                ephemeral=new.ephemeral, swap=new.swap, rxtx_factor=new.rxtx_factor,
                is_public=new.is_public, description=new.description, at=at)
            return [(flavor, created), (claim, model.claim_name(created))]

        return self.app.execute(request_id, lambda: self._load(flavor_id), decide)

    def delete(self, flavor_id: str, caller: Caller,
               request_id: str) -> Written[model.FlavorState]:
        _admin(caller, "delete")

        def decide(flavor: Aggregate[model.FlavorState], at: datetime) -> list[Change]:
            deleted = model.delete(flavor.current, flavor_id, request_id=request_id, at=at)
            claim = self._claim(flavor.state.flavor.name)
            return [(flavor, deleted), (claim, model.release_name(
                claim.current, flavor.state, request_id=request_id, at=at))]

        return self.app.execute(request_id, lambda: self._load(flavor_id), decide)

    def grant(self, flavor_id: str, project_id: str, caller: Caller, request_id: str, *,
              allow: bool) -> Written[model.FlavorState]:
        """addTenantAccess (``allow``) or removeTenantAccess."""
        _admin(caller, "os-flavor-access:addTenantAccess" if allow
               else "os-flavor-access:removeTenantAccess")
        decide = model.add_access if allow else model.remove_access
        return self.app.execute(
            request_id, lambda: self._load(flavor_id),
            lambda flavor, at: [(flavor, decide(flavor.current, flavor_id, project_id,
                                                request_id=request_id, at=at))])

    def set_extra_specs(self, flavor_id: str, specs: dict[str, str], caller: Caller,
                        request_id: str) -> Written[model.FlavorState]:
        _admin(caller, "os-flavor-extra-specs:create")
        return self.app.execute(
            request_id, lambda: self._load(flavor_id),
            lambda flavor, at: [(flavor, model.set_extra_specs(
                flavor.current, flavor_id, specs, request_id=request_id, at=at))])

    def delete_extra_spec(self, flavor_id: str, key: str, caller: Caller,
                          request_id: str) -> Written[model.FlavorState]:
        _admin(caller, "os-flavor-extra-specs:delete")
        return self.app.execute(
            request_id, lambda: self._load(flavor_id),
            lambda flavor, at: [(flavor, model.delete_extra_spec(
                flavor.current, flavor_id, key, request_id=request_id, at=at))])

    def _load(self, flavor_id: str) -> Aggregate[model.FlavorState]:
        return self.app.load_or_new(model.aggregate_id(flavor_id), FLAVOR)

    def _claim(self, name: str) -> Aggregate[model.NameClaim]:
        return self.app.load_or_new(model.name_aggregate_id(name), FLAVOR_NAME)
