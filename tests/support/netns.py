"""Network namespaces for the network host's adapter tests, removed afterwards.

Each test gets a ``Namespaces`` with a prefix of its own (the pid and a
counter), so parallel or aborted runs never meet. It creates the "instance"
and "public" namespaces a test needs, plugs a port's guest end into an
instance (moved in and renamed eth0, as a hypervisor would), asks for a DHCP
lease with busybox udhcpc, and runs small TCP listeners and clients inside
namespaces. ``cleanup`` stops every process it started, by pid, and deletes
every namespace it named, also when the test failed.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

from pyroute2 import NetNS

TOOLS = ("ip", "dnsmasq", "nft", "busybox", "sysctl", "ping")
_COUNTER = itertools.count()

UDHCPC_SCRIPT = """#!/bin/sh
# busybox udhcpc's hook: apply the lease with ip, never touch resolv.conf
case "$1" in
    deconfig) ip -4 addr flush dev "$interface"; ip link set "$interface" up ;;
    bound|renew)
        ip -4 addr flush dev "$interface"
        ip addr add "$ip/$subnet" dev "$interface"
        if [ -n "$router" ]; then ip route replace default via "${router%% *}"; fi
        echo "$ip" > "$LEASE_FILE"
        ;;
esac
"""

LISTENER = """
import socket, sys
host, port, name = sys.argv[1], int(sys.argv[2]), sys.argv[3]
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((host, port))
server.listen(16)
print("ready", flush=True)
while True:
    connection, peer = server.accept()
    connection.sendall(f"{name} {peer[0]}".encode())
    connection.close()
"""

CLIENT = """
import socket, sys
try:
    with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])) as c:
        print(c.recv(200).decode(), end="")
except OSError as error:
    print(f"failed: {error}", file=sys.stderr)
    sys.exit(1)
"""


def missing_tools() -> list[str]:
    return [tool for tool in TOOLS if shutil.which(tool) is None]


class Namespaces:
    def __init__(self, folder: Path) -> None:
        self.prefix = f"nbt{os.getpid()}x{next(_COUNTER)}"
        self.folder = folder
        self.names: list[str] = []
        self.processes: list[subprocess.Popen[str]] = []
        self.script = folder / "udhcpc.script"
        self.script.write_text(UDHCPC_SCRIPT)
        self.script.chmod(0o755)

    def name(self, role: str) -> str:
        """A namespace name of this test's own; deleted at cleanup whoever made it."""
        name = f"{self.prefix}-{role}"
        if name not in self.names:
            self.names.append(name)
        return name

    def create(self, role: str) -> str:
        name = self.name(role)
        subprocess.run(["ip", "netns", "add", name], check=True)
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        return name

    def plug(self, network_host: str, guest: str, instance: str) -> None:
        """Move a port's guest end into the instance namespace as its eth0, up."""
        with NetNS(network_host, flags=0) as ip:
            ip.link("set", index=ip.link_lookup(ifname=guest)[0], net_ns_fd=instance)
        with NetNS(instance, flags=0) as ip:
            index = ip.link_lookup(ifname=guest)[0]
            ip.link("set", index=index, ifname="eth0")
            ip.link("set", index=index, state="up")

    def uplink(self, network_host: str, bridge: str, public: str, address: str) -> None:
        """A veth from the public namespace (its eth0, ``address``) into ``bridge``."""
        with NetNS(network_host, flags=0) as ip:
            ip.link("add", ifname="uplink", kind="veth",
                    peer={"ifname": "eth0", "net_ns_fd": public})
            index = ip.link_lookup(ifname="uplink")[0]
            ip.link("set", index=index, master=ip.link_lookup(ifname=bridge)[0], state="up")
        with NetNS(public, flags=0) as ip:
            index = ip.link_lookup(ifname="eth0")[0]
            address_part, _, prefix = address.partition("/")
            ip.addr("add", index=index, address=address_part, prefixlen=int(prefix))
            ip.link("set", index=index, state="up")

    def lease(self, instance: str) -> str | None:
        """The address busybox udhcpc obtains on eth0 (and applies); None without one."""
        lease_file = self.folder / f"{instance}.lease"
        lease_file.unlink(missing_ok=True)
        done = subprocess.run(
            ["ip", "netns", "exec", instance, "busybox", "udhcpc", "-i", "eth0", "-f", "-q",
             "-n", "-t", "4", "-T", "1", "-A", "1", "-s", str(self.script)],
            env={**os.environ, "LEASE_FILE": str(lease_file)}, capture_output=True, text=True,
            timeout=30, check=False)
        return lease_file.read_text().strip() if done.returncode == 0 else None

    def listen(self, where: str, host: str, port: int, name: str) -> None:
        """A TCP listener in ``where`` answering each connection with
        "<name> <the peer's address>"; returns once it listens."""
        process = subprocess.Popen(
            ["ip", "netns", "exec", where, sys.executable, "-c", LISTENER, host, str(port), name],
            stdout=subprocess.PIPE, text=True)
        self.processes.append(process)
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"

    def connect(self, where: str, host: str, port: int, timeout: float = 1.0) -> str | None:
        """What a TCP listener at host:port answers a client in ``where``; None when
        the connection fails (refused, or dropped until the timeout)."""
        done = subprocess.run(
            ["ip", "netns", "exec", where, sys.executable, "-c", CLIENT, host, str(port),
             str(timeout)], capture_output=True, text=True, timeout=30, check=False)
        return done.stdout if done.returncode == 0 else None

    def ping(self, where: str, address: str) -> bool:
        done = subprocess.run(["ip", "netns", "exec", where, "ping", "-c", "1", "-W", "1", "-q",
                               address], capture_output=True, timeout=30, check=False)
        return done.returncode == 0

    def cleanup(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
        for name in self.names:
            if Path("/run/netns", name).exists():
                subprocess.run(["ip", "netns", "del", name], check=False)
