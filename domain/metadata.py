"""How the metadata service knows which instance asks: the network host's
proxy names it in ``X-Instance-ID`` and signs that with the cloud's shared
secret (HMAC-SHA256 of the id, hex, as Neutron's metadata proxy signs it).
One function for both sides, so the signer and the checker cannot differ."""

from __future__ import annotations

import hashlib
import hmac


def signature(secret: str, instance_id: str) -> str:
    return hmac.new(secret.encode(), instance_id.encode(), hashlib.sha256).hexdigest()
