"""Keypair commands (Nova os-keypairs): generate or import, and delete.

Without a public key the server generates an RSA 2048 pair (what Nova does at
2.1) with the ``cryptography`` library and returns the private key in the
create response only: it is never stored. An imported key must parse as an
OpenSSH public key (ssh-rsa, ssh-ed25519, ecdsa-sha2-*).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from commands.application import Aggregate, NimbusApplication, Written
from commands.messages import Caller
from domain import keypair as model
from domain.registry import KEYPAIR


@dataclass(frozen=True, kw_only=True)
class KeypairWritten(Written[model.KeypairState]):
    """A create's answer: a generated pair's private key, in this answer only."""

    private_key: str | None = None


def generate() -> tuple[str, str]:
    """A new RSA 2048 pair: (OpenSSH public key line, PEM private key)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode()
    private = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    return f"{public} Generated-by-Nova", private


def checked_public_key(public_key: str) -> str:
    """The key line as given, once it parses as an OpenSSH public key."""
    line = public_key.strip()
    parts = line.split()
    if len(parts) < 2:
        raise model.invalid("failed to generate fingerprint")
    try:
        serialization.load_ssh_public_key(" ".join(parts[:2]).encode())
    except (ValueError, UnsupportedAlgorithm):
        raise model.invalid("failed to generate fingerprint") from None
    return line


class KeypairCommands:
    def __init__(self, app: NimbusApplication) -> None:
        self.app = app

    def create(self, name: str, public_key: str | None, caller: Caller, request_id: str,
               key_type: str = "ssh", owner: str | None = None) -> KeypairWritten:
        """``owner``: the user whose keypair it is (an admin's, for another
        user); the caller by default."""
        model.validate_name(name)  # before generating a key for nothing
        private_key = None
        if public_key is None:
            public_key, private_key = generate()
        else:
            public_key = checked_public_key(public_key)
        written = self.app.execute(
            request_id, lambda: self._load(name, owner or caller.user_id),
            lambda keypair, at: [(keypair, model.create(
                keypair.current, request_id=request_id, user_id=owner or caller.user_id,
                name=name,
                public_key=public_key, key_type=key_type, generated=private_key is not None,
                at=at))])
        return KeypairWritten(state=written.state, position=written.position,
                              request_id=request_id,
                              private_key=private_key if written.position is not None else None)

    def delete(self, name: str, caller: Caller, request_id: str,
               owner: str | None = None) -> Written[model.KeypairState]:
        user_id = owner or caller.user_id
        return self.app.execute(
            request_id, lambda: self._load(name, user_id),
            lambda keypair, at: [(keypair, model.delete(keypair.current, name, user_id,
                                                        request_id=request_id, at=at))])

    def public_key(self, name: str, user_id: str) -> str | None:
        """The public key of ``user_id``'s keypair ``name``; None if there is none."""
        found = self.app.find(KEYPAIR, model.aggregate_id(user_id, name))
        if found is None or found.state.deleted:
            return None
        return found.state.public_key

    def _load(self, name: str, user_id: str) -> Aggregate[model.KeypairState]:
        return self.app.load_or_new(model.aggregate_id(user_id, name), KEYPAIR)
