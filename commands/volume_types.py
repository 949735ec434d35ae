"""Volume type commands: an admin creates, changes and deletes types, sets
their extra specs and grants projects access; a volume's creation finds the
type it names and where it goes.

A create commits the type aggregate (keyed by the type's id) and the name
claim (keyed by its name) in one transaction, and a rename moves the claim in
the same way, so names stay unique under racing admins. ``ensure_types``
records the configured types as ordinary events at start-up, with fixed
request ids, so a second start finds them and writes nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from commands.application import Aggregate, Change, NimbusApplication, Written
from commands.messages import Caller
from domain import volume_types as model
from domain.errors import Forbidden, InvalidState, NotFound
from domain.registry import VOLUME_TYPE, VOLUME_TYPE_NAME

TYPE_ID_NAMESPACE = uuid.UUID("8e1f4a2b-3c5d-4e6f-9a7b-0c1d2e3f4a5b")
SEEDER = Caller(user_id="nimbus", project_id="", is_admin=True)


class NewVolumeType(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    description: str | None = None
    is_public: bool = True
    extra_specs: dict[str, str] = {}
    type_id: str | None = None  # None: a UUID derived from the request


class VolumeTypeChange(msgspec.Struct, frozen=True, kw_only=True):
    name: str | None = None
    description: str | None = None
    is_public: bool | None = None


def _admin(caller: Caller, action: str) -> None:
    if not caller.is_admin:
        raise Forbidden(f"Policy doesn't allow volume_extension:{action} to be performed.")


class VolumeTypeCommands:
    def __init__(self, app: NimbusApplication, storage_hosts: list[str]) -> None:
        self.app = app
        self.storage_hosts = storage_hosts

    def create(self, new: NewVolumeType, caller: Caller,
               request_id: str) -> Written[model.VolumeTypeState]:
        _admin(caller, "types_manage")
        type_id = new.type_id or str(uuid.uuid5(TYPE_ID_NAMESPACE, request_id))

        def decide(found: Aggregate[model.VolumeTypeState], at: datetime) -> list[Change]:
            claim = self._claim(new.name)
            created = model.create(
                found.current, claim.current, request_id=request_id, type_id=type_id,
                name=new.name, description=new.description, is_public=new.is_public,
                extra_specs=dict(new.extra_specs), at=at)
            return [(found, created),
                    (claim, model.claim_name(new.name, type_id, request_id, at))]

        return self.app.execute(request_id, lambda: self._load(type_id), decide)

    def update(self, type_id: str, change: VolumeTypeChange, caller: Caller,
               request_id: str) -> Written[model.VolumeTypeState]:
        _admin(caller, "types_manage")

        def decide(found: Aggregate[model.VolumeTypeState], at: datetime) -> list[Change]:
            new_claim = self._claim(change.name) if change.name is not None else None
            updated = model.update(
                found.current, new_claim.current if new_claim else None, type_id,
                request_id=request_id, name=change.name, description=change.description,
                is_public=change.is_public, at=at)
            changes: list[Change] = [(found, updated)]
            old = found.state
            if new_claim is not None and updated.name != old.name:
                old_claim = self._claim(old.name)
                changes += [(old_claim, model.release_name(old_claim.current, old,
                                                           request_id=request_id, at=at)),
                            (new_claim, model.claim_name(updated.name, old.id,
                                                         request_id, at))]
            return changes

        return self.app.execute(request_id, lambda: self._load(type_id), decide)

    def delete(self, type_id: str, caller: Caller,
               request_id: str) -> Written[model.VolumeTypeState]:
        _admin(caller, "types_manage")

        def decide(found: Aggregate[model.VolumeTypeState], at: datetime) -> list[Change]:
            deleted = model.delete(found.current, type_id, request_id=request_id, at=at)
            claim = self._claim(found.state.name)
            return [(found, deleted), (claim, model.release_name(
                claim.current, found.state, request_id=request_id, at=at))]

        return self.app.execute(request_id, lambda: self._load(type_id), decide)

    def set_specs(self, type_id: str, specs: dict[str, str], caller: Caller,
                  request_id: str) -> Written[model.VolumeTypeState]:
        _admin(caller, "types_extra_specs:create")
        return self.app.execute(
            request_id, lambda: self._load(type_id),
            lambda found, at: [(found, model.set_specs(found.current, type_id, specs,
                                                       request_id=request_id, at=at))])

    def unset_spec(self, type_id: str, key: str, caller: Caller,
                   request_id: str) -> Written[model.VolumeTypeState]:
        _admin(caller, "types_extra_specs:delete")
        return self.app.execute(
            request_id, lambda: self._load(type_id),
            lambda found, at: [(found, model.unset_spec(found.current, type_id, key,
                                                        request_id=request_id, at=at))])

    def grant(self, type_id: str, project_id: str, caller: Caller, request_id: str, *,
              allow: bool) -> Written[model.VolumeTypeState]:
        """addProjectAccess (``allow``) or removeProjectAccess."""
        _admin(caller, "volume_type_access:addProjectAccess" if allow
               else "volume_type_access:removeProjectAccess")
        decide = model.add_access if allow else model.remove_access
        return self.app.execute(
            request_id, lambda: self._load(type_id),
            lambda found, at: [(found, decide(found.current, type_id, project_id,
                                              request_id=request_id, at=at))])

    def usable(self, ref: str | None, caller: Caller) -> model.VolumeType:
        """The type a new volume names (by id or name; None: the default one)
        if the caller may use it, with the storage hosts it goes to; Cinder's
        404 otherwise."""
        wanted = ref or model.DEFAULT
        # the default type keeps its seeded id (it is neither renamed nor deleted)
        found = self._load(model.seeded_id(model.DEFAULT) if ref is None else wanted).current
        if found is None or found.deleted:
            claim = self.app.find(VOLUME_TYPE_NAME, model.name_aggregate_id(wanted))
            if claim is not None and claim.state.type_id is not None:
                found = self._load(claim.state.type_id).current
        if found is None or not model.visible(found, caller.project_id, caller.is_admin):
            raise NotFound(f"Volume type with name {wanted} could not be found.")
        return model.placement(found, self.storage_hosts)

    def _load(self, type_id: str) -> Aggregate[model.VolumeTypeState]:
        return self.app.load_or_new(model.aggregate_id(type_id), VOLUME_TYPE)

    def _claim(self, name: str) -> Aggregate[model.TypeNameClaim]:
        return self.app.load_or_new(model.name_aggregate_id(name), VOLUME_TYPE_NAME)


def ensure_types(commands: VolumeTypeCommands, configured: dict[str, list[str]]) -> int:
    """Record the default type and the configured ones unless they were
    recorded before (even if an admin changed or deleted them since).
    Returns how many were written."""
    written = 0
    for name, specs in model.seeds(commands.storage_hosts, configured):
        try:
            result = commands.create(
                NewVolumeType(name=name, extra_specs=specs, type_id=model.seeded_id(name),
                              description="Default Volume Type" if name == model.DEFAULT
                              else None),
                SEEDER, f"seed:volume-type:{name}")
        except InvalidState:
            continue  # an admin's type took the name first: theirs stands
        written += result.position is not None
    return written
