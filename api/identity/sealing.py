"""Credential blobs sealed before they are stored: AES-GCM under a key of
the cloud's own (``TokenSigner.key_for``), so the event log, its stream and
the views hold only ciphertext, and only an API process can read a secret
back. As Keystone encrypts credential blobs with its credential keys."""

from __future__ import annotations

import base64
import secrets

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from api.tokens import TokenSigner

_PURPOSE = "credential-blobs"


def seal(signer: TokenSigner, blob: str) -> str:
    nonce = secrets.token_bytes(12)
    sealed = AESGCM(signer.key_for(_PURPOSE)).encrypt(nonce, blob.encode(), None)
    return "v1:" + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(signer: TokenSigner, sealed: str) -> str:
    raw = base64.urlsafe_b64decode(sealed.removeprefix("v1:"))
    return AESGCM(signer.key_for(_PURPOSE)).decrypt(raw[:12], raw[12:], None).decode()
