"""Signed bearer tokens: any API process can check one without a lookup.

A token is the msgspec-JSON claims, base64url-encoded, and an HMAC-SHA256 of
them under the cloud's secret. Expiry is in the claims, and the signer's
clock (the real one unless a test sets its own) tells when it has passed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid

import msgspec

from commands.messages import Caller
from domain.clock import Clock, system_clock


class Claims(msgspec.Struct, frozen=True, kw_only=True):
    user_id: str
    user_name: str
    project_id: str
    project_name: str
    roles: list[str]
    issued_at: float
    expires_at: float
    audit_id: str
    methods: tuple[str, ...] = ("password",)  # how its holder authenticated
    system: bool = False  # scoped to the system (the identity API's admin scope)
    user_domain: tuple[str, str] = ("default", "Default")  # (id, name) of the user's domain
    project_domain: tuple[str, str] = ("default", "Default")  # and of the project's

    @property
    def scoped(self) -> bool:
        """Whether it names a project or the system (an unscoped token only lists
        and picks a project)."""
        return bool(self.project_id) or self.system

    @property
    def caller(self) -> Caller:
        return Caller(user_id=self.user_id, project_id=self.project_id,
                      is_admin="admin" in self.roles)


_decoder = msgspec.json.Decoder(Claims)


class TokenSigner:
    def __init__(self, secret: bytes, ttl_seconds: int, clock: Clock = system_clock) -> None:
        self._secret = secret
        self.ttl = ttl_seconds
        self._clock = clock

    def issue(self, *, user_id: str, user_name: str, project_id: str, project_name: str,
              roles: list[str], methods: tuple[str, ...] = ("password",),
              expires_at: float | None = None, system: bool = False,
              user_domain: tuple[str, str] = ("default", "Default"),
              project_domain: tuple[str, str] = ("default", "Default")) -> tuple[str, Claims]:
        """A new token; one made from another (``expires_at``) expires with it."""
        now = self._clock().timestamp()
        claims = Claims(
            user_id=user_id, user_name=user_name, project_id=project_id,
            project_name=project_name, roles=roles, issued_at=now,
            expires_at=now + self.ttl if expires_at is None else expires_at,
            audit_id=uuid.uuid4().hex[:22], methods=methods, system=system,
            user_domain=user_domain, project_domain=project_domain,
        )
        body = base64.urlsafe_b64encode(msgspec.json.encode(claims)).rstrip(b"=")
        return f"{body.decode()}.{self._sign(body)}", claims

    def verify(self, token: str) -> Claims | None:
        """The claims of a valid, unexpired token; None otherwise."""
        body, _, signature = token.encode().partition(b".")
        if not hmac.compare_digest(self._sign(body).encode(), signature):
            return None
        try:
            claims = _decoder.decode(base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4)))
        except (msgspec.DecodeError, ValueError):
            return None
        return claims if claims.expires_at > self._clock().timestamp() else None

    def key_for(self, purpose: str) -> bytes:
        """A 32-byte key of this cloud's own for ``purpose`` (derived from the
        token secret, so every API process holds the same one)."""
        return hmac.new(self._secret, f"nimbus-key:{purpose}".encode(), hashlib.sha256).digest()

    def _sign(self, body: bytes) -> str:
        return hmac.new(self._secret, body, hashlib.sha256).hexdigest()
