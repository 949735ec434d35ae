"""Waiting for a resource to end its work, by polling its status.

An image upload, a volume backup and a restore end when the resource leaves
its busy status: ``active`` or ``killed`` for an image, ``available`` or an
``error*`` for a backup or a volume. ``until_settled`` polls the resource's
``GET`` every ``WAIT_INTERVAL`` seconds for at most ``WAIT_TIMEOUT``, shows
each status through ``runtime.progress.Waiting`` and returns the resource
as last seen; the caller says whether that status is a success.
"""

from __future__ import annotations

import time
from typing import Any

from runtime.api_client import ApiError, NimbusClient
from runtime.progress import Waiting

WAIT_TIMEOUT = 600.0  # a backup copies the whole volume
WAIT_INTERVAL = 0.5


def until_settled(client: NimbusClient, waiting: Waiting, service: str, path: str, key: str,
                  busy: frozenset[str], *, timeout: float = WAIT_TIMEOUT,
                  interval: float = WAIT_INTERVAL) -> dict[str, Any]:
    """``GET path`` (its body's ``key``) until its status is not in ``busy``."""
    deadline = time.monotonic() + timeout
    while True:
        found: dict[str, Any] = client.call(service, "GET", path)
        if key:
            found = found[key]
        status = str(found.get("status", ""))
        waiting.update(status)
        if status not in busy:
            return found
        if time.monotonic() >= deadline:
            raise ApiError(None, f"timed out after {timeout:g} s waiting for {waiting.what} "
                                 f"(status {status})")
        time.sleep(interval)
