"""A strict in-memory network host for unit tests of the network worker.

It records every plan it rendered and refuses illegal plans exactly as the
real adapter does (the checks are ``plan.problems``), so a control plane that
builds a plan with one IP twice on a network, a port on a network the plan
lacks, a floating IP twice or a fixed IP outside its network's CIDR fails here
with the same clear error. ``unavailable`` makes ``apply`` raise
``NetworkHostError``, as a failing tool would.
"""

from __future__ import annotations

from workers.network.plan import Applied, HostPlan, canonical, digest, problems
from workers.network.port import IllegalPlan, NetworkHostError


class FakeNetworkHost:
    def __init__(self) -> None:
        self.rendered: HostPlan | None = None  # canonical, as the host holds it
        self.applied: list[Applied] = []
        self.renders = 0  # how many applies changed the host
        self.unavailable = False

    def apply(self, plan: HostPlan) -> Applied:
        found = problems(plan)
        if found:
            raise IllegalPlan(found)
        if self.unavailable:
            raise NetworkHostError("the network host is unavailable")
        wanted = digest(plan)
        changed = self.observe() != wanted
        if changed:
            self.rendered = canonical(plan)
            self.renders += 1
        applied = Applied(position=plan.position, digest=wanted, changed=changed)
        self.applied.append(applied)
        return applied

    def observe(self) -> str | None:
        return None if self.rendered is None else digest(self.rendered)

    def power_loss(self) -> list[str]:
        lost = [] if self.rendered is None else [f"plan of position {self.rendered.position}"]
        self.rendered = None
        return lost

    def close(self) -> None:
        pass
