"""The network host's firewall and NAT: one nftables table, replaced whole.

Why this exists: nova-network kept its NAT and security-group rules in
iptables chains it rewrote as a whole (iptables-restore). The same idea with
nftables: everything nimbus enforces on a network host is one ``table inet
nimbus``, rendered from the plan and loaded in a single ``nft -f -``
transaction that creates the table if missing, deletes it and defines it
again, so a change is atomic and a repeated load never duplicates a rule.

What it holds:
* SNAT of each fixed range leaving by the public bridge to the public gateway;
  1:1 NAT per floating IP (DNAT in prerouting and output, SNAT in postrouting)
  through two maps;
* the metadata redirect: 169.254.169.254 tcp/80 DNATed to ``plan.metadata``;
* per-port security groups in the forward chain, stateful (``ct state``):
  bridged traffic reaches it through br_netfilter
  (``net.bridge.bridge-nf-call-iptables=1`` in the namespace; ``ct`` does not
  work in the bridge family on this kernel). Per direction only what a rule
  allows passes; replies and DHCP always do.

The table's comment carries the sha256 of its rendered text and is read back
from the kernel, so nft runs only when the text changed (or the table is gone).
nft 1.0.6 wants every closing brace on its own line.
"""

from __future__ import annotations

import hashlib
import re

from workers.network import namespace
from workers.network.plan import PUBLIC_BRIDGE, HostPlan, PortPlan, Rule, metadata_target
from workers.network.port import NetworkHostError

TABLE = "inet nimbus"
METADATA_IP = "169.254.169.254"
_COMMENT = re.compile(r'^\s*comment "([^"]*)"', re.MULTILINE)


def render(plan: HostPlan) -> str:
    """The table's definition (without its comment): a pure function of the plan."""
    lines = [f"table {TABLE} {{"]
    lines += _maps(plan)
    lines += _nat_chains(plan)
    lines += _filter_chains(plan)
    lines.append("}")
    return "\n".join(lines) + "\n"


def fingerprint(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def script(text: str) -> str:
    """What ``nft -f -`` is given: replace the whole table in one transaction,
    with the fingerprint of ``text`` as the table's comment."""
    head, _, body = text.partition("\n")
    return (f"table {TABLE}\ndelete table {TABLE}\n"
            f'{head}\n    comment "{fingerprint(text)}"\n{body}')


def _maps(plan: HostPlan) -> list[str]:
    if not plan.floating:
        return []
    floating = sorted(plan.floating, key=lambda f: f.floating_ip)
    dnat = ", ".join(f"{f.floating_ip} : {f.fixed_ip}" for f in floating)
    snat = ", ".join(f"{f.fixed_ip} : {f.floating_ip}"
                     for f in sorted(floating, key=lambda f: f.fixed_ip))
    return [
        "    map floating_dnat {", "        type ipv4_addr : ipv4_addr",
        f"        elements = {{ {dnat} }}", "    }",
        "    map floating_snat {", "        type ipv4_addr : ipv4_addr",
        f"        elements = {{ {snat} }}", "    }",
    ]


def _nat_chains(plan: HostPlan) -> list[str]:
    lines: list[str] = []
    prerouting = []
    target = metadata_target(plan.metadata) if plan.metadata else None
    if target is not None:
        prerouting.append(f"ip daddr {METADATA_IP} tcp dport 80 dnat ip to {target[0]}:{target[1]}")
    if plan.floating:
        prerouting.append("dnat ip to ip daddr map @floating_dnat")
    if prerouting:
        lines += _chain("prerouting", "type nat hook prerouting priority dstnat; policy accept;",
                        prerouting)
    if plan.floating:
        lines += _chain("output", "type nat hook output priority -100; policy accept;",
                        ["dnat ip to ip daddr map @floating_dnat"])
    if plan.public_cidr is not None and plan.public_gateway is not None:
        postrouting = []
        if plan.floating:
            postrouting.append(f'oifname "{PUBLIC_BRIDGE}" snat ip to ip saddr map @floating_snat')
        fixed = ", ".join(sorted(n.cidr for n in plan.networks))
        if fixed:
            postrouting.append(f'oifname "{PUBLIC_BRIDGE}" ip saddr {{ {fixed} }}'
                               f" snat ip to {plan.public_gateway}")
        if postrouting:
            lines += _chain("postrouting",
                            "type nat hook postrouting priority srcnat; policy accept;",
                            postrouting)
    return lines


def _filter_chains(plan: HostPlan) -> list[str]:
    guarded = sorted((p for p in plan.ports if p.rules is not None), key=lambda p: p.ip)
    if not guarded:
        return []
    outgoing = ", ".join(f"{p.ip} : jump {_chain_name('out', p)}" for p in guarded)
    incoming = ", ".join(f"{p.ip} : jump {_chain_name('in', p)}" for p in guarded)
    lines = _chain("forward", "type filter hook forward priority filter; policy accept;", [
        "ct state established,related accept",
        f"ip saddr vmap {{ {outgoing} }}",
        f"ip daddr vmap {{ {incoming} }}",
    ])
    target = metadata_target(plan.metadata) if plan.metadata else None
    for port in sorted(guarded, key=lambda p: p.device):
        rules = sorted(port.rules or [], key=_rule_order)
        egress = ["ct state invalid drop", "udp sport 68 udp dport 67 return"]
        if target is not None:
            egress.append(f"ip daddr {target[0]} tcp dport {target[1]} return")
        egress += [_verdict(_match(r), "return") for r in rules if r.direction == "egress"]
        egress.append("counter drop")
        ingress = ["ct state invalid drop", "udp sport 67 udp dport 68 accept"]
        ingress += [_verdict(_match(r), "accept") for r in rules if r.direction == "ingress"]
        ingress.append("counter drop")
        lines += _chain(_chain_name("out", port), None, egress)
        lines += _chain(_chain_name("in", port), None, ingress)
    return lines


def _chain(name: str, base: str | None, rules: list[str]) -> list[str]:
    head = [f"    chain {name} {{"] + ([f"        {base}"] if base else [])
    return head + [f"        {rule}" for rule in rules] + ["    }"]


def _chain_name(direction: str, port: PortPlan) -> str:
    return f"{direction}-{port.device}"


def _rule_order(rule: Rule) -> tuple[str, str, int, int, str]:
    return (rule.direction, rule.protocol or "", rule.port_min or 0, rule.port_max or 0,
            rule.remote_cidr or "")


def _verdict(match: str, verdict: str) -> str:
    return f"{match} {verdict}" if match else verdict


def _match(rule: Rule) -> str:
    """A security-group rule as an nft match (empty: everything)."""
    parts = []
    if rule.remote_cidr is not None:
        parts.append(f"ip {'saddr' if rule.direction == 'ingress' else 'daddr'} {rule.remote_cidr}")
    if rule.protocol in ("tcp", "udp"):
        if rule.port_min is None:
            parts.append(f"meta l4proto {rule.protocol}")
        elif rule.port_max is None or rule.port_max == rule.port_min:
            parts.append(f"{rule.protocol} dport {rule.port_min}")
        else:
            parts.append(f"{rule.protocol} dport {rule.port_min}-{rule.port_max}")
    elif rule.protocol == "icmp":
        parts.append("ip protocol icmp")
        if rule.port_min is not None:
            parts.append(f"icmp type {rule.port_min}")
            if rule.port_max is not None:
                parts.append(f"icmp code {rule.port_max}")
    return " ".join(parts)


class Nft:
    """The nimbus table of one namespace, replaced when its text changed."""

    def __init__(self, namespace_name: str) -> None:
        self.namespace = namespace_name
        self.loads = 0  # how many times nft was run to replace the table

    def reconcile(self, plan: HostPlan) -> bool:
        if self.matches(plan):
            return False
        namespace.run(self.namespace, ["nft", "-f", "-"], stdin=script(render(plan)))
        self.loads += 1
        return True

    def matches(self, plan: HostPlan) -> bool:
        """Whether the kernel holds the table rendered from ``plan``."""
        return self.loaded_fingerprint() == fingerprint(render(plan))

    def loaded_fingerprint(self) -> str | None:
        """The comment of the table in the kernel; None when there is no table."""
        try:
            listed = namespace.run(self.namespace, ["nft", "list", "table", *TABLE.split()])
        except NetworkHostError:
            return None
        found = _COMMENT.search(listed)
        return found.group(1) if found else None

    def remove(self) -> None:
        namespace.run(self.namespace, ["nft", "-f", "-"],
                      stdin=f"table {TABLE}\ndelete table {TABLE}\n")
