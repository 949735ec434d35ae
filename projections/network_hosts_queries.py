"""What the network hosts last reported rendering (the ``network_hosts`` table,
written by commands/network_reports.py), beside the log's head."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from projections.log import EVENTS_TABLE


class NetworkHostView(msgspec.Struct, frozen=True, kw_only=True):
    host: str
    position: int
    digest: str
    reported_at: datetime
    last_seen: datetime
    seconds_since_seen: float
    log_head: int

    def is_up(self, down_after: float) -> bool:
        return self.seconds_since_seen <= down_after


_HOSTS = f"""
SELECT n.*, EXTRACT(EPOCH FROM now() - n.last_seen)::float8 AS seconds_since_seen,
       (SELECT COALESCE(max(notification_id), 0) FROM {EVENTS_TABLE}) AS log_head
FROM public.network_hosts n ORDER BY n.host
"""


async def list_network_hosts(pool: AsyncConnectionPool[Any]) -> list[NetworkHostView]:
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_HOSTS)
        return [msgspec.convert(r, NetworkHostView) for r in await cur.fetchall()]
