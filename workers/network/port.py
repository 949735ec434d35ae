"""What the network worker needs from a network host, whatever renders it."""

from __future__ import annotations

from typing import Protocol

from workers.network.plan import Applied, HostPlan


class NetworkHost(Protocol):
    def apply(self, plan: HostPlan) -> Applied:
        """Make the host match ``plan`` (the whole of it); nothing when it already does."""
        ...

    def observe(self) -> str | None:
        """The digest of what the host has rendered now (None: nothing)."""
        ...

    def close(self) -> None: ...
