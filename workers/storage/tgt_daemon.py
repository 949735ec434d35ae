"""A private tgtd, started as a child process and stopped cleanly.

Tests and the embedded default need an iSCSI target without touching a
host's own tgtd: this one listens on a control port no other tgtd uses
(its socket is ``/var/run/tgtd/socket.<port>``, or ``$TGT_IPC_SOCKET.<port>``)
and on a free loopback portal. It is ready when tgtadm answers on the
control port and the portal accepts a connection. Stopping takes the
target offline, deletes every target, asks tgtd to exit, and waits for the
child; only if it will not exit is that child (and nothing else) killed.
The socket files it made are removed.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO

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


class TgtDaemon:
    """``with TgtDaemon() as tgtd: tgtd.exporter()`` gives a working exporter."""

    def __init__(self, host: str = "127.0.0.1", *, ready_timeout: float = 10.0) -> None:
        self.host = host
        self.ready_timeout = ready_timeout
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
        failures = []
        for _attempt in range(3):  # a port taken between choosing and binding: choose again
            self.control_port = free_control_port()
            self.iscsi_port = free_tcp_port(self.host)
            self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop)
            try:
                self.process = subprocess.Popen(
                    ["tgtd", "-f", "-C", str(self.control_port),
                     "--iscsi", f"portal={self.portal}"],
                    stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT)
            except FileNotFoundError as error:
                self._log.close()
                raise StorageUnavailable("tgtd is not installed") from error
            failure = self._wait_until_ready()
            if failure is None:
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
            self._quietly("--op", "update", "--mode", "sys", "--name", "State", "-v", "offline")
            with contextlib.suppress(StorageError, StorageUnavailable):
                for target in targets(port):
                    self._quietly("--lld", "iscsi", "--op", "delete", "--mode", "target",
                                  "--tid", str(target.tid), "--force")
            self._quietly("--op", "delete", "--mode", "system")
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None
        for leftover in (f"{_socket_base()}.{port}", f"{_socket_base()}.{port}.lock"):
            Path(leftover).unlink(missing_ok=True)

    def __enter__(self) -> TgtDaemon:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

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

    def _quietly(self, *args: str) -> None:
        with contextlib.suppress(StorageError, StorageUnavailable):
            tgtadm(self.control_port, *args)
