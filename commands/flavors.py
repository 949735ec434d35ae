"""Flavor commands: an admin creates and deletes flavors and grants access.

A create commits the flavor aggregate (keyed by flavor id) and the name claim
(keyed by name) in one transaction, so ids and names stay unique under
concurrent creates. A request id already in the flavor's history returns the
flavor it made and writes nothing.
"""

from __future__ import annotations

import uuid

import msgspec

from commands.application import Aggregate, NimbusApplication, retrying
from commands.messages import Caller
from domain import flavor as model
from domain.errors import Forbidden

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


class FlavorWritten(msgspec.Struct, frozen=True, kw_only=True):
    state: model.FlavorState
    position: int | None  # None: nothing new was written


def _admin(caller: Caller, action: str) -> None:
    if not caller.is_admin:
        raise Forbidden(f"Policy doesn't allow os_compute_api:os-flavor-manage:{action} "
                        "to be performed.")


class FlavorCommands:
    def __init__(self, app: NimbusApplication) -> None:
        self.app = app

    def create(self, new: NewFlavor, caller: Caller, request_id: str) -> FlavorWritten:
        _admin(caller, "create")
        flavor_id = new.flavor_id or str(uuid.uuid5(FLAVOR_ID_NAMESPACE, request_id))
        event = model.FlavorCreated(
            at=self.app.clock(), request_id=request_id, flavor_id=flavor_id, name=new.name,
            vcpus=new.vcpus, ram=new.ram, disk=new.disk, ephemeral=new.ephemeral, swap=new.swap,
            rxtx_factor=new.rxtx_factor, is_public=new.is_public, description=new.description,
        )
        model.validate(event)

        def attempt() -> FlavorWritten:
            flavor = self.app.load(model.aggregate_id(flavor_id))
            if flavor is not None and request_id in flavor.requests:
                return FlavorWritten(state=flavor.state, position=None)
            claim = self.app.load(model.name_aggregate_id(new.name))
            model.create(flavor.state if flavor else None, claim.state if claim else None,
                         event)
            flavor = flavor or Aggregate(model.aggregate_id(flavor_id),
                                         model.FlavorEvent.aggregate)
            claim = claim or Aggregate(model.name_aggregate_id(new.name),
                                       model.FlavorNameEvent.aggregate)
            flavor.record(event)
            claim.record(model.FlavorNameClaimed(at=event.at, request_id=request_id,
                                                 name=new.name, flavor_id=flavor_id))
            return FlavorWritten(state=flavor.state, position=self.app.commit(flavor, claim))

        return retrying(attempt)

    def delete(self, flavor_id: str, caller: Caller, request_id: str) -> int | None:
        _admin(caller, "delete")

        def attempt() -> int | None:
            flavor = self.app.load(model.aggregate_id(flavor_id))
            if flavor is not None and request_id in flavor.requests:
                return None
            state = model.existing(flavor.state if flavor else None, flavor_id)
            assert flavor is not None
            name = state.flavor.name
            claim = self.app.load(model.name_aggregate_id(name))
            at = self.app.clock()
            flavor.record(model.FlavorDeleted(at=at, request_id=request_id, flavor_id=flavor_id))
            if claim is None:
                return self.app.commit(flavor)
            claim.record(model.FlavorNameReleased(at=at, request_id=request_id, name=name,
                                                  flavor_id=flavor_id))
            return self.app.commit(flavor, claim)

        return retrying(attempt)

    def grant(self, flavor_id: str, project_id: str, caller: Caller, request_id: str, *,
              allow: bool) -> FlavorWritten:
        """addTenantAccess (``allow``) or removeTenantAccess."""
        _admin(caller, "os-flavor-access:addTenantAccess" if allow
               else "os-flavor-access:removeTenantAccess")
        decide = model.add_access if allow else model.remove_access

        def attempt() -> FlavorWritten:
            flavor = self.app.load(model.aggregate_id(flavor_id))
            if flavor is not None and request_id in flavor.requests:
                return FlavorWritten(state=flavor.state, position=None)
            event = decide(flavor.state if flavor else None, flavor_id, project_id,
                           request_id=request_id, at=self.app.clock())
            assert flavor is not None
            flavor.record(event)
            return FlavorWritten(state=flavor.state, position=self.app.commit(flavor))

        return retrying(attempt)
