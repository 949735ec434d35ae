"""Identity commands for application credentials: create and delete (the
user's own), and the ``application_credential`` login.

A credential is made for the project the creator's token is scoped to,
with the roles named (by default every role the creator holds there in
effect). A login with it gets the credential's roles the user still holds
there; none left, or the credential expired, is a 401.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from commands.application import Aggregate, Written
from domain import identity as model
from domain import identity_app_credentials as creds
from domain.errors import Unauthorized
from domain.registry import APP_CREDENTIAL

if TYPE_CHECKING:
    from commands.identity import IdentityCommands, Principal


class AppCredentialCommands:
    def __init__(self, identity: IdentityCommands) -> None:
        self.identity = identity
        self.app = identity.app

    def _by_id(self, cred_id: str) -> Aggregate[creds.AppCredential]:
        try:
            aggregate_id = uuid.UUID(cred_id)
        except ValueError:
            return Aggregate(creds.app_credential_id("", cred_id), APP_CREDENTIAL)
        return self.app.load_or_new(aggregate_id, APP_CREDENTIAL)

    def get(self, user_id: str, cred_id: str) -> creds.AppCredential:
        state = self._by_id(cred_id).current
        return creds.live(state if state is not None and state.user_id == user_id else None,
                          cred_id)

    def create(self, *, request_id: str, user_id: str, project_id: str, name: str,
               description: str | None, roles: list[str] | None, secret: str | None,
               expires_at: str | None,
               unrestricted: bool) -> tuple[Written[creds.AppCredential], str]:
        """The new credential and its secret (the one given, or a new one)."""
        user = self.identity.user(user_id)
        project = self.identity.project(project_id)
        held = self.identity.held_keys(user, project)
        keys = held if roles is None else [self.identity.role_key(r) for r in roles]
        secret = secret or secrets.token_urlsafe(48)
        secret_hash = model.hash_password(secret, secrets.token_bytes(16))
        written = self.app.execute(
            request_id, lambda: self.app.load_or_new(creds.app_credential_id(user.id, name),
                                                     APP_CREDENTIAL),
            lambda cred, at: [(cred, creds.create(
                cred.current, request_id=request_id, user_id=user.id, project_id=project.id,
                name=name, description=description, secret_hash=secret_hash,
                roles=list(dict.fromkeys(keys)), held=held, expires_at=expires_at,
                unrestricted=unrestricted, at=at))])
        return written, secret

    def delete(self, *, request_id: str, user_id: str,
               cred_id: str) -> Written[creds.AppCredential]:
        self.get(user_id, cred_id)
        return self.app.execute(
            request_id, lambda: self._by_id(cred_id),
            lambda cred, at: [(cred, creds.delete(cred.current, cred_id,
                                                  request_id=request_id, at=at))])

    def authenticate(self, *, cred_id: str, secret: str) -> Principal:
        """A login with an application credential's id and secret."""
        from commands.identity import Principal

        cred = creds.authenticated(self._by_id(cred_id).current, secret, datetime.now(UTC))
        principal = self.identity.scope(user_id=cred.user_id, project_ref=cred.project_id)
        user = self.identity.user(cred.user_id)
        if not user.enabled:
            raise Unauthorized(f"User {user.id} is disabled.")
        held = self.identity.held_keys(user, self.identity.project(cred.project_id))
        keys = [k for k in cred.roles if k in held]
        names = self.identity.role_names(keys)
        if not names:
            raise Unauthorized(f"User {user.id} no longer holds the roles of application "
                               f"credential {cred.id}.")
        return Principal(user_id=principal.user_id, user_name=principal.user_name,
                         project_id=principal.project_id,
                         project_name=principal.project_name, roles=names,
                         user_domain=principal.user_domain,
                         project_domain=principal.project_domain)
