"""Keypair commands (Nova os-keypairs): generate or import, and delete.

Without a public key the server generates an RSA 2048 pair (what Nova does at
2.1) with the ``cryptography`` library and returns the private key in the
create response only: it is never stored. An imported key must parse as an
OpenSSH public key (ssh-rsa, ssh-ed25519, ecdsa-sha2-*).
"""

from __future__ import annotations

import msgspec
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from commands.application import Aggregate, NimbusApplication, retrying
from commands.messages import Caller
from domain import keypair as model


class KeypairWritten(msgspec.Struct, frozen=True, kw_only=True):
    state: model.KeypairState
    private_key: str | None  # only when generated, only in this answer
    position: int | None


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
               key_type: str = "ssh") -> KeypairWritten:
        model.validate_name(name)
        private_key = None
        if public_key is None:
            public_key, private_key = generate()
        else:
            public_key = checked_public_key(public_key)
        event = model.KeypairCreated(
            at=self.app.clock(), request_id=request_id, user_id=caller.user_id, name=name,
            public_key=public_key, fingerprint=model.fingerprint(public_key), key_type=key_type,
            generated=private_key is not None,
        )
        key = model.aggregate_id(caller.user_id, name)

        def attempt() -> KeypairWritten:
            aggregate = self.app.load(key)
            if aggregate is not None and request_id in aggregate.requests:
                return KeypairWritten(state=aggregate.state, private_key=None, position=None)
            model.create(aggregate.state if aggregate else None, event)
            aggregate = aggregate or Aggregate(key, model.KeypairEvent.aggregate)
            aggregate.record(event)
            return KeypairWritten(state=aggregate.state, private_key=private_key,
                                  position=self.app.commit(aggregate))

        return retrying(attempt)

    def delete(self, name: str, caller: Caller, request_id: str) -> int | None:
        key = model.aggregate_id(caller.user_id, name)

        def attempt() -> int | None:
            aggregate = self.app.load(key)
            if aggregate is not None and request_id in aggregate.requests:
                return None
            event = model.delete(aggregate.state if aggregate else None, name, caller.user_id,
                                 request_id=request_id, at=self.app.clock())
            assert aggregate is not None
            aggregate.record(event)
            return self.app.commit(aggregate)

        return retrying(attempt)

    def public_key(self, name: str, user_id: str) -> str | None:
        """The public key of ``user_id``'s keypair ``name``; None if there is none."""
        aggregate = self.app.load(model.aggregate_id(user_id, name))
        state = aggregate.state if aggregate else None
        if not isinstance(state, model.KeypairState) or state.deleted:
            return None
        return state.public_key
