"""QoS spec commands: an admin creates and deletes specs, sets and unsets
their keys, and associates them with volume types.

A create commits the spec and its name claim in one transaction (as volume
types do); an association names a volume type that must exist.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from commands.application import Aggregate, Change, NimbusApplication, Written
from commands.messages import Caller
from domain import qos_specs as model
from domain import volume_types
from domain.errors import Forbidden, NotFound
from domain.registry import QOS_SPECS, QOS_SPECS_NAME, VOLUME_TYPE

QOS_ID_NAMESPACE = uuid.UUID("9f2e5b3c-4d6e-4f7a-8b9c-1d2e3f4a5b6c")


def _admin(caller: Caller) -> None:
    if not caller.is_admin:
        raise Forbidden("Policy doesn't allow volume_extension:qos_specs_manage to be "
                        "performed.")


class QosSpecsCommands:
    def __init__(self, app: NimbusApplication) -> None:
        self.app = app

    def create(self, name: str, consumer: str, specs: dict[str, str], caller: Caller,
               request_id: str) -> Written[model.QosSpecs]:
        _admin(caller)
        qos_id = str(uuid.uuid5(QOS_ID_NAMESPACE, request_id))

        def decide(found: Aggregate[model.QosSpecs], at: datetime) -> list[Change]:
            claim = self.app.load_or_new(model.name_aggregate_id(name), QOS_SPECS_NAME)
            created = model.create(found.current, claim.current, request_id=request_id,
                                   qos_id=qos_id, name=name, consumer=consumer, specs=specs,
                                   at=at)
            return [(found, created), (claim, model.claim_name(created))]

        return self.app.execute(request_id, lambda: self._load(qos_id), decide)

    def set_keys(self, qos_id: str, specs: dict[str, str], caller: Caller,
                 request_id: str) -> Written[model.QosSpecs]:
        _admin(caller)
        return self.app.execute(request_id, lambda: self._load(qos_id), lambda found, at: [
            (found, model.set_keys(found.current, qos_id, specs, request_id=request_id,
                                   at=at))])

    def unset_keys(self, qos_id: str, keys: list[str], caller: Caller,
                   request_id: str) -> Written[model.QosSpecs]:
        _admin(caller)
        return self.app.execute(request_id, lambda: self._load(qos_id), lambda found, at: [
            (found, model.unset_keys(found.current, qos_id, keys, request_id=request_id,
                                     at=at))])

    def associate(self, qos_id: str, type_id: str, caller: Caller,
                  request_id: str) -> Written[model.QosSpecs]:
        _admin(caller)

        def decide(found: Aggregate[model.QosSpecs], at: datetime) -> list[Change]:
            model.existing(found.current, qos_id)
            kind = self.app.find(VOLUME_TYPE, volume_types.aggregate_id(type_id))
            if kind is None or kind.state.deleted:
                raise NotFound(f"Volume type {type_id} could not be found.")
            return [(found, model.associate(found.current, qos_id, type_id,
                                            request_id=request_id, at=at))]

        return self.app.execute(request_id, lambda: self._load(qos_id), decide)

    def disassociate(self, qos_id: str, type_id: str | None, caller: Caller,
                     request_id: str) -> Written[model.QosSpecs]:
        """One volume type (None: every one) no longer associated."""
        _admin(caller)
        return self.app.execute(request_id, lambda: self._load(qos_id), lambda found, at: [
            (found, model.disassociate(found.current, qos_id,
                                       None if type_id is None else [type_id],
                                       request_id=request_id, at=at))])

    def delete(self, qos_id: str, caller: Caller, request_id: str, *,
               force: bool) -> Written[model.QosSpecs]:
        _admin(caller)

        def decide(found: Aggregate[model.QosSpecs], at: datetime) -> list[Change]:
            deleted = model.delete(found.current, qos_id, force=force, request_id=request_id,
                                   at=at)
            claim = self.app.load_or_new(model.name_aggregate_id(found.state.name),
                                         QOS_SPECS_NAME)
            return [(found, deleted), (claim, model.release_name(
                claim.current, found.state, request_id=request_id, at=at))]

        return self.app.execute(request_id, lambda: self._load(qos_id), decide)

    def _load(self, qos_id: str) -> Aggregate[model.QosSpecs]:
        return self.app.load_or_new(model.aggregate_id(qos_id), QOS_SPECS)
