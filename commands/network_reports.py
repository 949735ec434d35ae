"""Records what each network host reports it rendered (``NetworkApplied``).

The ports it serves become ACTIVE (events, through ``NetworkCommands``);
the position and digest it rendered go to the ``network_hosts`` table, like
the hypervisors' heartbeats: a fact about now, not history.
"""

from __future__ import annotations

from commands.fact_table import FactTable
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
        self.hosts = FactTable(database_url, "network reports")

    def record(self, applied: NetworkApplied) -> None:
        with self.hosts.recording() as write:
            self.networks.activate_ports(applied.host, applied.ports,
                                         f"network-{applied.host}-{applied.position}")
            write(_SEEN, (applied.host, applied.position, applied.digest, applied.at))

    def close(self) -> None:
        self.hosts.close()
