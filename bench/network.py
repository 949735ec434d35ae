"""The network host's render times, next to a script doing the same work directly.

For 10, 100 and 1000 ports on one network, each with a security group (tcp/22
in) and a floating IP, in a namespace of its own:

* nimbus: ``NamespaceNetworkHost.apply`` of the whole plan (bridge, a veth pair
  per port, the dnsmasq hosts file, one nftables table), then of the plan with
  one port more: the time one change takes with that many ports;
* directly: ``ip -batch`` making the same bridge and veth pairs, and ``nft -f``
  loading the same ruleset (nimbus's own rendering of it); then one veth pair
  and the ruleset again.

The direct script starts no dnsmasq and checks nothing it made; nimbus does
both (it reads the host back before and after), which is what the difference
pays for. Needs root and ip, dnsmasq, nft (scripts/install.sh); every
namespace it makes is removed.

    .venv/bin/python -m bench.network [--ports 10,100,1000]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from workers.network import nft
from workers.network.host import NamespaceNetworkHost
from workers.network.plan import (
    DhcpHost,
    Floating,
    HostPlan,
    NetworkPlan,
    PortPlan,
    Rule,
    guest_device,
)

FIXED = ipaddress.IPv4Address("10.0.0.0")  # 10.0.0.0/16, gateway .1
PUBLIC = ipaddress.IPv4Address("172.24.0.0")  # 172.24.0.0/16, gateway .1
CHANGES = 3  # one-port changes timed per size; the median is reported
SSH = [Rule(direction="ingress", protocol="tcp", port_min=22, port_max=22)]


def _port(n: int) -> PortPlan:
    port_id = str(uuid.UUID(int=n + 1))
    return PortPlan(port_id=port_id, network_id="net1",
                    mac=f"fa:16:3e:{(n >> 16) & 255:02x}:{(n >> 8) & 255:02x}:{n & 255:02x}",
                    ip=str(FIXED + n + 2),
                    device=f"tap{port_id.replace('-', '')[-11:]}", rules=SSH)


def plan(ports: int, position: int = 1) -> HostPlan:
    made = [_port(n) for n in range(ports)]
    network = NetworkPlan(network_id="net1", bridge="br100", cidr="10.0.0.0/16",
                          gateway="10.0.0.1", dhcp=True,
                          hosts=[DhcpHost(mac=p.mac, ip=p.ip, hostname=f"h{i}")
                                 for i, p in enumerate(made)])
    floating = [Floating(floating_ip=str(PUBLIC + i + 2), fixed_ip=p.ip)
                for i, p in enumerate(made)]
    return HostPlan(position=position, networks=[network], ports=made, floating=floating,
                    public_cidr="172.24.0.0/16", public_gateway="172.24.0.1")


def _run(argv: list[str], stdin: str | None = None) -> None:
    subprocess.run(argv, input=stdin, text=True, check=True, capture_output=True)


def _links(ports: list[PortPlan], bridge: bool) -> str:
    lines = ["link add br100 type bridge", "addr add 10.0.0.1/16 dev br100",
             "link set br100 up"] if bridge else []
    for p in ports:
        lines += [f"link add {p.device} type veth peer name {guest_device(p.device)}",
                  f"link set {p.device} master br100", f"link set {p.device} up"]
    return "\n".join(lines) + "\n"


def direct(namespace: str, ports: int) -> tuple[float, float]:
    """The same links and ruleset by ``ip -batch`` and ``nft -f``: (whole, one change)."""
    _run(["ip", "netns", "add", namespace])
    try:
        whole = plan(ports)
        start = time.perf_counter()
        _run(["ip", "-n", namespace, "-batch", "-"], _links(whole.ports, True))
        _run(["ip", "netns", "exec", namespace, "nft", "-f", "-"],
             nft.script(nft.render(whole)))
        first = time.perf_counter() - start
        changes = []
        for extra in range(CHANGES):
            bigger = plan(ports + extra + 1)
            start = time.perf_counter()
            _run(["ip", "-n", namespace, "-batch", "-"],
                 _links(bigger.ports[-1:], False))
            _run(["ip", "netns", "exec", namespace, "nft", "-f", "-"],
                 nft.script(nft.render(bigger)))
            changes.append(time.perf_counter() - start)
        return first, statistics.median(changes)
    finally:
        _run(["ip", "netns", "del", namespace])


def nimbus(namespace: str, ports: int, state: Path) -> tuple[float, float]:
    """``NamespaceNetworkHost.apply``: (the whole plan, one port more)."""
    host = NamespaceNetworkHost(namespace, state)
    try:
        start = time.perf_counter()
        host.apply(plan(ports))
        first = time.perf_counter() - start
        changes = []
        for extra in range(CHANGES):
            start = time.perf_counter()
            host.apply(plan(ports + extra + 1, position=extra + 2))
            changes.append(time.perf_counter() - start)
        return first, statistics.median(changes)
    finally:
        host.teardown()


def measure(sizes: list[int]) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="nimbus-bench-net-") as scratch:
        for size in sizes:
            tag = f"nbb{os.getpid()}x{size}"
            ours = nimbus(f"{tag}n", size, Path(scratch) / str(size))
            theirs = direct(f"{tag}d", size)
            rows.append({"ports": size, "nimbus_render_s": round(ours[0], 4),
                         "nimbus_change_s": round(ours[1], 4),
                         "direct_render_s": round(theirs[0], 4),
                         "direct_change_s": round(theirs[1], 4),
                         "change_ratio": round(ours[1] / theirs[1], 3)})
    return rows


def lines(rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(f"network host, {r['ports']} ports: render / one change",
             f"{r['nimbus_render_s'] * 1000:,.1f} / {r['nimbus_change_s'] * 1000:,.1f} ms vs "
             f"{r['direct_render_s'] * 1000:,.1f} / {r['direct_change_s'] * 1000:,.1f} ms "
             f"by ip -batch + nft -f = {r['change_ratio']}x per change") for r in rows]


def available() -> str | None:
    """Why this cannot run here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    missing = [t for t in ("ip", "dnsmasq", "nft") if subprocess.run(
        ["sh", "-c", f"command -v {t}"], capture_output=True).returncode != 0]
    return f"missing {', '.join(missing)} (scripts/install.sh)" if missing else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ports", default="10,100,1000")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    why = available()
    if why is not None:
        print(f"bench.network: not measured: {why}", file=sys.stderr)
        return 1
    rows = measure([int(n) for n in args.ports.split(",")])
    for name, figure in lines(rows):
        print(f"  {name:<48} {figure}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
