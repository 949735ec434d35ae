"""The real network host: one network namespace made to match a plan.

Why this exists: this is nova-network's network host (bridges, dnsmasq,
iptables) as a level-based adapter. ``NamespaceNetworkHost`` owns one network
namespace, given by name and created if missing (never the root namespace:
every netlink handle is opened with ``flags=0`` and every tool runs through
``ip netns exec``), and composes the three renderers: links (pyroute2),
dnsmasq and nftables. IPv4 forwarding and br_netfilter's call into the IP
hooks are switched on inside that namespace only.

After rendering a plan it records the canonical plan in ``state_dir``; a plan
with the same digest then does nothing (``changed=False``), also in a new
process on the same state dir. The record is removed before a different plan
is rendered and written only once every part matches, and every part reads
the host back (links from the kernel, dnsmasq from /proc and its hosts files,
the nft table's fingerprint from the kernel), so a crash between rendering and
recording converges on the next apply without a duplicate address, rule or
lease. Before trusting the record, ``observe`` checks the host still holds it
(links, dnsmasq and its hosts files, the nft table's fingerprint), so a
dnsmasq that died or a table somebody flushed is rendered again on the next
apply; all of that is read only and takes milliseconds.

``power_loss`` simulates the host losing power: its dnsmasq processes stop
and its namespace goes (namespaces do not outlive a boot), with every bridge,
veth, address and nft rule in it; what is on disk stays, so the next apply
finds the host drifted from its record and renders it all again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from pathlib import Path

import msgspec

from workers.network import namespace
from workers.network.dnsmasq import Dnsmasq
from workers.network.links import ALIAS, Links, ensure_namespace, read_links, remove_namespace
from workers.network.nft import Nft
from workers.network.plan import Applied, HostPlan, digest, encode, problems
from workers.network.port import IllegalPlan

log = logging.getLogger(__name__)

SYSCTLS = {"net.ipv4.ip_forward": "1", "net.bridge.bridge-nf-call-iptables": "1"}
RENDERED = "rendered.json"


class NamespaceNetworkHost:
    def __init__(self, namespace_name: str, state_dir: Path, underlay: str | None = None) -> None:
        """``underlay``: an interface in the namespace that carries tenant segments
        (nova's ``vlan_interface``); without one a segment is a vxlan without a link."""
        self.namespace = namespace_name
        self.state_dir = state_dir
        self.links = Links(namespace_name, underlay)
        self.dnsmasq = Dnsmasq(namespace_name, state_dir / "dnsmasq")
        self.nft = Nft(namespace_name)
        self._rendered = state_dir / RENDERED

    def apply(self, plan: HostPlan) -> Applied:
        found = problems(plan)
        if found:
            raise IllegalPlan(found)
        wanted = digest(plan)
        recorded = self._recorded()
        if recorded is not None and digest(recorded) == wanted and self._holds(recorded):
            return Applied(position=plan.position, digest=wanted, changed=False)
        self._rendered.unlink(missing_ok=True)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        changed = ensure_namespace(self.namespace)
        namespace.set_sysctls(self.namespace, SYSCTLS)
        changed |= self.links.reconcile(plan)
        changed |= self.dnsmasq.reconcile(plan)
        changed |= self.nft.reconcile(plan)
        _write_atomically(self._rendered, encode(plan))
        return Applied(position=plan.position, digest=wanted, changed=changed)

    def observe(self) -> str | None:
        """The digest of the plan recorded as rendered, when the host still holds
        it: the namespace exists, its links, dnsmasq processes and hosts files and
        nft table match that plan (read back from the kernel, /proc and the files).
        None when nothing is rendered or the host drifted from the record; the next
        apply then renders again (a dnsmasq that died is started again)."""
        recorded = self._recorded()
        return digest(recorded) if recorded is not None and self._holds(recorded) else None

    def _recorded(self) -> HostPlan | None:
        try:
            return msgspec.json.decode(self._rendered.read_bytes(), type=HostPlan)
        except (OSError, msgspec.ValidationError, msgspec.DecodeError):
            return None

    def _holds(self, rendered: HostPlan) -> bool:
        """Whether the host still holds what ``rendered`` asks for (read only)."""
        if not namespace.exists(self.namespace):
            return False
        drift = self.links.drift(rendered)
        if drift:
            log.warning("network host %s drifted from its record: %s", self.namespace,
                        "; ".join(drift))
            return False
        return self.dnsmasq.matches(rendered) and self.nft.matches(rendered)

    def power_loss(self) -> list[str]:
        """Every link, dnsmasq and rule of the host gone (see the module's
        docstring); what it was serving, one line each."""
        if not namespace.exists(self.namespace):
            return []
        lost = [f"{link.kind or 'link'} {name}"
                for name, link in sorted(read_links(self.namespace).items())
                if link.alias.startswith(ALIAS)]
        lost += [f"dnsmasq on {bridge}" for bridge in self.dnsmasq.pids()]
        if self.nft.loaded_fingerprint() is not None:
            lost.append("nft table (NAT and security groups)")
        self.dnsmasq.power_off()
        remove_namespace(self.namespace)
        return lost

    def close(self) -> None:
        """Nothing to release (netlink handles live for one apply); the host keeps
        running what it rendered."""

    def teardown(self) -> None:
        """Remove everything this host rendered: dnsmasq processes, the namespace
        (and with it every link, address and rule) and the state files."""
        self.dnsmasq.stop_all()
        remove_namespace(self.namespace)
        self._rendered.unlink(missing_ok=True)
        shutil.rmtree(self.state_dir / "dnsmasq", ignore_errors=True)
        with contextlib.suppress(OSError):
            self.state_dir.rmdir()


def _write_atomically(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
