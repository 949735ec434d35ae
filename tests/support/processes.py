"""Processes as /proc shows them, for tests that start real ones and must
prove that none is left running afterwards.

A process is named by its pid together with its start time, so that a pid the
kernel has reused is not mistaken for the process a test started.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

from tests.support.polling import eventually_sync


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state is [0])."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def identity(pid: int) -> tuple[int, str] | None:
    """A pid with its start time, so that a reused pid is not mistaken for it."""
    fields = _stat(pid)
    return None if fields is None else (pid, fields[19])


def alive(process: tuple[int, str]) -> bool:
    fields = _stat(process[0])
    return fields is not None and fields[19] == process[1] and fields[0] != "Z"


def descendants(pid: int) -> dict[tuple[int, str], str]:
    """Every live process below ``pid``, with its command name."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = _stat(int(stat.parent.name))
        if fields is not None and fields[0] != "Z":
            parents[int(stat.parent.name)] = int(fields[1])
    found: dict[tuple[int, str], str] = {}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, its_parent in parents.items():
            if its_parent == parent:
                frontier.append(child)
                known = identity(child)
                if known is not None:
                    found[known] = command_name(child)
    return found


def command_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def processes_using(folder: Path) -> list[int]:
    """Live processes whose command line names ``folder`` (postgres -D, nats-server -sd)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().decode(errors="replace")
        except OSError:
            continue
        pid = int(cmdline.parent.name)
        known = identity(pid)
        if str(folder) in argv and known is not None and alive(known):
            found.append(pid)
    return found


def wait_until_gone(processes: list[tuple[int, str]], seconds: float = 15.0) -> list[int]:
    """The pids of ``processes`` still alive after up to ``seconds`` (none, if all exit)."""
    with contextlib.suppress(AssertionError):
        eventually_sync(lambda: not any(alive(p) for p in processes), timeout=seconds)
    return [p[0] for p in processes if alive(p)]


def kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def state_folder(prefix: str) -> Iterator[Path]:
    """A fresh folder under /tmp, open to the postgres user an embedded
    PostgreSQL runs as under root. On the way out, nothing may be left running
    on it: a process still there is killed and the test fails."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        # Only after a failed test: give its servers time to follow nimbus out.
        leftovers = wait_until_gone([p for p in map(identity, processes_using(folder)) if p])
        for pid in leftovers:
            kill(pid)
        shutil.rmtree(folder, ignore_errors=True)
        assert not leftovers, f"processes were left running on {folder}: {leftovers}"
