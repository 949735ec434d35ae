"""A network host that renders its plan as a file and nothing else.

For machines where nimbus may not touch networking (no root, no ``ip``,
``dnsmasq`` or ``nft``) and for tests of everything around the network
worker: the plan it was given is written under its state folder, its digest
kept, so the worker's level-based behaviour (nothing to do for an unchanged
plan, a restart that changes nothing) is the same as on a real host. Ports
it "serves" reach no guest: say so where it is chosen (settings
``network_driver = "recorded"``).
"""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from workers.network.plan import Applied, HostPlan, digest


class RecordedNetworkHost:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        state_dir.mkdir(parents=True, exist_ok=True)
        self._plan = state_dir / "plan.json"
        self._digest = state_dir / "digest"

    def apply(self, plan: HostPlan) -> Applied:
        wanted = digest(plan)
        if self.observe() == wanted:
            return Applied(position=plan.position, digest=wanted, changed=False)
        for path, data in ((self._plan, msgspec.json.encode(plan)),
                           (self._digest, wanted.encode())):
            temporary = path.with_suffix(".tmp")
            temporary.write_bytes(data)
            os.replace(temporary, path)
        return Applied(position=plan.position, digest=wanted, changed=True)

    def observe(self) -> str | None:
        try:
            return self._digest.read_text().strip() or None
        except FileNotFoundError:
            return None

    def rendered(self) -> HostPlan | None:
        try:
            return msgspec.json.decode(self._plan.read_bytes(), type=HostPlan)
        except FileNotFoundError:
            return None

    def power_loss(self) -> list[str]:
        """The recorded plan dropped, as a real host's rendering goes with its power."""
        plan = self.rendered()
        self._plan.unlink(missing_ok=True)
        self._digest.unlink(missing_ok=True)
        return [] if plan is None else [f"the rendered plan of log position {plan.position}"]

    def close(self) -> None:
        pass
