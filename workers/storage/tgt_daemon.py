"""A private tgtd, started as a child process and stopped cleanly.

Tests and the embedded default need an iSCSI target without touching a
host's own tgtd: this one listens on a control port no other tgtd uses
(its socket is ``/var/run/tgtd/socket.<port>``, or ``$TGT_IPC_SOCKET.<port>``)
and on a free loopback portal. It is ready when tgtadm answers on the
control port and the portal accepts a connection. Stopping takes the
target offline, deletes every target, asks tgtd to exit, and waits for the
child; only if it will not exit is that child (and nothing else) killed.
The socket files it made are removed.

A tgtd must not outlive the process that started it: it would keep serving
its exports, and every restart would add one. tgtd ignores SIGTERM and
SIGINT, so the kernel's parent-death signal for it is SIGKILL (armed when it
is started from the main thread, workers/child_process.py). And with a pid
file, a start first stops the tgtd that file names, if one still runs (it is
checked to be a tgtd on the recorded control port before it is signalled).

With a port file, a tgtd started again listens on the portal port the last
one used (when it is still free) and keeps it there: the log records each
export's portal, and an export made again after a restart is then where the
log, and the guest's disk, say it is.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO

from workers.child_process import parent_death_hook
from workers.storage.port import StorageError, StorageUnavailable
from workers.storage.tgt_exporter import TgtExporter, targets, tgtadm


def free_tcp_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _socket_base() -> str:
    return os.environ.get("TGT_IPC_SOCKET", "/var/run/tgtd/socket")


def free_control_port() -> int:
    """A tgtd control port whose socket files do not exist (no tgtd uses it)."""
    base = _socket_base()
    while True:
        port = random.randrange(1024, 32768)  # tgtd takes -C values up to 32767
        if not any(Path(f"{base}.{port}{end}").exists() for end in ("", ".lock")):
            return port


def _socket_files(port: int) -> list[Path]:
    return [Path(f"{_socket_base()}.{port}"), Path(f"{_socket_base()}.{port}.lock")]


def _shut_down(port: int) -> None:
    """Ask the tgtd on ``port`` to take its targets offline, delete them and exit."""

    def quietly(*args: str) -> None:
        with contextlib.suppress(StorageError, StorageUnavailable):
            tgtadm(port, *args)

    quietly("--op", "update", "--mode", "sys", "--name", "State", "-v", "offline")
    with contextlib.suppress(StorageError, StorageUnavailable):
        for target in targets(port):
            quietly("--lld", "iscsi", "--op", "delete", "--mode", "target",
                    "--tid", str(target.tid), "--force")
    quietly("--op", "delete", "--mode", "system")


def is_tgtd(pid: int, control_port: int) -> bool:
    """True when ``pid`` is a live tgtd on ``control_port``."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    options = set(itertools.pairwise(argv))
    return state != "Z" and Path(argv[0]).name == "tgtd" and ("-C", str(control_port)) in options


def stop_leftover(pid_file: Path, timeout: float = 10.0) -> None:
    """Stop the tgtd that ``pid_file`` names if it still runs (a crash left it)."""
    try:
        pid, port = (int(field) for field in pid_file.read_text().split()[:2])
    except (OSError, ValueError):
        pid_file.unlink(missing_ok=True)
        return
    if is_tgtd(pid, port):
        _shut_down(port)
        deadline = time.monotonic() + timeout
        while is_tgtd(pid, port) and time.monotonic() < deadline:
            time.sleep(0.05)
        if is_tgtd(pid, port):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    for leftover in _socket_files(port):
        leftover.unlink(missing_ok=True)
    pid_file.unlink(missing_ok=True)


class TgtDaemon:
    """``with TgtDaemon() as tgtd: tgtd.exporter()`` gives a working exporter."""

    def __init__(self, host: str = "127.0.0.1", *, ready_timeout: float = 10.0,
                 pid_file: Path | None = None, port_file: Path | None = None) -> None:
        self.host = host
        self.ready_timeout = ready_timeout
        self.pid_file = pid_file
        self.port_file = port_file
        self.control_port = 0
        self.iscsi_port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def portal(self) -> str:
        return f"{self.host}:{self.iscsi_port}"

    def exporter(self) -> TgtExporter:
        return TgtExporter(control_port=self.control_port, portal=self.portal)

    def start(self) -> None:
        if self.pid_file is not None:
            stop_leftover(self.pid_file)
        failures = []
        for attempt in range(3):  # a port taken between choosing and binding: choose again
            self.control_port = free_control_port()
            self.iscsi_port = (attempt == 0 and self._last_port()) or free_tcp_port(self.host)
            self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop)
            try:
                self.process = subprocess.Popen(
                    ["tgtd", "-f", "-C", str(self.control_port),
                     "--iscsi", f"portal={self.portal}"],
                    stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                    preexec_fn=parent_death_hook(signal.SIGKILL))
            except FileNotFoundError as error:
                self._log.close()
                raise StorageUnavailable("tgtd is not installed") from error
            failure = self._wait_until_ready()
            if failure is None:
                if self.pid_file is not None:
                    self.pid_file.parent.mkdir(parents=True, exist_ok=True)
                    self.pid_file.write_text(f"{self.process.pid} {self.control_port}\n")
                if self.port_file is not None:
                    self.port_file.parent.mkdir(parents=True, exist_ok=True)
                    self.port_file.write_text(f"{self.iscsi_port}\n")
                return
            failures.append(failure)
            self.stop()
        raise StorageUnavailable(f"tgtd did not start: {'; '.join(failures)}")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        port = self.control_port
        if process.poll() is None:
            _shut_down(port)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        for leftover in _socket_files(port):
            leftover.unlink(missing_ok=True)
        if self.pid_file is not None:
            self.pid_file.unlink(missing_ok=True)

    def __enter__(self) -> TgtDaemon:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    def _last_port(self) -> int | None:
        """The portal port the port file names, when nothing listens there now."""
        try:
            port = int(self.port_file.read_text()) if self.port_file is not None else 0
        except (OSError, ValueError):
            return None
        if not 0 < port < 65536:
            return None
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as tgtd binds
            try:
                probe.bind((self.host, port))
            except OSError:
                return None
        return port

    def _wait_until_ready(self) -> str | None:
        """None once tgtd answers and its portal accepts connections; else what went wrong."""
        assert self.process is not None
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return f"tgtd exited with {self.process.returncode}: {self._log_tail()}"
            try:
                tgtadm(self.control_port, "--lld", "iscsi", "--op", "show", "--mode", "target")
            except (StorageError, StorageUnavailable):
                time.sleep(0.02)
                continue
            try:  # tgtd binds its portals before it answers tgtadm
                socket.create_connection((self.host, self.iscsi_port), timeout=2).close()
            except OSError as error:
                return f"portal {self.portal} does not accept connections ({error}): " \
                       f"{self._log_tail()}"
            return None
        return f"tgtd did not answer within {self.ready_timeout} s: {self._log_tail()}"

    def _log_tail(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        lines = self._log.read().decode(errors="replace").strip().splitlines()
        return " | ".join(lines[-3:])
