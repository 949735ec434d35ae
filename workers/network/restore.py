"""What rendering a network host again restores, in an operator's words.

Why this exists: after a power loss the network host has lost its bridges,
veths, dnsmasq and rules, but its plan is a pure function of the log (the
worker folds it, workers/network/planner.py). Its reconcile compares the
digest the host holds (``NetworkHost.observe``) with the plan's: equal, there
is nothing to do; else the whole plan is rendered again (the host is one
unit: its bridges and rules are shared by every port on them). These lines
are its answer: one per part of the plan that rendering brings back.
"""

from __future__ import annotations

from workers.network.plan import PUBLIC_BRIDGE, HostPlan


def describe(plan: HostPlan) -> list[str]:
    """One line per bridge, port, NAT mapping and rule set the plan renders."""
    bridges = {n.network_id: n.bridge for n in plan.networks}
    lines = [f"render bridge {n.bridge} for {n.cidr} (gateway {n.gateway}"
             f"{', dnsmasq' if n.dhcp else ''}{f', segment {n.segment}' if n.segment else ''})"
             for n in plan.networks]
    lines += [f"render port {p.device} ({p.ip}) on {bridges.get(p.network_id, '?')}"
              for p in plan.ports]
    if plan.public_cidr:
        lines.append(f"render bridge {PUBLIC_BRIDGE} for {plan.public_cidr}")
    lines += [f"render NAT of {f.floating_ip} to {f.fixed_ip}" for f in plan.floating]
    if plan.metadata:
        lines.append(f"render the metadata redirect to {plan.metadata}")
    lines.append("render the filter and NAT rules (nftables)")
    return lines
