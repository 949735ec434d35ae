"""Running a tool inside the network host's namespace, never the root one.

Why this exists: dnsmasq, nft and sysctl act on the network namespace of the
process that runs them. Every one of them is started through ``ip netns exec``
naming the host's namespace, and only after the namespace is known to exist
(``ip netns exec`` on a missing name fails instead of creating it, unlike
pyroute2's default), so nothing of a plan ever lands in the root namespace.
"""

from __future__ import annotations

import ctypes
import os
import socket
import subprocess
import threading
from pathlib import Path

from workers.network.port import NetworkHostError

RUN_DIR = Path("/run/netns")
TOOL_TIMEOUT = 30.0


def exists(namespace: str) -> bool:
    return (RUN_DIR / namespace).exists()


def command(namespace: str, argv: list[str]) -> list[str]:
    """``argv`` as run inside ``namespace``."""
    if not namespace or "/" in namespace:
        raise NetworkHostError(f"{namespace!r} is not a network namespace name")
    return ["ip", "netns", "exec", namespace, *argv]


def run(namespace: str, argv: list[str], stdin: str | None = None) -> str:
    """Run ``argv`` inside the namespace and return its output; a failure (or a
    namespace that does not exist) raises NetworkHostError with the tool's words."""
    if not exists(namespace):
        raise NetworkHostError(f"network namespace {namespace!r} does not exist")
    return run_plain(command(namespace, argv), stdin)


def run_plain(argv: list[str], stdin: str | None = None) -> str:
    """Run a command that names the namespace itself (``ip -n NS …``)."""
    try:
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True,
                              timeout=TOOL_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise NetworkHostError(f"{argv[0]}: {error}") from error
    if done.returncode != 0:
        raise NetworkHostError(
            f"{' '.join(argv[:6])} exited {done.returncode}: "
            f"{(done.stderr or done.stdout).strip()}")
    return done.stdout


def set_sysctls(namespace: str, values: dict[str, str]) -> None:
    """Per-namespace sysctls (ip_forward, bridge-nf-call-iptables); the root
    namespace's values are never touched."""
    run(namespace, ["sysctl", "-q", "-w", *(f"{k}={v}" for k, v in sorted(values.items()))])


CLONE_NEWNET = 0x40000000


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))


def listen_in(namespace: str, port: int, address: str = "0.0.0.0") -> socket.socket:
    """A listening TCP socket inside ``namespace`` (which must exist). A thread
    enters the namespace (``setns`` acts on the calling thread only), makes the
    socket and goes back; the socket stays bound in the namespace."""
    if not exists(namespace):
        raise NetworkHostError(f"network namespace {namespace!r} does not exist")
    made: list[socket.socket] = []
    failed: list[BaseException] = []

    def bind() -> None:
        home = os.open(f"/proc/self/task/{threading.get_native_id()}/ns/net", os.O_RDONLY)
        target = os.open(RUN_DIR / namespace, os.O_RDONLY)
        try:
            _setns(target)
            try:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((address, port))
                sock.listen(128)
                sock.setblocking(False)
                made.append(sock)
            finally:
                _setns(home)
        except BaseException as error:  # handed to the caller's thread
            failed.append(error)
        finally:
            os.close(home)
            os.close(target)

    thread = threading.Thread(target=bind, name=f"listen-in-{namespace}")
    thread.start()
    thread.join()
    if failed:
        raise failed[0]
    return made[0]
