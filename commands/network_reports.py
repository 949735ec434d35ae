"""Records what each network host reports it rendered (``NetworkApplied``).

The ports it serves become ACTIVE (events, through ``NetworkCommands``);
the position and digest it rendered go to the ``network_hosts`` table, like
the hypervisors' heartbeats: a fact about now, not history.
"""

from __future__ import annotations

import threading
from typing import Any

import psycopg

from commands.event_store import StoreUnavailable
from commands.networks import NetworkCommands
from messaging.wire import NetworkApplied

_SEEN = (
    "INSERT INTO public.network_hosts (host, position, digest, reported_at, last_seen)"
    " VALUES (%s, %s, %s, %s, now()) ON CONFLICT (host) DO UPDATE SET"
    " position = greatest(network_hosts.position, EXCLUDED.position),"
    " digest = CASE WHEN EXCLUDED.position >= network_hosts.position THEN EXCLUDED.digest"
    " ELSE network_hosts.digest END, reported_at = EXCLUDED.reported_at, last_seen = now()"
)


class NetworkReports:
    def __init__(self, networks: NetworkCommands, database_url: str) -> None:
        self.networks = networks
        self.database_url = database_url
        self._conn: psycopg.Connection[Any] | None = None
        self._closed = False
        self._guard = threading.Lock()  # one report at a time; none after the close

    def record(self, applied: NetworkApplied) -> None:
        with self._guard:
            if self._closed:
                raise StoreUnavailable("The network reports are closed: the service is"
                                       " stopping.")
            self.networks.activate_ports(applied.host, applied.ports,
                                         f"network-{applied.host}-{applied.position}")
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(self.database_url, autocommit=True)
            self._conn.execute(_SEEN, (applied.host, applied.position, applied.digest,
                                       applied.at))

    def close(self) -> None:
        with self._guard:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None
