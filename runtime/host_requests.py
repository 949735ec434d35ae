"""``Context.ask_host`` on NATS: a core request to ``<prefix>.hosts.<host>.<what>``.

The API never imports NATS; the composition root gives it this callable.
It connects on first use and raises ``TimeoutError`` when the host does not
answer in time or has no worker listening.
"""

from __future__ import annotations

import asyncio
import logging

from messaging import nats as bus

log = logging.getLogger(__name__)


class HostRequests:
    def __init__(self, nats_url: str, prefix: str, timeout: float = 3.0) -> None:
        self.nats_url = nats_url
        self.prefix = prefix
        self.timeout = timeout
        self._nc: bus.Connection | None = None
        self._lock = asyncio.Lock()

    async def __call__(self, host: str, what: str, payload: bytes) -> bytes:
        nc = await self._connection()
        subject = f"{self.prefix}.hosts.{host}.{what}"
        try:
            return await bus.request(nc, subject, payload, timeout=self.timeout)
        except TimeoutError:
            raise
        except Exception as error:  # no responders: the host's worker is not running
            log.warning("no answer on %s: %s", subject, error)
            raise TimeoutError(f"no answer on {subject}") from error

    async def close(self) -> None:
        if self._nc is not None:
            await self._nc.close()
            self._nc = None

    async def _connection(self) -> bus.Connection:
        async with self._lock:
            if self._nc is None:
                self._nc = await bus.connect(self.nats_url, name="nimbus-api-host-requests")
            return self._nc
