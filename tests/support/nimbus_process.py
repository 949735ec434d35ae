"""The ``nimbus`` command run as a real process, its output read as it comes.

The e2e tests start ``nimbus up`` and ``nimbus run`` this way, and bench/
runs the stack it measures this way, so that the clients never share the
stack's event loop or interpreter.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.support.stack import free_port

NIMBUS = str(Path(sys.executable).with_name("nimbus"))
READY_SECONDS = 60.0
STOP_SECONDS = 30.0


def nimbus_env(state: Path) -> dict[str, str]:
    """This environment without any nimbus or OpenStack setting, but the state dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NIMBUS_", "OS_"))}
    env["NIMBUS_STATE_DIR"] = str(state)
    env["NIMBUS_METADATA_PORT"] = str(free_port())  # tests run side by side: never 8775
    # no namespaces left behind by every test's cloud (the namespace host has its tests)
    env["NIMBUS_NETWORK_DRIVER"] = "recorded"
    return env


class NimbusProcess:
    """``nimbus ARGV...`` running in the background with the state dir ``state``
    and ``env`` over a clean environment; stdout and stderr read as one."""

    def __init__(self, state: Path, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.argv = argv
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._ended = False
        self.process = subprocess.Popen(
            [NIMBUS, *argv], env={**nimbus_env(state), **(env or {})},
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    @property
    def name(self) -> str:
        return "nimbus " + " ".join(self.argv)

    def _read(self) -> None:
        assert self.process.stdout is not None
        with self.process.stdout as output:  # closed once the last writer is gone
            for line in output:
                self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def wait_for_line(self, containing: str, seconds: float = READY_SECONDS) -> str:
        """The first further line containing ``containing``, waiting at most ``seconds``."""
        deadline = time.monotonic() + seconds
        while not self._ended:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                self._ended = True
                break
            self.output.append(line)
            if containing in line:
                return line
        raise AssertionError(
                f"{self.name} never printed {containing!r} "
                f"(exit code {self.process.poll()}); its output:\n" + "\n".join(self.output))

    def interrupt(self, sig: signal.Signals = signal.SIGINT) -> int:
        """Ctrl-C (or ``sig``): the exit code, within a bound."""
        self.process.send_signal(sig)
        try:
            return self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name} did not exit {STOP_SECONDS:g} s after "
                                 f"{sig.name}") from None

    def remaining_output(self) -> list[str]:
        """What it printed after what was waited for, once it has exited."""
        assert self.process.poll() is not None
        rest = []
        while not self._ended:
            line = self._lines.get(timeout=5)
            if line is None:
                self._ended = True
            else:
                rest.append(line)
        self.output += rest
        return rest

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class NimbusUp(NimbusProcess):
    """``nimbus up --port PORT``."""

    def __init__(self, state: Path, port: int, env: dict[str, str] | None = None) -> None:
        self.port = port
        super().__init__(state, ["up", "--port", str(port)], env)

    def ready(self) -> list[str]:
        """The lines of the banner, once nimbus says it is up."""
        first = self.wait_for_line("nimbus is up")
        rest = [self.wait_for_line("") for _ in range(4)]
        return [first, *rest]
