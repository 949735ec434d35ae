"""The stack under measurement: ``nimbus up`` (or ``nimbus run PART``) as its
own process, configured through its ``NIMBUS_*`` settings to use the run's
throwaway database, NATS, subject prefix and state folder."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass

from bench.place import Place
from tests.support.nimbus_process import NimbusProcess, NimbusUp
from tests.support.stack import free_port

HOSTS = ["compute1", "compute2"]


@dataclass(frozen=True)
class Stack:
    base_url: str
    admin_password: str
    prefix: str


def settings_env(at: Place, prefix: str, password: str, servers: int,
                 api_processes: int = 1) -> dict[str, str]:
    """nimbus's settings for a run: quotas lifted and hosts big enough for
    ``servers`` boots, so that the run measures the boot path, not the limits."""
    return {
        "NIMBUS_API_PROCESSES": str(api_processes),
        "NIMBUS_DATABASE_URL": at.database_url, "NIMBUS_NATS_URL": at.nats_url,
        "NIMBUS_SUBJECT_PREFIX": prefix, "NIMBUS_ADMIN_PASSWORD": password,
        "NIMBUS_HOSTS": ",".join(HOSTS),
        "NIMBUS_QUOTA_INSTANCES": "-1", "NIMBUS_QUOTA_CORES": "-1", "NIMBUS_QUOTA_RAM": "-1",
        "NIMBUS_QUOTA_SECURITY_GROUPS": "-1", "NIMBUS_QUOTA_FLOATING_IPS": "-1",
        "NIMBUS_QUOTA_VOLUMES": "-1", "NIMBUS_QUOTA_GIGABYTES": "-1",
        "NIMBUS_HOST_VCPUS": str(max(16, 4 * servers)),
        "NIMBUS_HOST_MEMORY_MB": str(max(32768, 1024 * servers)),
        "NIMBUS_HOST_DISK_GB": str(max(500, 2 * servers)),
    }


class Stacks:
    """Starts and stops ``nimbus up`` on one place, always with the same
    settings (prefix, port, password), so a restart is the same cloud."""

    def __init__(self, at: Place, servers: int, api_processes: int = 1) -> None:
        self.at = at
        self.prefix = at.new_prefix()
        self.password = secrets.token_urlsafe(16)
        self.port = free_port()
        self.env = settings_env(at, self.prefix, self.password, servers, api_processes)

    @contextlib.contextmanager
    def up(self) -> Iterator[Stack]:
        """``nimbus up`` until the block ends; then Ctrl-C, and it must stop."""
        process = NimbusUp(self.at.state_dir, self.port, self.env)
        try:
            process.ready()
            yield Stack(f"http://127.0.0.1:{self.port}", self.password, self.prefix)
            code = process.interrupt()
            if code != 0:
                process.remaining_output()
                raise RuntimeError(f"nimbus up exited {code}:\n" + "\n".join(process.output))
        finally:
            process.kill()

    @contextlib.contextmanager
    def run(self, parts: list[str], prefix: str) -> Iterator[NimbusProcess]:
        """``nimbus run PARTS`` on subject prefix ``prefix`` until the block ends."""
        process = NimbusProcess(self.at.state_dir, ["run", *parts],
                                {**self.env, "NIMBUS_SUBJECT_PREFIX": prefix})
        try:
            yield process
            process.interrupt()
        finally:
            process.kill()
