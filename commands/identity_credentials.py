"""Identity commands for users' credentials (``/v3/credentials`` and OS-EC2):
create, update, delete. The blob arrives sealed (api/identity/sealing.py);
an EC2 credential's id derives from its access key, another's from the
request that made it, so a retried create meets what the first made."""

from __future__ import annotations

from commands.application import Aggregate, NimbusApplication, Written
from domain import identity_credentials as model
from domain.registry import CREDENTIAL


class CredentialCommands:
    def __init__(self, app: NimbusApplication) -> None:
        self.app = app

    def _credential(self, cred_id: str) -> Aggregate[model.Credential]:
        return self.app.load_or_new(model.credential_aggregate(cred_id), CREDENTIAL)

    def get(self, cred_id: str) -> model.Credential:
        return model.live(self._credential(cred_id).current, cred_id)

    def create(self, *, request_id: str, user_id: str, project_id: str | None, type: str,
               sealed_blob: str, access: str | None = None) -> Written[model.Credential]:
        cred_id = model.credential_id(access=access, request_id=request_id)
        return self.app.execute(
            request_id, lambda: self._credential(cred_id),
            lambda cred, at: [(cred, model.create(
                cred.current, request_id=request_id, user_id=user_id, project_id=project_id,
                type=type, sealed_blob=sealed_blob, access=access, at=at))])

    def update(self, *, request_id: str, cred_id: str, project_id: str | None = None,
               type: str | None = None,
               sealed_blob: str | None = None) -> Written[model.Credential]:
        return self.app.execute(
            request_id, lambda: self._credential(cred_id),
            lambda cred, at: [(cred, model.update(
                cred.current, cred_id, request_id=request_id, at=at, project_id=project_id,
                type=type, sealed_blob=sealed_blob))])

    def delete(self, *, request_id: str, cred_id: str) -> Written[model.Credential]:
        return self.app.execute(
            request_id, lambda: self._credential(cred_id),
            lambda cred, at: [(cred, model.delete(cred.current, cred_id,
                                                  request_id=request_id, at=at))])
