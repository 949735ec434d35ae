"""The real OpenStack clients, pointed at a running nimbus.

``OpenStackCli`` runs the unmodified ``openstack`` command from the venv as a
child process. It must be awaited (asyncio subprocess): the stack under test
runs in the test's own event loop, so a blocking ``subprocess.run`` would
freeze the very API the CLI is talking to. ``sdk_auth`` gives the same
credentials to openstacksdk used as a library.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.stack import ADMIN_PASSWORD, RunningStack

OPENSTACK = str(Path(sys.executable).with_name("openstack"))
GLANCE = str(Path(sys.executable).with_name("glance"))
REGION = "RegionOne"


def credentials(stack: RunningStack, user: str = "admin", password: str = ADMIN_PASSWORD,
                project: str = "admin") -> dict[str, str]:
    """Keystone v3 password credentials for the stack, as OS_* variables."""
    return {
        "OS_AUTH_URL": f"{stack.settings.base_url}/identity/v3",
        "OS_USERNAME": user,
        "OS_PASSWORD": password,
        "OS_PROJECT_NAME": project,
        "OS_USER_DOMAIN_NAME": "Default",
        "OS_PROJECT_DOMAIN_NAME": "Default",
        "OS_IDENTITY_API_VERSION": "3",
        "OS_REGION_NAME": REGION,
        "OS_INTERFACE": "public",
    }


def sdk_auth(stack: RunningStack) -> dict[str, Any]:
    """The same credentials in the shape ``openstack.connect(auth=...)`` takes."""
    return {
        "auth_url": f"{stack.settings.base_url}/identity/v3",
        "username": "admin",
        "password": ADMIN_PASSWORD,
        "project_name": "admin",
        "user_domain_name": "Default",
        "project_domain_name": "Default",
    }


@dataclass(frozen=True)
class CliResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    program: str = "openstack"

    def json(self) -> Any:
        assert self.returncode == 0, self.explain()
        return json.loads(self.stdout)

    def explain(self) -> str:
        return (f"`{self.program} {' '.join(self.argv)}` exited {self.returncode}\n"
                f"stdout: {self.stdout[-2000:]}\nstderr: {self.stderr[-3000:]}")


class OpenStackCli:
    """``openstack`` as a user types it, authenticated against the stack."""

    program = OPENSTACK
    stdin_closed = False  # True: the child starts with no standard input at all

    def __init__(self, stack: RunningStack, home: Path, **overrides: str) -> None:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("OS_") and "proxy" not in k.lower()}
        # A private HOME: no clouds.yaml or cache from the machine leaks in.
        env.update(credentials(stack), HOME=str(home), NO_PROXY="*", **overrides)
        self.env = env

    async def run(self, *argv: str, timeout: float = 90) -> CliResult:
        command = (self.program, *argv)
        if self.stdin_closed:
            command = ("/bin/sh", "-c", 'exec "$0" "$@" <&-', *command)
        proc = await asyncio.create_subprocess_exec(
            *command, env=self.env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), timeout)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise AssertionError(f"`{Path(self.program).name} {' '.join(argv)}` took over "
                                 f"{timeout} s") from None
        assert proc.returncode is not None
        return CliResult(argv, proc.returncode, out.decode(), err.decode(),
                         Path(self.program).name)

    async def json(self, *argv: str, timeout: float = 90) -> Any:
        """Run a command with ``-f json`` and return its parsed output; fail loudly."""
        return (await self.run(*argv, "-f", "json", timeout=timeout)).json()

    async def ok(self, *argv: str, timeout: float = 90) -> CliResult:
        """Run a command that prints nothing on success; fail loudly otherwise."""
        result = await self.run(*argv, timeout=timeout)
        assert result.returncode == 0, result.explain()
        return result


class GlanceCli(OpenStackCli):
    """python-glanceclient's ``glance`` (image API v2), with the same credentials.

    It prints tables only: ``table`` reads a two-column one (``Property |
    Value``, or ``ID | Name``) into a dict. It runs with standard input
    closed: a stdin that is not a terminal is image data to glanceclient."""

    program = GLANCE
    stdin_closed = True

    async def run(self, *argv: str, timeout: float = 90) -> CliResult:
        return await super().run("--os-image-api-version", "2", *argv, timeout=timeout)

    async def table(self, *argv: str, timeout: float = 90) -> dict[str, str]:
        result = await self.ok(*argv, timeout=timeout)
        rows: dict[str, str] = {}
        for line in result.stdout.splitlines():
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if line.startswith("|") and len(cells) >= 2 and cells[0] not in ("Property", "ID"):
                rows[cells[0]] = cells[1]
        return rows
