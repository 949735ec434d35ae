"""One dnsmasq per DHCP network, with nova-network's command line.

Why this exists: nova-network handed each instance its fixed IP by DHCP from a
dnsmasq per network bridge, in static mode (only MACs in its hosts file get a
lease), reloaded with SIGHUP when a host was added or removed. The same here,
inside the network host's namespace: a hosts file per network ("mac,hostname,ip"
a line, replaced atomically); SIGHUP when it changed, never a restart per port;
a restart only when the command line itself must change (gateway, range, DNS
servers); dnsmasq of networks the plan no longer has (or no longer serves by
DHCP) is stopped. A process is tracked by its pid file and recognised by its
command line in /proc, so a dnsmasq that died is started again on the next
apply and a pid reused by another process is never signalled.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from workers.network import namespace
from workers.network.plan import HostPlan, NetworkPlan, dhcp_start, is_ipv4, netmask
from workers.network.port import NetworkHostError

LEASE_TIME = "120s"
STOP_SECONDS = 5.0
START_SECONDS = 5.0


def hosts_file(network: NetworkPlan) -> str:
    """The static leases: "mac,hostname,ip" per line, in MAC order."""
    hosts = sorted(network.hosts, key=lambda h: (h.mac.lower(), h.ip))
    return "".join(f"{h.mac.lower()},{h.hostname},{h.ip}\n" for h in hosts)


class Files:
    """Where one network's dnsmasq keeps its files under the adapter's state dir."""

    def __init__(self, folder: Path, bridge: str) -> None:
        self.hosts = folder / f"{bridge}.hosts"
        self.pid = folder / f"{bridge}.pid"
        self.log = folder / f"{bridge}.log"


def command_line(network: NetworkPlan, files: Files) -> list[str]:
    """nova-network's dnsmasq command line for one network (static leases only)."""
    tag = network.bridge
    argv = [
        "dnsmasq", "--strict-order", "--bind-interfaces", "--conf-file=",
        f"--pid-file={files.pid}", f"--listen-address={network.gateway}",
        "--except-interface=lo",
        f"--dhcp-range=set:{tag},{dhcp_start(network)},static,{netmask(network.cidr)},"
        f"{LEASE_TIME}",
        f"--dhcp-hostsfile={files.hosts}",
        f"--dhcp-option=tag:{tag},option:router,{network.gateway}",
    ]
    servers = [server for server in network.dns_servers if is_ipv4(server)]  # option 6: IPv4
    if servers:
        argv.append(f"--dhcp-option=tag:{tag},6,{','.join(servers)}")
    argv += ["--no-hosts", "--no-resolv", "--leasefile-ro", "--user=root",
             f"--log-facility={files.log}"]
    return argv


class Dnsmasq:
    """The dnsmasq processes of one namespace, reconciled with a plan."""

    def __init__(self, namespace_name: str, folder: Path) -> None:
        self.namespace = namespace_name
        self.folder = folder

    def reconcile(self, plan: HostPlan) -> bool:
        """Start, reload, restart or stop dnsmasq so that each DHCP network of the
        plan has exactly one serving its hosts file; True when anything changed."""
        self.folder.mkdir(parents=True, exist_ok=True)
        serving = {n.bridge: n for n in plan.networks if n.dhcp}
        changed = False
        for pid_file in sorted(self.folder.glob("*.pid")):
            if pid_file.stem not in serving:
                changed |= self._stop(Files(self.folder, pid_file.stem), remove=True)
        for bridge, network in serving.items():
            changed |= self._serve(network, Files(self.folder, bridge))
        return changed

    def matches(self, plan: HostPlan) -> bool:
        """Whether every DHCP network's dnsmasq runs with the command line and the
        hosts file it needs, and no other runs."""
        serving = {n.bridge: n for n in plan.networks if n.dhcp}
        if {p.stem for p in self.folder.glob("*.pid")} - set(serving):
            return False
        for bridge, network in serving.items():
            files = Files(self.folder, bridge)
            if (self.running_pid(files, command_line(network, files)) is None
                    or _read(files.hosts) != hosts_file(network)):
                return False
        return True

    def pids(self) -> dict[str, int]:
        """bridge -> pid of each live dnsmasq this adapter started (by its pid file)."""
        found = {}
        for pid_file in sorted(self.folder.glob("*.pid")):
            pid = _own_process(Files(self.folder, pid_file.stem))
            if pid is not None:
                found[pid_file.stem] = pid
        return found

    def stop_all(self) -> None:
        for pid_file in sorted(self.folder.glob("*.pid")):
            self._stop(Files(self.folder, pid_file.stem), remove=True)

    def power_off(self) -> None:
        """Every dnsmasq stopped, as a power loss stops them; their hosts files stay."""
        for pid_file in sorted(self.folder.glob("*.pid")):
            self._stop(Files(self.folder, pid_file.stem), remove=False)

    def _serve(self, network: NetworkPlan, files: Files) -> bool:
        wanted_hosts = hosts_file(network)
        hosts_changed = _read(files.hosts) != wanted_hosts
        if hosts_changed:
            _write_atomically(files.hosts, wanted_hosts)
        argv = command_line(network, files)
        pid = self.running_pid(files, argv)
        if pid is not None:
            if hosts_changed:
                os.kill(pid, signal.SIGHUP)  # dnsmasq rereads --dhcp-hostsfile
            return hosts_changed
        self._stop(files, remove=False)  # another command line, or a leftover
        self._start(files, argv)
        return True

    def running_pid(self, files: Files, argv: list[str]) -> int | None:
        """The pid of this network's dnsmasq when it runs with exactly ``argv``."""
        pid = _own_process(files)
        return pid if pid is not None and _cmdline(pid) == argv else None

    def _start(self, files: Files, argv: list[str]) -> None:
        files.pid.unlink(missing_ok=True)
        namespace.run(self.namespace, argv)  # dnsmasq forks, its parent exits when ready
        deadline = time.monotonic() + START_SECONDS
        while self.running_pid(files, argv) is None:
            if time.monotonic() > deadline:
                raise NetworkHostError(f"dnsmasq for {files.pid.stem} in {self.namespace} did"
                                       f" not start; see {files.log}")
            time.sleep(0.01)

    def _stop(self, files: Files, *, remove: bool) -> bool:
        """Stop this network's dnsmasq (the one named by the pid file, or one a lost
        pid file left running); True when one was running."""
        pids = {p for p in (_own_process(files),) if p is not None} | _by_pid_file_arg(files)
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while any(_cmdline(pid) for pid in pids):
            if time.monotonic() > deadline:
                raise NetworkHostError(f"dnsmasq {sorted(pids)} did not stop")
            time.sleep(0.01)
        files.pid.unlink(missing_ok=True)
        if remove:
            files.hosts.unlink(missing_ok=True)
            files.log.unlink(missing_ok=True)
        return bool(pids)


def _own_process(files: Files) -> int | None:
    """The pid in the pid file when that process is a dnsmasq using that pid file."""
    try:
        pid = int(files.pid.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    argv = _cmdline(pid)
    return pid if argv and argv[0] == "dnsmasq" and f"--pid-file={files.pid}" in argv else None


def _by_pid_file_arg(files: Files) -> set[int]:
    """Every dnsmasq started with this pid file, whatever the file says now."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            argv = _cmdline(int(entry.name))
            if argv and argv[0] == "dnsmasq" and f"--pid-file={files.pid}" in argv:
                found.add(int(entry.name))
    return found


def _cmdline(pid: int) -> list[str]:
    """A live process's arguments; [] when it is gone or a zombie."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return raw.decode(errors="replace").split("\0")[:-1] if raw else []


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)
