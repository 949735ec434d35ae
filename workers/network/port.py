"""What the network worker needs from a network host, independent of its tools.

A network host is level-based: ``apply`` is given the whole desired state of
the host (a ``HostPlan``) and makes the host match it, so the same plan twice
changes nothing and a worker that restarts or crashed half-way simply applies
the latest plan again. ``observe`` reads back the digest of what the host has
rendered, so the control plane can see drift. The fake (``fake.py``) and the
real adapter (``host.py``: a network namespace, pyroute2, dnsmasq, nftables)
both satisfy this protocol. Every method blocks; callers keep them off the
event loop.
"""

from __future__ import annotations

from typing import Protocol

from workers.network.plan import Applied, HostPlan


class IllegalPlan(ValueError):
    """The plan contradicts itself (one IP twice on a network, a port on a network
    the plan lacks, ...); nothing of it was rendered. Retrying will not help."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("illegal network plan: " + "; ".join(problems))
        self.problems = problems


class NetworkHostError(RuntimeError):
    """A tool failed while rendering (nft refused the ruleset, dnsmasq did not
    start, a netlink call failed). The host may be half-way; applying the same
    plan again converges."""


class NetworkHost(Protocol):
    def apply(self, plan: HostPlan) -> Applied:
        """Make the host match ``plan``; ``changed`` is False when it already did."""
        ...

    def observe(self) -> str | None:
        """The digest of what the host has rendered now; None when nothing is."""
        ...

    def power_loss(self) -> list[str]:
        """Drop everything rendered, as the host's power loss would (tests and
        demos); what was served, one line each. The next ``apply`` renders again."""
        ...

    def close(self) -> None:
        """Release handles; what was rendered stays in place."""
        ...
