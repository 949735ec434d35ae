"""``nimbus up`` with nothing configured, through the real command: it starts
its own PostgreSQL and NATS under the state directory, serves a usable cloud,
stops every process it started on Ctrl-C, and keeps its data for next time."""

from __future__ import annotations

import asyncio
import os
import queue
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import msgspec
import pytest

from messaging import nats as bus
from messaging.subjects import Subjects
from messaging.wire import EventMessage
from tests.support.processes import (
    alive,
    command_name,
    descendants,
    identity,
    processes_using,
    state_folder,
    wait_until_gone,
)
from tests.support.stack import auth_body, free_port

REPO = Path(__file__).resolve().parents[2]
NIMBUS = str(REPO / ".venv" / "bin" / "nimbus")
IMAGE = "cirros-0.6.2-x86_64-disk"
READY_SECONDS = 60.0
STOP_SECONDS = 30.0


@pytest.fixture(scope="module")
def state_dir() -> Iterator[Path]:
    """One fresh state directory for the module; nothing may be left running on it."""
    with state_folder("nimbus-up-") as folder:
        yield folder


def nimbus_env(state: Path) -> dict[str, str]:
    """This environment without any nimbus or OpenStack setting, but the state dir."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NIMBUS_", "OS_"))}
    env["NIMBUS_STATE_DIR"] = str(state)
    return env


# -- the nimbus command ------------------------------------------------------


class NimbusUp:
    """``nimbus up`` running in the background; its output is read as it comes."""

    def __init__(self, state: Path, port: int, env: dict[str, str] | None = None) -> None:
        self.port = port
        self.output: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._ended = False
        self.process = subprocess.Popen(
            [NIMBUS, "up", "--port", str(port)], env={**nimbus_env(state), **(env or {})},
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

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
                f"nimbus up never printed {containing!r} "
                f"(exit code {self.process.poll()}); its output:\n" + "\n".join(self.output))

    def ready(self) -> list[str]:
        """The lines of the banner, once nimbus says it is up."""
        first = self.wait_for_line("nimbus is up")
        rest = [self.wait_for_line("") for _ in range(4)]
        return [first, *rest]

    def interrupt(self, sig: signal.Signals = signal.SIGINT) -> int:
        """Ctrl-C (or ``sig``): the exit code, within a bound."""
        self.process.send_signal(sig)
        try:
            return self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"nimbus up did not exit {STOP_SECONDS:g} s after "
                                 f"{sig.name}") from None

    def remaining_output(self) -> list[str]:
        """What it printed after the banner, once it has exited."""
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


def nimbus(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A ``nimbus`` client command; it finds the credentials in the state dir."""
    return subprocess.run([NIMBUS, *args], env=nimbus_env(state), capture_output=True,
                          text=True, timeout=60)


def table_rows(output: str) -> list[dict[str, str]]:
    """The rows of a table the CLI printed, by header, cut at the rule's columns."""
    header, rule, *rows = output.splitlines()
    spans = [(m.start(), m.end()) for m in re.finditer(r"-+", rule)]
    names = [header[a:b].strip() for a, b in spans]
    return [{n: row[a:b].strip() for n, (a, b) in zip(names, spans, strict=True)}
            for row in rows]


def stream_url(state: Path) -> str:
    return f"nats://127.0.0.1:{(state / 'nats' / 'port').read_text().strip()}"


def stored_events(state: Path) -> int:
    """How many events the running embedded NATS keeps in the events stream."""

    async def count() -> int:
        nc = await bus.connect(stream_url(state))
        try:
            info = await nc.jetstream().stream_info(Subjects().events_stream)
            return int(info.state.messages)
        finally:
            await nc.close()

    return asyncio.run(count())


def stream_until(state: Path, event_type: str, seconds: float = 10.0) -> list[EventMessage]:
    """The events stream from its start up to the first ``event_type`` (the
    relay publishes a moment after the commit)."""

    async def read() -> list[EventMessage]:
        nc = await bus.connect(stream_url(state))
        sub = await nc.jetstream().subscribe(Subjects().all_events(), ordered_consumer=True)
        messages: list[EventMessage] = []
        try:
            while not messages or messages[-1].type != event_type:
                msg = await sub.next_msg(timeout=seconds)
                messages.append(msgspec.json.decode(msg.data, type=EventMessage))
        finally:
            await nc.close()
        return messages

    return asyncio.run(read())


# -- the tests ---------------------------------------------------------------


def test_nimbus_up_with_nothing_configured_boots_a_server_stops_on_ctrl_c_and_keeps_it(
    state_dir: Path,
) -> None:
    port = free_port()
    up = NimbusUp(state_dir, port)
    try:
        banner = up.ready()
        password = (state_dir / "admin-password").read_text().strip()
        assert banner[0] == f"nimbus is up: API at http://127.0.0.1:{port}"
        assert banner[1].split() == ["admin", "user:", "admin", "project:", "admin",
                                     "password:", password]
        rc, clouds = state_dir / "nimbus-rc", state_dir / "clouds.yaml"
        assert f"source {rc}" in banner[2] and f"OS_CLIENT_CONFIG_FILE={clouds}" in banner[2]
        assert f"export OS_AUTH_URL=http://127.0.0.1:{port}/identity/v3\n" in rc.read_text()
        assert f"export OS_PASSWORD={password}\n" in rc.read_text()
        assert f"password: {password}\n" in clouds.read_text()
        assert (rc.stat().st_mode & 0o777, clouds.stat().st_mode & 0o777) == (0o600, 0o600)

        started = descendants(up.process.pid)
        assert "postgres" in started.values() and "nats-server" in started.values(), started

        booted = nimbus(state_dir, "server", "boot", "vm1", "--flavor", "m1.tiny",
                        "--image", IMAGE, "--wait")
        assert booted.returncode == 0, booted.stderr
        fields = {r["Field"]: r["Value"] for r in table_rows(booted.stdout)}
        assert fields["name"] == "vm1" and fields["status"] == "ACTIVE"
        server_id = fields["id"]

        listed = nimbus(state_dir, "server", "list")
        assert listed.returncode == 0, listed.stderr
        assert [(r["ID"], r["Name"], r["Status"]) for r in table_rows(listed.stdout)] == [
            (server_id, "vm1", "ACTIVE")]
        published = stream_until(state_dir, "InstanceSpawned")
        assert [(m.type, m.aggregate_id) for m in published
                if m.type.startswith("Instance")] == [
            ("InstanceCreateRequested", server_id), ("InstanceSpawned", server_id)]
        assert [m.position for m in published] == sorted({m.position for m in published})
        events = stored_events(state_dir)

        started = descendants(up.process.pid)  # with the backends the boot opened
        assert up.interrupt() == 0
        assert up.remaining_output()[-1] == "nimbus stopped."
        assert wait_until_gone(list(started)) == []
        assert processes_using(state_dir) == []
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/")
    finally:
        up.kill()

    second_port = free_port()
    again = NimbusUp(state_dir, second_port)
    try:
        banner = again.ready()
        assert banner[0] == f"nimbus is up: API at http://127.0.0.1:{second_port}"
        assert banner[1].endswith(f"password: {password}")  # the credentials were kept
        assert stored_events(state_dir) == events  # the JetStream store was reused

        listed = nimbus(state_dir, "server", "list")  # through the rewritten rc file
        assert listed.returncode == 0, listed.stderr
        assert [(r["ID"], r["Name"], r["Status"]) for r in table_rows(listed.stdout)] == [
            (server_id, "vm1", "ACTIVE")]

        started = descendants(again.process.pid)
        assert again.interrupt() == 0
        assert wait_until_gone(list(started)) == []
        assert processes_using(state_dir) == []
    finally:
        again.kill()


def test_nimbus_up_with_a_port_serves_the_api_on_that_port(state_dir: Path) -> None:
    port = free_port()
    up = NimbusUp(state_dir, port)
    try:
        assert up.ready()[0] == f"nimbus is up: API at http://127.0.0.1:{port}"
        password = (state_dir / "admin-password").read_text().strip()
        r = httpx.post(f"http://127.0.0.1:{port}/identity/v3/auth/tokens",
                       json=auth_body("admin", password, "admin"), timeout=10)
        assert r.status_code == 201, r.text
        r = httpx.get(f"http://127.0.0.1:{port}/compute/v2.1/flavors",
                      headers={"X-Auth-Token": r.headers["X-Subject-Token"]}, timeout=10)
        assert r.status_code == 200 and "m1.tiny" in {f["name"] for f in r.json()["flavors"]}

        started = descendants(up.process.pid)
        assert up.interrupt() == 0
        assert wait_until_gone(list(started)) == []
    finally:
        up.kill()


def tgtd_named_by_pid_file(state: Path) -> int | None:
    """The tgtd that nimbus recorded for storage1, if it still runs."""
    pid_file = state / "tgtd" / "storage1.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().split()[0])
    known = identity(pid)
    return pid if known is not None and alive(known) and command_name(pid) == "tgtd" else None


def test_nimbus_up_killed_leaves_no_process_and_the_next_start_runs_one_tgtd(
    state_dir: Path,
) -> None:
    up = NimbusUp(state_dir, free_port())
    try:
        up.ready()
        started = descendants(up.process.pid)
        assert {"tgtd", "postgres", "nats-server"} <= set(started.values()), started
    finally:
        up.kill()  # SIGKILL: nimbus cleans nothing up itself
    assert wait_until_gone(list(started)) == []  # tgtd, postgres, nats-server

    again = NimbusUp(state_dir, free_port())
    try:
        again.ready()
        running = descendants(again.process.pid)
        assert list(running.values()).count("tgtd") == 1, running
        assert tgtd_named_by_pid_file(state_dir) in {pid for pid, _ in running}
        assert again.interrupt() == 0
        assert wait_until_gone(list(running)) == []
        assert tgtd_named_by_pid_file(state_dir) is None
    finally:
        again.kill()
